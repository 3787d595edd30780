"""Tagging commands: seqtext tag train | predict | evaluate."""

from __future__ import annotations

from pathlib import Path

import click

from seqtext.cli.classify import print_report, train_model
from seqtext.cli.common import counted, echo_json, first_process_only, handle_errors, nonblank
from seqtext.cli.options import training_command
from seqtext.errors import DataError
from seqtext.labelconfig import TagSettings


@click.group()
@click.pass_context
def tag(ctx):
    """Sequence tagging (many-to-many): one tag per word, e.g. parts of speech.

    \b
      seqtext tag train --data train.conllu --dev dev.conllu --out runs/pos
      seqtext tag predict --model runs/pos "The cat sat on the mat ."
      seqtext tag evaluate --model runs/pos --data dev.conllu
    """
    first_process_only(ctx)


@tag.command()
@click.option("--data", metavar="FILE", help="Training file: CoNLL-U, or word<TAB>tag lines with a blank line "
                                             "between sentences  [required unless --resume]")
@click.option("--dev", "--valid", "dev", metavar="FILE",
              help="Validation file, same formats  [default: a seeded held-out share]")
@click.option("--out", metavar="DIR", help="Model directory to write  [required unless --resume]")
@training_command(TagSettings)
@handle_errors
@click.pass_context
def train(ctx, data, dev, out, resume, quiet, **options):
    """Train a tagger on tagged sentences; Ctrl-C saves a resumable checkpoint (--resume DIR)."""
    from seqtext.tag import SequenceTagger

    out, model = train_model(ctx, SequenceTagger, TagSettings, data, dev, out, resume, quiet, options,
                             "seqtext tag train")
    if model is None:
        return
    s = model.summary
    click.echo(f"model written to {out}")
    line = f"{counted(s['train_sentences'], 'training sentence')} ({counted(s['train_words'], 'word')}), " \
           f"{len(model.tags)} tags, {counted(s['epochs_run'])}, {s['seconds']:.1f} s"
    if "valid_accuracy" in s and "valid_words" in s:
        line += (f"; validation accuracy {100 * s['valid_accuracy']:.2f}% ({counted(s['valid_words'], 'word')}, "
                 f"epoch {s['epoch']})")
    click.echo(line)


@tag.command()
@click.argument("sentences", nargs=-1)
@click.option("--model", required=True, metavar="DIR",
              help="Model directory written by tag train, or one written by `seqtext export`.")
@click.option("--file", "file", metavar="PATH",
              help="Tag every line of PATH (one raw sentence a line; - for stdin), or every sentence of a "
                   "CoNLL-U file (its words as tokenised there).")
@click.option("--conllu", "as_conllu", is_flag=True, help="Write CoNLL-U (the input's, with the column filled in).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per sentence: words and tags.")
@handle_errors
def predict(sentences, model, file, as_conllu, as_json):
    """Tag raw sentences (split into words) or a pre-tokenised CoNLL-U file; prints word<TAB>tag lines with a
    blank line between sentences, CoNLL-U with --conllu, or JSON with --json."""
    from seqtext.export import open_model
    from seqtext.classify.data import read_input_lines
    from seqtext.tag.data import COLUMNS, conllu_text, is_conllu, read_conllu, words_of

    if as_conllu and as_json:
        raise click.UsageError("give --conllu or --json, not both.")
    if sentences and file is not None:
        raise click.UsageError("give sentences as arguments or --file, not both.")
    tokenlists, places = None, None
    if sentences:
        for i, sentence in enumerate(sentences, 1):
            if not sentence.strip():
                raise DataError(f"sentence {i} is empty; give some words to tag.")
        inputs = list(sentences)
    else:
        path, lines = read_input_lines(file)  # a file or stdin, raw sentences or CoNLL-U alike
        if is_conllu(path, lines):
            tokenlists = read_conllu(path, lines)
            inputs = [[t["form"] for t in words_of(s)] for s in tokenlists]
            empty = next((s for s, words in zip(tokenlists, inputs) if not words), None)
            if empty is not None:
                raise DataError(f"{path} line {empty.start}: the sentence there has no words to tag (only "
                                "comments, multi-word ranges or empty nodes); remove it or give its words.")
        else:
            inputs = nonblank(lines, "there are no sentences to tag; give them as arguments, --file or on stdin.")
            places = [f"{path} line {n}" for n, line in enumerate(lines, 1) if line.strip()]
            if all(line.count("\t") == 1 and len(line.split("\t")[0].split()) == 1 for line in inputs):  # a word
                raise DataError(f"{path} holds word<TAB>tag lines, tagged data; give raw sentences one a line, or "
                                "CoNLL-U (tag evaluate scores tagged data).")
    tagger = open_model(model, "tag")  # an exported directory runs on onnxruntime, without torch
    words = []
    for i, sentence in enumerate(inputs):
        try:
            words.append(tagger.words(sentence))
        except DataError as exc:  # named by its place (a line of nothing but a zero-width space has no words)
            raise DataError(f"{places[i] if places else f'sentence {i + 1}'}: {exc}") from None
    tags = tagger.predict(words)
    column = tagger.settings.tag.column
    for i, (ws, ts) in enumerate(zip(words, tags)):
        if as_json:
            echo_json({"words": ws, "tags": ts})
        elif as_conllu:
            if tokenlists is not None:
                sentence = tokenlists[i]
                for token, t in zip(words_of(sentence), ts):
                    token[column] = t
                click.echo(conllu_text(sentence), nl=False)  # its comments as written, free-form ones too
            else:
                for n, (w, t) in enumerate(zip(ws, ts), 1):
                    fields = {name: "_" for name in COLUMNS}
                    fields.update(id=str(n), form=w)
                    fields[column if column in fields else "upos"] = t
                    click.echo("\t".join(fields[name] for name in COLUMNS))
                click.echo()
        else:
            for w, t in zip(ws, ts):
                click.echo(f"{w}\t{t}")
            click.echo()


@tag.command()
@click.option("--model", required=True, metavar="DIR", help="Model directory written by tag train.")
@click.option("--data", required=True, metavar="FILE", help="Tagged file: CoNLL-U or word<TAB>tag.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (accuracy: token accuracy, as a fraction).")
@handle_errors
def evaluate(model, data, as_json):
    """Token accuracy, accuracy on words unseen in training, per-tag precision / recall / F1."""
    from seqtext.tag import SequenceTagger

    report = SequenceTagger.load(model).evaluate(Path(data))
    if as_json:
        echo_json(report)
        return
    click.echo(f"accuracy         {100 * report['accuracy']:.2f}%  ({report['count']} words, "
               f"{report['sentences']} sentences)")
    if report["unseen_accuracy"] is not None:
        click.echo(f"unseen words     {100 * report['unseen_accuracy']:.2f}%  ({report['unseen_words']} words)")
    click.echo(f"macro F1         {100 * report['macro_f1']:.2f}")
    print_report(report, "tag")

"""Text commands: train, complete, evaluate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seqtext.cli.adapt import adaptation_kwargs, adaptation_options, describe, given, refuse_export
from seqtext.cli.common import echo_json, handle_errors, note, repetition_options, run_training
from seqtext.cli.options import flag, training_command
from seqtext.config import TextSettings

RUNS = Path("runs")


def resolve_model(model: str | None) -> Path:
    from seqtext.modeldir import latest_model

    if model:
        return Path(model)
    found = latest_model(RUNS, kind="text")
    if found is None:
        raise click.ClickException(
            f"no trained model found under {RUNS}/; train one with `seqtext train --corpus FILE` "
            "or pass --model DIR."
        )
    note(f"using model {found}")
    return found


def _kind_check(resume: str, kind: str, command: str) -> None:
    """Refuse to resume a model of another kind, before anything is opened for writing."""
    from seqtext.modeldir import read_config

    found = read_config(resume).get("kind")
    if found != kind:
        raise click.UsageError(f"{resume} holds a {found} model, not a {kind} model; resume it with {command}.")


@click.command()
@click.option("--corpus", "corpus", multiple=True, metavar="PATH",
              help="Training text: a file, or a directory of .txt files; repeat for several.  [required]")
@click.option("--valid", "valid", metavar="FILE", help="Validation text (default: a seeded held-out fraction).")
@click.option("--out", metavar="DIR", help="Model directory to write  [default: runs/<corpus stem>]")
@training_command(TextSettings)
@handle_errors(flags={"corpus": "--corpus", "data": "--corpus"})
@click.pass_context
def train(ctx, corpus, valid, resume, out, quiet, **options):
    """Train a next-word model on a corpus (one sentence a line, or running text).

    Ctrl-C saves a resumable checkpoint; continue it with --resume DIR.
    """
    from seqtext.modeldir import check_output_dir
    from seqtext.text.corpus import corpus_files
    from seqtext.text.model import TextModel

    if not corpus and not resume:
        raise click.UsageError("Missing option '--corpus': give the text to train on (or --resume DIR).")
    files = corpus_files(list(corpus)) if corpus else None
    valid_files = corpus_files(valid) if valid else None
    if resume:
        _kind_check(resume, "text", "seqtext forecast train --resume")
        out = Path(resume)
        given = {name for name in options
                 if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
        ignored = sorted(given - {"epochs", "patience"})
        if ignored:
            raise click.UsageError(f"--resume continues with the saved settings; only --epochs and --patience may "
                                   f"change (got {flag(ignored[0])}).")
    else:
        out = Path(out) if out else RUNS / Path(corpus[0]).stem
        check_output_dir(out)

    def work():
        if resume:
            return TextModel.resume(out, files, valid_files, progress=not quiet, checkpoint_dir=out,
                                    epochs=options["epochs"] if "epochs" in given else None,
                                    patience=options["patience"] if "patience" in given else None)
        return TextModel(progress=not quiet, **options).fit(files, valid=valid_files, checkpoint_dir=out)

    model = run_training(ctx, out, work, "seqtext train --resume")
    if model is None:
        return
    s = model.summary
    click.echo(f"model written to {out}")
    if "valid_last_word_accuracy" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, "
                   f"last-word accuracy {100 * s['valid_last_word_accuracy']:.1f}% "
                   f"({s['valid_sentences']} sentences, {s['epochs_run']} epochs, {s['seconds']:.1f} s)")
    elif "valid_perplexity" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, next-word accuracy "
                   f"{100 * s['valid_accuracy']:.1f}% ({s['valid_tokens']} tokens, {s['epochs_run']} epochs, "
                   f"{s['seconds']:.1f} s)")
    else:
        click.echo("no validation text (none given and none held out); validation metrics were not computed")


@click.command()
@click.argument("prompt", required=False)
@click.option("--model", metavar="DIR", help="Model directory, or one written by `seqtext export`  [default: the newest under runs/]")
@click.option("--words", type=click.IntRange(min=1), default=20, show_default=True,
              help="Most words to generate; stops at the end of the sentence.")
@click.option("--temperature", type=click.FloatRange(min=0), help="Sample with this temperature (0 is greedy).")
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k likeliest tokens.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), help="Sample from the top-p nucleus.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for sampling.")
@click.option("--stop/--no-stop", default=True, show_default=True,
              help="Stop at the end of the sentence, or go on across sentences for --words words.")
@repetition_options(defaults=True)
@click.option("--show", "show", type=click.IntRange(min=1), metavar="K",
              help="Also list the K likeliest words for the blank with their probabilities.")
@click.option("--stream/--no-stream", default=None,
              help="Print each word as it is written (one JSON line per word with --json)  "
                   "[default: when stdout is a terminal]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per prompt.")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), metavar="PATH",
              help="Complete every line of PATH (- for stdin), one output line each.")
@adaptation_options(generation=True)
@handle_errors
def complete(prompt, model, words, temperature, top_k, top_p, seed, stop, no_repeat_ngram, repetition_penalty,
             repetition_control, show, stream, as_json, file, **adapt):
    """Fill the ___ in PROMPT, or continue PROMPT.

    \b
      seqtext complete "Mary rides the bicycle, the bicycle is ___"
      Mary rides the bicycle, the bicycle is hers.
    """
    if prompt is None and file is None:
        raise click.UsageError("give a PROMPT, or --file PATH with one prompt a line.")
    if prompt is not None and file is not None:
        raise click.UsageError("give either a PROMPT or --file, not both.")
    from seqtext.export import open_text

    path, cache = resolve_model(model), adaptation_kwargs(adapt)
    refuse_export(path, cache)
    lm = open_text(path)  # an exported directory runs on onnxruntime, without torch
    if not repetition_control:
        no_repeat_ngram = repetition_penalty = None
    options = dict(words=words, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, stop=stop,
                   no_repeat_ngram=no_repeat_ngram, repetition_penalty=repetition_penalty)
    options.update(given(cache))  # none for an exported model
    if stream is None:  # a blank is filled in place: nothing to stream
        stream = sys.stdout.isatty() and file is None and not show and "___" not in prompt
    if stream and (file is not None or show):
        raise click.UsageError("--stream writes one prompt's words as they come; drop --file and --show.")
    if stream:
        _stream(lm, prompt, options, as_json)
    elif file is None:
        _complete_one(lm, prompt, options, show, as_json, single=True)
    else:
        _complete_file(lm, file, options, show, as_json)


def _stream(lm, prompt, options, as_json):
    """Each word as soon as it is written: the text (prompt first), or one JSON line per word."""
    unknown = lm.unknown_words(prompt)
    if unknown and not as_json:
        note(f"unknown words (not in the model's vocabulary): {', '.join(unknown)}")
    if not as_json:
        click.echo(prompt, nl=False)
    for piece in lm.stream(prompt, **options):
        if as_json:
            echo_json({"word": piece.strip(), "text": piece})
        else:
            click.echo(piece, nl=False)
            sys.stdout.flush()
    if not as_json:
        click.echo()


def _complete_file(lm, file, options, show, as_json):
    try:
        prompts = [line.rstrip("\r\n") for line in file]
    except UnicodeDecodeError:
        raise click.ClickException(f"{file.name} is not UTF-8 text; convert it to UTF-8.") from None
    for line in prompts:
        _complete_one(lm, line, options, show, as_json, single=False)


def _complete_one(lm, prompt, options, show, as_json, single):
    from seqtext.errors import SeqtextError

    try:
        result = lm.complete(prompt, **options)
        cache = {k: options[k] for k in ("cache", "cache_theta", "cache_lambda") if k in options}
        candidates = lm.next_words(prompt, show, **cache) if show else None
    except SeqtextError as exc:
        if single:
            raise
        # in a batch, one bad line gets its own error line and the rest still run
        if as_json:
            echo_json({"prompt": prompt, "error": str(exc)})
        else:
            click.echo(f"error: {exc}")
        return
    if as_json:
        obj = result.to_dict()
        if candidates is not None:
            obj["candidates"] = [{"word": w, "probability": round(p, 6)} for w, p in candidates]
        echo_json(obj)
        return
    if result.unknown:
        note(f"unknown words (not in the model's vocabulary): {', '.join(result.unknown)}")
    click.echo(str(result))
    if candidates is not None:
        for word, prob in candidates:
            click.echo(f"  {word}\t{prob:.4f}")


@click.command()
@click.option("--model", metavar="DIR", help="Model directory  [default: the newest under runs/]")
@click.option("--corpus", "corpus", multiple=True, required=True, metavar="PATH",
              help="Text to evaluate on: a file, or a directory of .txt files.")
@click.option("--per-sentence", is_flag=True,
              help="Read each line alone from a fresh state (as seqtext score does), not as running text; "
                   "adds the perplexity without unknown words.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@adaptation_options
@handle_errors
def evaluate(model, corpus, per_sentence, as_json, **adapt):
    """Perplexity, next-word accuracy and last-word accuracy on a corpus.

    --dynamic and --cache N adapt to the text while reading it as one running
    stream (the saved model is not changed).
    """
    import torch

    from seqtext.text.corpus import corpus_files
    from seqtext.text.model import TextModel

    # one thread, as for complete and score: on PTB's test file with 2 cores shared, plain 20 s instead of 78 s,
    # with --cache 500 31 s instead of 148 s
    torch.set_num_threads(1)
    lm = TextModel.load(resolve_model(model))
    metrics = lm.evaluate(corpus_files(list(corpus)), per_sentence=per_sentence, **adaptation_kwargs(adapt))
    if as_json:
        echo_json(metrics)
        return
    method = describe(metrics)
    if method:
        click.echo(f"{'read with':<24}{method}")
    labels = [("perplexity", "perplexity", "{:.3f}"), ("perplexity_known", "without unknown words", "{:.3f}"),
              ("unknown_tokens", "unknown-word tokens", "{}"), ("accuracy", "next-word accuracy", "{:.2%}"),
              ("last_word_accuracy", "last-word accuracy", "{:.2%}"), ("sentences", "sentences", "{}"),
              ("tokens", "tokens", "{}")]
    for key, label, fmt in labels:
        if key in metrics:
            click.echo(f"{label:<24}{fmt.format(metrics[key])}")


COMMANDS = [train, complete, evaluate]

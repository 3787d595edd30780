"""Text commands: train, evaluate (complete: ``seqtext.cli.complete``)."""

from __future__ import annotations

from pathlib import Path

import click

from seqtext.cli.adapt import adaptation_kwargs, adaptation_options, describe
from seqtext.cli.common import RUNS, counted, echo_json, handle_errors, resolve_model, run_training
from seqtext.cli.options import refuse_empty, resume_changes, resume_kind, training_command
from seqtext.config import TextSettings


@click.command()
@click.option("--corpus", "corpus", multiple=True, metavar="PATH",
              help="Training text: a file, or a directory of .txt files; repeat for several  "
                   "[required unless --resume]")
@click.option("--valid", "--dev", "valid", metavar="FILE",
              help="Validation text  [default: a seeded held-out fraction]")
@click.option("--out", metavar="DIR", help="Model directory to write  [default: runs/<corpus stem>]")
@training_command(TextSettings)
@handle_errors(flags={"corpus": "--corpus", "data": "--corpus"})
@click.pass_context
def train(ctx, corpus, valid, resume, out, quiet, **options):
    """Train a next-word model on a corpus (one sentence a line, or running text).

    Ctrl-C saves a resumable checkpoint; continue it with --resume DIR.
    """
    from seqtext.modeldir import check_output_dir
    from seqtext.text.corpus import VALID, corpus_files
    from seqtext.text.model import TextModel

    if not corpus and not resume:
        raise click.UsageError("Missing option '--corpus': give the text to train on (or --resume DIR).")
    files = corpus_files(list(corpus)) if corpus else None
    valid_files = corpus_files(valid, VALID) if valid else None
    if resume:
        resume_kind(resume, "text")
        out = Path(resume)
        changes = resume_changes(ctx, options, {"out": out})  # on the command line or in --config
    else:
        if options["tokenizer"] == "char" and \
                ctx.get_parameter_source("vocab_size") == click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("a character vocabulary holds every character of the training text, so "
                                   "--vocab-size does not apply to --tokenizer char; drop --vocab-size.")
        refuse_empty("--out", out, "the model directory to write, or leave --out out for "  # not runs/NAME
                     f"{RUNS / Path(corpus[0]).stem}")
        out = Path(out) if out else RUNS / Path(corpus[0]).stem
        check_output_dir(out)

    def work():
        if resume:
            return TextModel.resume(out, files, valid_files, progress=not quiet, checkpoint_dir=out, **changes)
        return TextModel(progress=not quiet, **options).fit(files, valid=valid_files, checkpoint_dir=out)

    model = run_training(ctx, out, work, "seqtext train --resume")
    if model is None:
        return
    s = model.summary
    click.echo(f"model written to {out}")
    if "valid_bits_per_char" in s:
        click.echo(f"validation {s['valid_bits_per_char']:.4f} bits per character, next-character accuracy "
                   f"{100 * s['valid_accuracy']:.1f}% ({counted(s['epochs_run'])}, {s['seconds']:.1f} s)")
    elif "valid_last_word_accuracy" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, "
                   f"last-word accuracy {100 * s['valid_last_word_accuracy']:.1f}% "
                   f"({counted(s['valid_sentences'], 'sentence')}, {counted(s['epochs_run'])}, {s['seconds']:.1f} s)")
    elif "valid_perplexity" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, next-word accuracy "
                   f"{100 * s['valid_accuracy']:.1f}% ({s['valid_tokens']} tokens, {counted(s['epochs_run'])}, "
                   f"{s['seconds']:.1f} s)")
    else:
        click.echo("no validation text (none given and none held out); validation metrics were not computed")


@click.command()
@click.option("--model", metavar="DIR", help="Model directory  [default: the newest under runs/]")
@click.option("--corpus", "corpus", multiple=True, required=True, metavar="PATH",
              help="Text to evaluate on: a file, or a directory of .txt files.")
@click.option("--per-sentence", is_flag=True,
              help="Read each line alone from a fresh state (as seqtext score does), not as running text: the "
                   "perplexity with and without unknown words (score's figures) and the accuracies.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16: the matrix products in bf16, the softmax in fp32 (running text; CPUs with AVX-512 BF16 or "
                   "AMX, and GPUs; elsewhere fp32, with a warning).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@adaptation_options
@handle_errors
def evaluate(model, corpus, per_sentence, precision, as_json, **adapt):
    """Perplexity, next-word accuracy and last-word accuracy on a corpus (a character model: bits per
    character, over every character of the text scored, spaces and line breaks included).

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
    metrics = lm.evaluate(corpus_files(list(corpus)), per_sentence=per_sentence, precision=precision,
                          **adaptation_kwargs(adapt))
    if as_json:
        echo_json(metrics)
        return
    method = describe(metrics)
    unit = "character" if "bits_per_char" in metrics else "word"
    width = 28 if unit == "character" else 24
    if method:
        click.echo(f"{'read with':<{width}}{method}")
    labels = [("bits_per_char", "bits per character", "{:.4f}"), ("characters", "characters", "{}"),
              ("perplexity", "perplexity", "{:.3f}"), ("perplexity_known", f"without unknown {unit}s", "{:.3f}"),
              ("unknown_tokens", f"unknown-{unit} tokens", "{}"), ("accuracy", f"next-{unit} accuracy", "{:.2%}"),
              ("last_word_accuracy", "last-word accuracy", "{:.2%}"), ("sentences", "sentences", "{}"),
              ("tokens", "tokens", "{}")]
    for key, label, fmt in labels:
        if key in metrics:
            click.echo(f"{label:<{width}}{fmt.format(metrics[key])}")



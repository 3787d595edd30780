"""Text commands: train, complete, evaluate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from seqtext.cli.common import echo_json, handle_errors, note

RUNS = Path("runs")


def _resolve_model(model: str | None) -> Path:
    from seqtext.checkpoint import latest_model

    if model:
        return Path(model)
    found = latest_model(RUNS)
    if found is None:
        raise click.ClickException(
            f"no trained model found under {RUNS}/; train one with `seqtext train --corpus FILE` "
            "or pass --model DIR."
        )
    note(f"using model {found}")
    return found


@click.command()
@click.option("--corpus", "corpus", multiple=True, required=True, metavar="PATH",
              help="Training text: a file, or a directory of .txt files; repeat for several.")
@click.option("--valid", "valid", metavar="FILE", help="Validation text (default: a seeded held-out fraction).")
@click.option("--valid-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Share of lines held out when no --valid is given.")
@click.option("--out", metavar="DIR", help="Model directory to write  [default: runs/<corpus stem>]")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Upper bound on epochs; early stopping usually ends sooner.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=3e-3, show_default=True,
              help="Adam learning rate.")
@click.option("--embed", type=click.IntRange(min=1), default=64, show_default=True, help="Embedding size.")
@click.option("--hidden", type=click.IntRange(min=1), default=128, show_default=True, help="Hidden units per layer.")
@click.option("--layers", type=click.IntRange(min=1), default=1, show_default=True, help="Stacked recurrent layers.")
@click.option("--nonlinearity", type=click.Choice(["tanh", "relu"]), default="tanh", show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Dropout between stacked layers.")
@click.option("--cell", type=click.Choice(["rnn", "gru", "lstm"]), default="rnn", show_default=True,
              help="Recurrent cell; rnn is nn.RNN.")
@click.option("--tie-weights/--no-tie-weights", default=False, show_default=True,
              help="Share embedding and output weights (needs --embed equal to --hidden).")
@click.option("--tokenizer", type=click.Choice(["word", "bpe"]), default="word", show_default=True)
@click.option("--vocab-size", type=click.IntRange(min=8), default=8000, show_default=True,
              help="Largest vocabulary (the BPE target size).")
@click.option("--min-frequency", type=click.IntRange(min=1), default=1, show_default=True,
              help="Words seen fewer times become <unk>.")
@click.option("--patience", type=click.IntRange(min=1), default=4, show_default=True,
              help="Epochs without validation improvement before stopping.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda, then mps, then cpu), cpu, cuda, mps.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def train(corpus, valid, valid_fraction, out, epochs, batch_size, lr, embed, hidden, layers, nonlinearity,
          dropout, cell, tie_weights, tokenizer, vocab_size, min_frequency, patience, seed, device, quiet):
    """Train a next-word model on a sentence corpus (one sentence a line)."""
    from seqtext.checkpoint import check_output_dir
    from seqtext.data import corpus_files
    from seqtext.text import TextModel

    files = corpus_files(list(corpus))
    out = Path(out) if out else RUNS / Path(corpus[0]).stem
    check_output_dir(out)
    model = TextModel(
        embed=embed, hidden=hidden, layers=layers, nonlinearity=nonlinearity, dropout=dropout, cell=cell,
        tokenizer=tokenizer, vocab_size=vocab_size, min_frequency=min_frequency, tie_weights=tie_weights,
        epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, device=device,
        valid_fraction=valid_fraction, progress=not quiet,
    )
    model.fit(files, valid=Path(valid) if valid else None)
    path = model.save(out)
    s = model.summary
    click.echo(f"model written to {path}")
    if "valid_perplexity" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, "
                   f"last-word accuracy {100 * s['valid_last_word_accuracy']:.1f}% "
                   f"({s['valid_sentences']} sentences, {s['epochs_run']} epochs, {s['seconds']:.1f} s)")
    else:
        click.echo("no validation text (the corpus has a single line); metrics were not computed")


@click.command()
@click.argument("prompt", required=False)
@click.option("--model", metavar="DIR", help="Model directory  [default: the newest under runs/]")
@click.option("--words", type=click.IntRange(min=1), default=20, show_default=True,
              help="Most words to generate; stops at the end of the sentence.")
@click.option("--temperature", type=click.FloatRange(min=0), help="Sample with this temperature (0 is greedy).")
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k likeliest tokens.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), help="Sample from the top-p nucleus.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for sampling.")
@click.option("--show", "show", type=click.IntRange(min=1), metavar="K",
              help="Also list the K likeliest words for the blank with their probabilities.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per prompt.")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), metavar="PATH",
              help="Complete every line of PATH (- for stdin), one output line each.")
@handle_errors
def complete(prompt, model, words, temperature, top_k, top_p, seed, show, as_json, file):
    """Fill the ___ in PROMPT, or continue PROMPT.

    \b
      seqtext complete "Mary rides the bicycle, the bicycle is ___"
      Mary rides the bicycle, the bicycle is hers.
    """
    if prompt is None and file is None:
        raise click.UsageError("give a PROMPT, or --file PATH with one prompt a line.")
    if prompt is not None and file is not None:
        raise click.UsageError("give either a PROMPT or --file, not both.")
    from seqtext.text import TextModel

    model_dir = _resolve_model(model)
    lm = TextModel.load(model_dir)
    options = dict(words=words, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    if file is None:
        _complete_one(lm, prompt, options, show, as_json, single=True)
        return
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
        candidates = lm.next_words(prompt, show) if show else None
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
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@handle_errors
def evaluate(model, corpus, as_json):
    """Perplexity, next-word accuracy and last-word accuracy on a corpus."""
    from seqtext.data import corpus_files
    from seqtext.text import TextModel

    lm = TextModel.load(_resolve_model(model))
    metrics = lm.evaluate(corpus_files(list(corpus)))
    if as_json:
        echo_json(metrics)
        return
    click.echo(f"perplexity          {metrics['perplexity']:.3f}")
    click.echo(f"next-word accuracy  {100 * metrics['accuracy']:.2f}%")
    click.echo(f"last-word accuracy  {100 * metrics['last_word_accuracy']:.2f}%")
    click.echo(f"sentences           {metrics['sentences']}")
    click.echo(f"tokens              {metrics['tokens']}")


COMMANDS = [train, complete, evaluate]

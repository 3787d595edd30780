"""``seqtext score``: how likely a language model finds each sentence."""

from __future__ import annotations

import click

from seqtext.cli.adapt import adaptation_kwargs, adaptation_options, describe, given, refuse_export
from seqtext.cli.common import counted, echo_json, handle_errors, input_lines, note, resolve_model


def _read_sentences(sentences, file) -> list[str]:
    """The SENTENCES given, or the lines of --file (or stdin), read as every command reads its inputs."""
    import sys

    if sentences and file is not None:
        raise click.UsageError("give SENTENCES or --file, not both.")
    if sentences:
        return list(sentences)
    if file is None and sys.stdin.isatty():
        raise click.UsageError("give SENTENCES, --file PATH, or sentences on standard input, one a line.")
    name = "stdin" if file in (None, "-") else file
    return [line.strip() for line in input_lines(file, f"{name} holds no sentences (only blank lines, or nothing); "
                                                       "give one sentence a line.")]


@click.command()
@click.argument("sentences", nargs=-1)
@click.option("--model", metavar="DIR", help="Model directory, or one written by `seqtext export`  [default: the newest under runs/]")
@click.option("--file", "file", metavar="PATH",
              help="Score every non-blank line of PATH (- for stdin).")
@click.option("--tokens", "per_token", is_flag=True, help="Also give each token's surprisal in bits.")
@click.option("--rank", is_flag=True, help="Print the sentences best first, each after its log-probability.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per sentence: text, logprob, tokens, perplexity, unknown (+ surprisal_bits, "
                   "token_texts).")
@adaptation_options
@handle_errors
def score(sentences, model, file, per_token, rank, as_json, **adapt):
    """The log-probability (natural log), token count and perplexity of each sentence, read alone.

    \b
      seqtext score "Mary rides the bicycle, the bicycle is hers." "Mary rides the bicycle, the bicycle is his."
      seqtext score --file sentences.txt --rank

    With --dynamic or --cache N the sentences are read in order as one running
    text, adapting to it, each scored given all before it.
    """
    import math

    from seqtext.export import open_text
    from seqtext.text import tokenizer as tk

    texts = _read_sentences(sentences, file)
    path, adaptation = resolve_model(model), adaptation_kwargs(adapt)
    refuse_export(path, adaptation)
    lm = open_text(path)  # an exported directory runs on onnxruntime, without torch
    records = lm.score(texts, tokens=per_token, **given(adaptation))
    if rank:
        records.sort(key=lambda r: -r["logprob"])
    if as_json:
        for record in records:
            echo_json(record)
    elif rank:
        for record in records:
            click.echo(f"{record['logprob']:.4f}\t{record['text']}")
            if per_token:
                click.echo(_surprisals(record))
    else:
        _table(records, per_token)
    s = records.summary
    method = describe(s)
    if method:
        note(f"read in order, with {method}")
    unknown = list(dict.fromkeys(w for r in records for w in r["unknown"]))  # in the order they come, as in JSON
    if unknown:
        note(f"unknown words (not in the model's vocabulary): {', '.join(unknown)}")
    chars = tk.is_char(lm.tokenizer)  # a character model's figure is bits per character, as evaluate gives it
    note(f"{counted(s['sentences'], 'sentence')}, {counted(s['tokens'], 'character' if chars else 'token')}: "
         f"perplexity {s['perplexity']:.3f}" + (f", {math.log2(s['perplexity']):.4f} bits per character" if chars
                                                 else "")
         + (f", {s['perplexity_known']:.3f} without the {counted(s['unknown_tokens'], 'unknown-word token')}"
            if s["unknown_tokens"] else ""))


def _table(records, per_token: bool) -> None:
    # columns as wide as their widest figure (a long sentence's log-probability runs to many digits)
    cells = [(f"{r['logprob']:.3f}", str(r["tokens"]), f"{r['perplexity']:.3f}") for r in records]
    widths = [max([least] + [len(c[i]) for c in cells]) for i, least in enumerate((10, 6, 11))]
    click.echo(" ".join(f"{name:>{w}}" for name, w in zip(("logprob", "tokens", "perplexity"), widths)) + "  sentence")
    for r, row in zip(records, cells):
        text = r["text"] if len(r["text"]) <= 100 else r["text"][:99] + "…"
        click.echo(" ".join(f"{cell:>{w}}" for cell, w in zip(row, widths)) + f"  {text}")
        if per_token:
            click.echo(_surprisals(r))


def _surprisals(record) -> str:
    """A sentence's tokens with their surprisal in bits, indented under its line: ``  Mary:3.21  rides:5.02 ...``."""
    import json

    shown = (json.dumps(t) if not t.strip() or t != t.strip() else t for t in record["token_texts"])  # "\n", " "
    return "  " + "  ".join(f"{t}:{b:.2f}" for t, b in zip(shown, record["surprisal_bits"]))

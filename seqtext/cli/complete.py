"""``seqtext complete``: fill a blank or continue a prompt.

A module of its own, importing click and the shared helpers only: the
first word of an exported model's completion should not wait for the
option tables of the training commands.
"""

from __future__ import annotations

import itertools
import json
import sys

import click

from seqtext.cli.adapt import adaptation_kwargs, adaptation_options, given, refuse_export
from seqtext.cli.common import echo_json, handle_errors, input_lines, note, repetition_options, resolve_model
from seqtext.rules import MAX_SEED


@click.command()
@click.argument("prompt", required=False)
@click.option("--model", metavar="DIR", help="Model directory, or one written by `seqtext export`  [default: the newest under runs/]")
@click.option("--words", type=click.IntRange(min=1), default=20, show_default=True,
              help="Most words to generate; stops at the end of the sentence.")
@click.option("--temperature", type=click.FloatRange(min=0), help="Sample with this temperature (0 is greedy).")
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k likeliest tokens.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), help="Sample from the top-p nucleus.")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), help="Seed for sampling.")
@click.option("--stop/--no-stop", default=True, show_default=True,
              help="Stop at the end of the sentence, or go on across sentences for --words words.")
@repetition_options(defaults=True)
@click.option("--show", "show", type=click.IntRange(min=1), metavar="K",
              help="Also list the K likeliest words for the blank with their probabilities (ranked with the "
                   "text after it, as the fill ranks them).")
@click.option("--stream/--no-stream", default=None,
              help="Print each word as it is written (one JSON line per word with --json)  "
                   "[default: when stdout is a terminal, without --json]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per prompt.")
@click.option("--file", "file", metavar="PATH",
              help="Complete every line of PATH (- for stdin), one output line each (blank lines are skipped, "
                   "with a note; a line that fails gets an error: line, and the exit status is 1).")
@adaptation_options(generation=True)
@handle_errors
@click.pass_context
def complete(ctx, prompt, model, words, temperature, top_k, top_p, seed, stop, no_repeat_ngram, repetition_penalty,
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
    options = dict(words=words, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, stop=stop)
    # the model's own defaults unless given: measured ones for a word model, none for a character model
    typed = {"no_repeat_ngram": no_repeat_ngram, "repetition_penalty": repetition_penalty}
    options.update({name: value for name, value in typed.items()
                    if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT})
    if not repetition_control:
        options.update(no_repeat_ngram=None, repetition_penalty=None)
    options.update(given(cache))  # none for an exported model
    if stream is None:  # a blank is filled in place: nothing to stream
        stream = sys.stdout.isatty() and file is None and not show and not as_json and "___" not in prompt
    if stream and (file is not None or show):
        raise click.UsageError("--stream writes one prompt's words as they come; drop --file and --show.")
    if stream and "___" in prompt:
        raise click.UsageError("a ___ blank is filled in place, not streamed; drop --stream.")
    if prompt is not None and "___" in prompt:
        _warn_continuation_only(ctx)
    if stream:
        _stream(lm, prompt, options, as_json)
    elif file is None:
        _complete_one(lm, prompt, options, show, as_json, single=True)
    else:
        _complete_file(lm, file, options, show, as_json)


def _warn_continuation_only(ctx) -> None:
    """Options that shape a continuation, given with a blank (which they do not change): said, not ignored."""
    given = lambda name: ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)  # noqa: E731
    ignored = [flag for name, flag, off in (("words", "--words", None), ("stop", "--no-stop", False),
                                           ("no_repeat_ngram", "--no-repeat-ngram", None),
                                           ("repetition_penalty", "--repetition-penalty", None),
                                           ("repetition_control", "--no-repetition-control", False))
               if given(name) and (off is None or ctx.params[name] is off)]
    if ignored:
        one = len(ignored) == 1
        note(f"warning: {', '.join(ignored)} shape{'s' if one else ''} a continuation, not a ___ blank, which is "
             f"filled with one word without {'it' if one else 'them'}.")


def _stream(lm, prompt, options, as_json):
    """Each word as soon as it is written: the text (prompt first), or one JSON line per word."""
    unknown = lm.unknown_words(prompt)
    if unknown:  # on stderr with --json too: the word lines carry no place for them
        note(f"unknown words (not in the model's vocabulary): {', '.join(unknown)}")
    pieces = iter(lm.stream(prompt, **options))
    first = next(pieces, None)  # the prompt is checked before any of it is written
    if not as_json:
        click.echo(prompt, nl=False)
    for piece in itertools.chain([first] if first is not None else [], pieces):
        if as_json:
            echo_json({"word": piece.strip(), "text": piece})
        else:
            click.echo(piece, nl=False)
            sys.stdout.flush()
    if not as_json:
        click.echo()


def _complete_file(lm, file, options, show, as_json):
    name = "stdin" if file == "-" else file
    prompts = input_lines(file, f"{name} holds no prompts (only blank lines, or nothing); give one prompt a line.")
    done = [_complete_one(lm, line, options, show, as_json, single=False) for line in prompts]
    if not any(done):  # a batch where every line failed is a failure, not an answer
        raise click.ClickException(f"no prompt of {name} could be completed (each error is above); fix them.")
    failed = done.count(False)
    if failed:  # every line answered in its place, and the exit status says that not all were completed
        raise click.ClickException(f"{failed} of {len(done)} prompts of {name} could not be completed (each error "
                                   "is in its place above); fix them or leave them out.")


def _complete_one(lm, prompt, options, show, as_json, single) -> bool:
    """Print one prompt's completion (True), or in a batch its error line (False)."""
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
        return False
    if as_json:
        obj = result.to_dict()
        if candidates is not None:
            obj["candidates"] = [{"word": w, "probability": round(p, 6)} for w, p in candidates]
        echo_json(obj)
        return True
    if result.unknown:
        note(f"unknown words (not in the model's vocabulary): {', '.join(result.unknown)}")
    click.echo(str(result))
    if candidates is not None:
        for word, prob in candidates:  # white space (a character model's) written as a JSON string: " ", "\n"
            click.echo(f"  {word if word.strip() else json.dumps(word)}\t{prob:.4f}")
    return True

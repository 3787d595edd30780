"""``seqtext suggest``: the likeliest next words while typing, in a terminal or one prefix a line.

In a terminal (stdin and stdout both terminals, TERM not dumb) it is an interactive prompt
built on prompt_toolkit, imported by this command only: a menu under the
cursor shows the k likeliest next words (or completions of the word being
typed) with their probabilities, refreshed at every keystroke from the
recurrent state carried between keystrokes (``seqtext.text.suggest``).
Otherwise it reads one prefix a line from stdin and prints its suggestions.
"""

from __future__ import annotations

import statistics
import sys
import time

import click

from seqtext.cli.common import counted, echo_json, handle_errors, note, repetition_options, resolve_model

PROMPT = "> "


class Timed:
    """``Suggester.suggest`` with the model time of each call recorded (for ``--stats``)."""

    def __init__(self, suggester, k: int, repetition: dict):
        self.suggester, self.k, self.repetition = suggester, k, repetition
        self.seconds: list[float] = []

    def __call__(self, text: str, k: int | None = None) -> list[tuple[str, float]]:
        start = time.perf_counter()
        found = self.suggester.suggest(text, k or self.k, **self.repetition)
        self.seconds.append(time.perf_counter() - start)
        return found

    def report(self) -> str:
        times = sorted(self.seconds) or [0.0]
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        return (f"{counted(len(self.seconds), 'lookup')}, {counted(self.suggester.steps, 'core step')}; model time "
                f"per lookup median {1e3 * statistics.median(times):.3f} ms, p99 {1e3 * p99:.3f} ms")


@click.command()
@click.option("--model", metavar="DIR", help="Model directory  [default: the newest under runs/]")
@click.option("--show", "-k", "--k", "k", type=click.IntRange(min=1), default=5, show_default=True, metavar="K",
              help="How many words to show, as complete --show (-k and --k say the same).")
@repetition_options
@click.option("--json", "as_json", is_flag=True, help="Not in a terminal: one JSON object per prefix.")
@click.option("--stats", is_flag=True,
              help="On exit, print the lookups, core steps and model time per lookup on stderr.")
@handle_errors(flags={"TextModel.complete": "`seqtext complete`"})
def suggest(model, k, no_repeat_ngram, repetition_penalty, as_json, stats):
    """Show the likeliest next words as you type.

    \b
    In a terminal: type, and a menu under the cursor shows the K likeliest
    next words (or the words that finish the one being typed) with their
    probabilities.  Tab accepts the highlighted word (the likeliest unless
    one is chosen with the arrow keys); Enter prints the line and starts a
    new one, read from the start of a sentence; Ctrl-D or Ctrl-C quits.

    \b
    Otherwise (or under TERM=dumb), one prefix a line from stdin (white
    space at its end counts: "the bicy" completes a word, "the " suggests
    the next one); for each, a "word<TAB>probability" line per suggestion,
    then a blank line (--json: {"prefix", "suggestions": [{"word",
    "probability"}]} a line).

    --no-repeat-ngram and --repetition-penalty apply to the suggestions,
    counting the words of the line typed so far.
    """
    from seqtext.text.decoding import check_repetition

    check_repetition(no_repeat_ngram, repetition_penalty)  # before the model is loaded
    import torch

    from seqtext.text.model import TextModel
    from seqtext.text.suggest import suggester_for

    torch.set_num_threads(1)  # one token a step: latency-bound, threads only add overhead
    lm = TextModel.load(resolve_model(model))
    timed = Timed(suggester_for(lm), k, {"no_repeat_ngram": no_repeat_ngram,
                                         "repetition_penalty": repetition_penalty})
    try:
        if sys.stdin.isatty() and sys.stdout.isatty() and not _dumb():
            _interactive(timed)
        else:
            _lines(timed, as_json)
    finally:
        if stats:
            note(timed.report())


def _dumb() -> bool:
    """A terminal that cannot move the cursor (TERM=dumb, as in an editor's shell): prompt_toolkit's prompt there
    shows no menu and its screen stops matching the line, so prefixes are read one a line, with a note."""
    from prompt_toolkit.utils import is_dumb_terminal

    if is_dumb_terminal():
        note("note: this terminal cannot draw the menu (TERM=dumb); type one prefix a line, and its suggestions "
             "follow it")
        return True
    return False


def _lines(timed: Timed, as_json: bool) -> None:
    """One prefix a line from stdin; the suggestions for each, flushed at once (scriptable).  A byte-order mark at
    the start of a line (as Windows tools write one at the start of a file) is no part of the prefix."""
    try:
        for line in sys.stdin:
            prefix = line.rstrip("\r\n").lstrip("\ufeff")
            prefix.encode("utf-8")  # bytes that are not UTF-8 come in as lone surrogates: refused below
            found = timed(prefix)
            if as_json:
                echo_json({"prefix": prefix,
                           "suggestions": [{"word": w, "probability": round(p, 6)} for w, p in found]})
            else:
                click.echo("".join(f"{w}\t{p:.6f}\n" for w, p in found))
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise click.ClickException("stdin is not UTF-8 text; convert it to UTF-8.") from None


def _probability(p: float) -> str:
    return f"{p:.3f}" if p >= 5e-4 else f"{p:.0e}"


def _interactive(timed: Timed) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.key_binding import KeyBindings

    suggester = timed.suggester

    class Words(Completer):
        def get_completions(self, document, complete_event):
            before = document.text_before_cursor
            for word, prob in timed(before):
                # replacing the text before the cursor keeps spacing and capitals as `accept` writes them
                yield Completion(suggester.accept(before, word, close=False), -len(before),
                                 display=word, display_meta=_probability(prob))

    keys = KeyBindings()

    @keys.add("tab")
    def _accept(event):
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:  # chosen with the arrows
            before, word = state.original_document.text_before_cursor, state.current_completion.display_text
        else:
            before = buf.document.text_before_cursor
            found = timed(before, 1)
            if not found:
                return
            word = found[0][0]
        text = suggester.accept(before, word)
        buf.document = Document(text + buf.document.text_after_cursor, len(text))

    @keys.add("c-d")
    def _quit(event):
        event.app.exit(exception=EOFError)

    session = PromptSession(PROMPT, completer=Words(), complete_while_typing=True, key_bindings=keys,
                            erase_when_done=True)
    buffer = session.default_buffer
    # typing starts a completion; a deletion, an edit or an accepted word must too
    buffer.on_text_changed += lambda buf: buf.start_completion()
    while True:
        try:
            line = session.prompt(pre_run=buffer.start_completion)
        except (EOFError, KeyboardInterrupt):
            return
        click.echo(line)

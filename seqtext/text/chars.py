"""Character models: raw text in, bits per character out, characters written back as typed.

A character model (``tokenizer="char"``, ``seqtext.text.tokenizer``) reads
text with nothing removed.  In stream mode its token stream is the corpus's
characters exactly as they are in the files (read with ``newline=""``, so a
line break is the character ``\\n`` in the stream and blank lines, indentation
and ``\\r`` stay), one token per character, with no ``</s>`` added; in
sentence mode each stripped line is ``<s> c1 ... cn </s>``, the ``</s>``
standing for the line's line break.  Either way every predicted token is one
character of the text, so

    bits per character = total nats / ln 2 / characters predicted

is the cross-entropy of the scored text in bits over its characters,
spaces and line breaks included (:func:`bits_per_char`).

Generated characters are joined as they come (no spacing rules).
:func:`write_chars` is the writing loop both engines (torch and the exported
runtime) drive: it counts white-space-separated words for the ``words``
limit and stops at a sentence end.  A ``___`` blank stands for a word, which
a character model would have to spell over several steps with the text after
it unseen, so it is refused (:func:`check_prompt`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

from seqtext.errors import DataError
from seqtext.text.prompts import BLANK, Completion, parse_prompt
from seqtext.text.spacing import SENTENCE_END

CHUNK_CHARS = 1 << 20  # characters read and encoded at once: memory stays flat on any corpus
CHARS_PER_WORD = 20  # a hard bound on characters written: words x this


def bits_per_char(nats: float, characters: int) -> float:
    """Cross-entropy in bits per character: ``nats / ln 2 / characters`` (0 characters: nan)."""
    return nats / math.log(2) / characters if characters else math.nan


def with_bits(metrics: dict) -> dict:
    """A character model's evaluation with ``bits_per_char`` and ``characters`` added.

    Its ``loss`` is the mean nats over the predicted tokens, each one
    character (``tokens``, or the count behind the loss), so the bits are
    exact.  ``last_word_accuracy`` (the last letter, for characters) is dropped.
    """
    out = {k: v for k, v in metrics.items() if k != "last_word_accuracy"}
    out["bits_per_char"] = metrics["loss"] / math.log(2)
    if "tokens" in metrics:
        out["characters"] = metrics["tokens"]
    return out


# --------------------------------------------------------------------- reading


def iter_chunks(files: list[Path], size: int = CHUNK_CHARS) -> Iterator[str]:
    """The files' text in order, exactly as stored (line breaks untranslated; a byte-order mark dropped), ``size``
    characters at a time; a file whose text does not end its last line is followed by a line break, so its last
    line never runs into the next file's first (as a word model's lines each end with </s>)."""
    for i, path in enumerate(files):
        last = ""
        with open(path, encoding="utf-8-sig", newline="") as fh:  # a byte-order mark is no character of the text
            while chunk := fh.read(size):
                last = chunk[-1]
                yield chunk
        if last and last not in "\r\n" and i < len(files) - 1:
            yield "\n"


def write_raw_ids(files: list[Path], tokenizer, dtype, fh) -> int:
    """Encode the files' characters chunk by chunk, appending the ids to ``fh``; returns how many.

    The pre-tokenizer isolates every character, so a cut between chunks
    changes nothing: the ids are those of the whole text.
    """
    import numpy as np

    total = 0
    for chunk in iter_chunks(files):
        ids = np.asarray(tokenizer.encode(chunk, add_special_tokens=False).ids, dtype=dtype)  # (n,)
        fh.write(ids.tobytes())
        total += int(ids.size)
    return total


# --------------------------------------------------------------------- writing


def check_prompt(prompt: str) -> str:
    """The prompt of a character model, which cannot fill a ``___`` blank (see the module docstring)."""
    prefix, suffix = parse_prompt(prompt)
    if suffix is not None:
        raise DataError(f"a character model writes one character at a time and cannot fill a {BLANK} blank, which "
                        "stands for a whole word; drop the blank to continue the text, or use a word-level model.")
    return prefix


class CharCompletion:
    """``complete`` and ``next_words`` of a character model, on either engine (torch or the exported runtime).

    The engine class puts this before its word-model completer and gives
    ``stream`` (built on :func:`write_chars`); ``unknown_words`` and the word
    model's ``next_words`` come from that completer.
    """

    def complete(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, stop: bool = True,
                 no_repeat_ngram: int | None = None, repetition_penalty: float | None = None) -> Completion:
        """Continue the prompt for up to ``words`` words (as ``TextModel.complete``; a ``___`` blank is refused)."""
        text = "".join(self.stream(prompt, words, temperature, top_k, top_p, seed, stop, no_repeat_ngram,
                                   repetition_penalty))
        return Completion(prompt + text, prompt, text.split(), self.unknown_words(prompt))

    def next_words(self, prompt: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest next characters with their probabilities."""
        return super().next_words(check_prompt(prompt), k)


def write_chars(tokenizer, scores, pick: Callable, advance: Callable, max_words: int, stop: bool = True,
                eos: int | None = None) -> Iterator[str]:
    """Characters from a model's state, as the text they add.

    ``scores``: the next-token scores after the prompt; ``pick(scores)``: the
    next id, or None when every token is banned; ``advance(id)``: the scores
    after reading that id.  Words are white-space separated: writing stops
    before the first character of word ``max_words + 1`` (white space is held
    back until a character follows it, so none trails), and with ``stop`` at a
    sentence end (``. ! ? …`` followed by white space) or at ``eos`` (a
    sentence-mode model's end of line; without ``stop`` it is a line break).
    """
    pending = ""  # white space written only once something follows it
    words, after_space, last = 0, False, ""
    tid = pick(scores)
    for _ in range(max_words * CHARS_PER_WORD):
        if tid is None or (tid == eos and stop):
            return
        char = "\n" if tid == eos else tokenizer.id_to_token(tid)
        if char.isspace():
            if stop and last in SENTENCE_END:
                return
            pending, after_space = pending + char, True
        else:
            if after_space or not last:  # the first character written, or one after white space, starts a word
                if words >= max_words:
                    return
                words += 1
            yield pending + char
            pending, after_space, last = "", False, char
        tid = pick(advance(tid))

"""A prompt and its completion, the same for the torch model and the exported runtime (no torch here).

A prompt is continued, or has one ``___`` blank that is filled in place.
"""

from __future__ import annotations

import re

from seqtext.errors import DataError

BLANK = "___"
_BLANKS = re.compile(r"_{3,}")  # a blank: three underscores, or a longer run of them typed as one
FILL_CANDIDATES = 32  # words rescored with the text after a blank
MAX_CONTEXT = 2048  # prompt tokens read before a blank (the rest is dropped from the front)
MAX_SUFFIX = 256  # tokens after a blank used to rank the candidates


def prompt_text(prompt) -> str:
    """The prompt, refused in one sentence unless it is a string."""
    if not isinstance(prompt, str):
        raise DataError(f"the prompt must be a string, got {type(prompt).__name__}; give some words to complete.")
    return prompt


def parse_prompt(prompt: str) -> tuple[str, str | None]:
    """(text before the blank, text after it), or (prompt, None) when it has no blank."""
    if not prompt_text(prompt).strip():
        raise DataError("the prompt is empty; give some words to complete.")
    blanks = list(_BLANKS.finditer(prompt))
    if len(blanks) > 1:
        raise DataError(f"the prompt has {len(blanks)} blanks ({BLANK}); use at most one.")
    if blanks:
        return prompt[:blanks[0].start()], prompt[blanks[0].end():]
    return prompt, None


def filled(prefix: str, word: str, suffix: str, casing: dict | None = None) -> str:
    """The prompt with its blank filled by ``word``, spaced from the words either side of it, as when the blank
    was typed between spaces: ``Mary___rides`` gives ``Mary and rides``; punctuation after it stays against it
    (``casing``: the word in its training text's form)."""
    from seqtext.text.spacing import is_wordlike, join_words

    return prefix + join_words([word], prefix, casing) + (" " if is_wordlike(suffix[:1]) else "") + suffix


def suffix_ids(tokenizer, suffix: str) -> list[int]:
    """The text after a blank as the candidates are ranked with: its first :data:`MAX_SUFFIX` tokens, then </s>."""
    from seqtext.text import tokenizer as tk

    return tokenizer.encode(suffix, add_special_tokens=False).ids[:MAX_SUFFIX] + [tokenizer.token_to_id(tk.EOS)]


def without_blank(prompt: str) -> str:
    """The prompt with its blank (if any) as a space: its words alone."""
    return _BLANKS.sub(" ", prompt_text(prompt))


class Completion(str):
    """The completed text (a ``str``), with what produced it as attributes.

    ``words``: the generated words; ``unknown``: prompt words outside the
    vocabulary; ``prompt``: the prompt as typed.
    """

    prompt: str
    words: list
    unknown: list

    def __new__(cls, text: str, prompt: str, words: list, unknown: list):
        obj = super().__new__(cls, text)
        obj.prompt, obj.words, obj.unknown = prompt, list(words), list(unknown)
        return obj

    def to_dict(self) -> dict:
        """The completion as JSON writes it: prompt, completion, words and unknown."""
        return {"prompt": self.prompt, "completion": str(self), "words": self.words, "unknown": self.unknown}

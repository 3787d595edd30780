"""A prompt and its completion, the same for the torch model and the exported runtime (no torch here).

A prompt is continued, or has one ``___`` blank that is filled in place.
"""

from __future__ import annotations

from seqtext.errors import DataError

BLANK = "___"
FILL_CANDIDATES = 32  # words rescored with the text after a blank
MAX_CONTEXT = 2048  # prompt tokens read before a blank (the rest is dropped from the front)
MAX_SUFFIX = 256  # tokens after a blank used to rank the candidates


def parse_prompt(prompt: str) -> tuple[str, str | None]:
    """(text before the blank, text after it), or (prompt, None) when it has no blank."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise DataError("the prompt is empty; give some words to complete.")
    count = prompt.count(BLANK)
    if count > 1:
        raise DataError(f"the prompt has {count} blanks ({BLANK}); use at most one.")
    if count == 1:
        prefix, suffix = prompt.split(BLANK, 1)
        return prefix, suffix
    return prompt, None


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
        return {"prompt": self.prompt, "completion": str(self), "words": self.words, "unknown": self.unknown}

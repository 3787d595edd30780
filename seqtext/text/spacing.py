"""Writing generated tokens as prose: where spaces go, capitals, quotes that open and close.

A word-level tokenizer splits punctuation off words ("the song's" ->
``song ' s``, ``"Kiss You"`` -> ``" kiss you "``), so generated tokens must
be joined back the way text is written:

- no space before closing punctuation (``. , ; : ! ? ) ] } %``) and none
  after opening punctuation (``( [ { $``);
- a double quote alternates: it opens (a space before it, none after) and
  then closes (none before, a space after) — the parity is read from the text
  already written, so a prompt that opened a quote is closed by the model;
- an apostrophe between a word and a contraction or possessive ending glues
  both sides (``song's``, ``don't``, and PTB's ``do n't`` -> ``don't``);
  otherwise it is a single quote, with the same parity rule;
- a hyphen or slash between two words glues both sides (``well-known``);
  ``.`` and ``,`` between digits glue both sides (``3.5``, ``1,000``);
- a capital letter at the start and after a sentence end, and "I" alone.

:class:`Spacer` keeps only the state these rules need (never the whole
text), so streaming a long generation costs constant memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORDLIKE = re.compile(r"\w", re.UNICODE)
NO_SPACE_BEFORE = set(".,;:!?)]}%…\n")
NO_SPACE_AFTER = set("([{$\n")
SENTENCE_END = {".", "!", "?", "…"}
QUOTES = {'"', "“", "”"}
APOSTROPHES = {"'", "’"}
CONTRACTIONS = {"s", "t", "re", "ve", "ll", "d", "m"}  # what follows an apostrophe inside a word
GLUE_BETWEEN_WORDS = {"-", "/"}


def is_wordlike(piece: str) -> bool:
    return bool(_WORDLIKE.search(piece))


def may_be_decimal(word: str, prev: str) -> bool:
    """A "." after a number: a decimal point if digits follow (3 . 5 -> 3.5), else a sentence's end."""
    return word == "." and prev.isdigit()


class Spacer:
    """Turns words into the text to append, one at a time, after text ending in ``after``."""

    def __init__(self, after: str = ""):
        self.tail = after[-1:]  # the last character written
        self.sentence_start = not after.strip() or after.rstrip()[-1] in SENTENCE_END
        self.quote_open = sum(after.count(q) for q in QUOTES) % 2 == 1  # an odd number so far: one is open
        self.single_open = False  # a single quote opened (after a space or punctuation) and not yet closed
        self.prev = ""  # the previous word
        self.before_prev = ""
        self.glue = False  # True: glue the next word; None: decide when it comes (after ' or a digit's . ,)
        last, before = after[-1:], after[-2:-1]  # a prompt that stops inside a word's spelling: carry on from it
        if last in QUOTES and self.quote_open:
            self.glue = True  # 'Eve said "' + hello -> "hello
        elif last in GLUE_BETWEEN_WORDS and before.isalnum():
            self.glue, self.prev = True, last  # well- + known -> well-known
        elif (last in (".", ",") and before.isdigit()) or (last in APOSTROPHES and before.isalnum()):
            self.glue, self.prev = None, last  # 3. + 5 -> 3.5; song' + s -> song's (decided by the next word)

    def piece(self, word: str) -> str:
        """The text that writes ``word`` next: its leading space (if any) and the word, capitalised as due."""
        if word == "i":
            word = "I"
        if self.sentence_start and is_wordlike(word):
            word = word[:1].upper() + word[1:]
            self.sentence_start = False
        space = self._space_before(word) and bool(self.tail) and not self.tail.isspace()
        out = (" " if space else "") + word
        self._after(word)
        if out:
            self.tail = out[-1]
        return out

    def _space_before(self, word: str) -> bool:
        glue, self.glue = self.glue, False
        if glue or (glue is None and self._joins(word)):
            return False
        first = word[:1]
        if first in QUOTES:
            return not self.quote_open  # an opening quote takes a space, a closing one does not
        if first in APOSTROPHES:
            # after a word: a contraction, a possessive or a closing quote, all written against it;
            # PTB writes "'s" as one token
            return not (is_wordlike(self.prev) or word[1:].lower() in CONTRACTIONS or self.single_open)
        if word.lower() == "n't" or first in NO_SPACE_BEFORE or self.tail in NO_SPACE_AFTER:
            return False
        return not (word in GLUE_BETWEEN_WORDS and is_wordlike(self.prev))

    def _joins(self, word: str) -> bool:
        """The open decision: does ``word`` continue the word before the apostrophe or number separator?"""
        if self.prev in APOSTROPHES:
            if word.lower() in CONTRACTIONS:
                return True  # song ' s -> song's
            self.single_open = False  # song ' is -> song' is: a possessive, or the closing quote
            return False
        if self.prev == ".":
            return word.isdigit()  # 3 . 5 -> 3.5
        return word.isdigit() and len(word) == 3  # 1 , 000 -> 1,000 (but 2005 , 3 -> 2005, 3)

    def _after(self, word: str) -> None:
        first = word[:1]
        if first in QUOTES:
            self.quote_open = not self.quote_open
            self.glue = self.quote_open  # an opening quote hugs the next word
        elif word in APOSTROPHES:
            if is_wordlike(self.prev):
                self.glue = None  # after a word: decided by the next one
            else:  # a single quote after a space or punctuation: opens, or closes an open one
                self.single_open = not self.single_open
                self.glue = self.single_open
        elif word in GLUE_BETWEEN_WORDS and is_wordlike(self.prev):
            self.glue = True
        elif word in (".", ",") and self.prev.isdigit():
            self.glue = None
        if word in SENTENCE_END and not (word == "." and self.glue is None):
            self.sentence_start = True
        self.before_prev, self.prev = self.prev, word


def join_words(words: Sequence[str], after: str = "") -> str:
    """Join generated words onto text ending in ``after``, spaced like prose (see the module docstring)."""
    spacer = Spacer(after)
    return "".join(spacer.piece(w) for w in words)

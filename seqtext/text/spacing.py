"""Writing generated tokens as prose: where spaces go, capitals, quotes that open and close.

A word-level tokenizer splits punctuation off words ("the song's" ->
``song ' s``, ``"Kiss You"`` -> ``" kiss you "``), so generated tokens must
be joined back the way text is written:

- no space before closing punctuation (``. , ; : ! ? ) ] } %``) and none
  after opening punctuation (``( [ { $``);
- a double quote alternates: it opens (a space before it, none after) and
  then closes (none before, a space after) — the parity is read from the text
  already written, so a prompt that opened a quote is closed by the model;
- an apostrophe after a word is written once the next word shows its side:
  inside a word before a contraction or an archaic ending (``song's``,
  ``don't``, PTB's ``do n't`` -> ``don't``, ``ne'er``, ``go'st``); before an
  elision (``hang 'em``, ``'tis``); after the word as a possessive, a closing
  quote or a clipped word (``the singers' song``, ``o' the``); otherwise it
  opens a quote (``he said 'hello'``).  After a space or punctuation it is a
  single quote, with the same parity rule;
- a hyphen or slash between two words glues both sides (``well-known``), and
  so does a hyphen after closing punctuation or another hyphen (``said--no``,
  ``body,--``); ``.`` and ``,`` between digits glue both sides (``3.5``,
  ``1,000``);
- a capital letter at the start and after a sentence end or a line break
  (``\n``, what ``</s>`` is written as in a continuation), and "I" alone;
  a name in the form the training text writes it (``Ben``; see
  :mod:`seqtext.text.casing`), given the model's ``casing``.

:class:`Spacer` keeps only the state these rules need (never the whole
text), so streaming a long generation costs constant memory; :func:`spaced`
streams the pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

_WORDLIKE = re.compile(r"\w", re.UNICODE)
NO_SPACE_BEFORE = set(".,;:!?)]}%…\n")
NO_SPACE_AFTER = set("([{$\n")
SENTENCE_END = {".", "!", "?", "…"}
QUOTES = {'"', "“", "”"}
APOSTROPHES = {"'", "’"}
LINE_BREAK = "\n"  # a continuation writes </s> as a line break, after which a sentence starts
# what follows an apostrophe inside a word: contractions, then archaic endings (ne'er, ta'en, go'st, I'ld, thou'rt)
CONTRACTIONS = {"s", "t", "re", "ve", "ll", "d", "m", "er", "en", "st", "dst", "ld", "ldst", "rt", "lt"}
# words whose first letters an apostrophe stands for ('em, 'tis); none is a word after a plural's apostrophe
ELISIONS = {"em", "tis", "twas", "twere", "twill", "twould", "twixt", "tween", "gainst", "mongst", "neath", "bout",
            "larum", "sdeath", "scape"}
SIBILANT = ("s", "x", "z", "ce")  # endings whose possessive is often a bare apostrophe (the singers', Clarence')
CLIPPED = {"o", "i", "ha", "wi", "gi", "th"}  # words whose last letters an apostrophe stands for (o' the, i' the)
GLUE_BETWEEN_WORDS = {"-", "/"}
DASH_AFTER = set(",;:.!?…)]}\"'’”-")  # a hyphen after these is (half of) a dash: written against them (body,--)


def is_wordlike(piece: str) -> bool:
    return bool(_WORDLIKE.search(piece))


def may_be_decimal(word: str, prev: str) -> bool:
    """A "." after a number: a decimal point if digits follow (3 . 5 -> 3.5), else a sentence's end."""
    return word == "." and prev.isdigit()


class Spacer:
    """Turns words into the text to append, one at a time, after text ending in ``after``."""

    def __init__(self, after: str = "", casing: dict | None = None):
        self.casing = casing or {}  # a word's form in the training text where it has capitals (seqtext.text.casing)
        self.tail = after[-1:]  # the last character written
        self.sentence_start = (not after.strip() or after.rstrip()[-1] in SENTENCE_END
                               or after.rstrip(" \t").endswith(LINE_BREAK))
        self.quote_open = sum(after.count(q) for q in QUOTES) % 2 == 1  # an odd number so far: one is open
        self.single_open = False  # a single quote opened (after a space or punctuation) and not yet closed
        # the previous word (a prompt's last word, so that it can take an ' or a -), or its closing punctuation
        self.prev = word_at_end(after) or (after[-1:] if after[-1:] in DASH_AFTER else "")
        self.glue = False  # True: glue the next word; None: decide when it comes (after ' or a digit's . ,)
        self.held = ""  # an apostrophe after a word, not yet written: the next word shows on which side it goes
        last, before = after[-1:], after[-2:-1]  # a prompt that stops inside a word's spelling: carry on from it
        if last in QUOTES and self.quote_open:
            self.glue = True  # 'Eve said "' + hello -> "hello
        elif last in GLUE_BETWEEN_WORDS and before.isalnum():
            self.glue, self.prev = True, last  # well- + known -> well-known
        elif (last in (".", ",") and before.isdigit()) or (last in APOSTROPHES and before.isalnum()):
            self.glue, self.prev = None, last  # 3. + 5 -> 3.5; song' + s -> song's (decided by the next word)
        elif last in APOSTROPHES and _opens_a_quote(after):
            self.glue = self.single_open = True  # he said ' + hello -> he said 'hello

    def piece(self, word: str) -> str:
        """The text that writes ``word`` next: its leading space (if any) and the word, capitalised as due.

        An apostrophe after a word gives "" and is written with the next word (or by :meth:`flush`)."""
        if self.held:
            return self.release(word) + self.piece(word)
        if word in APOSTROPHES and is_wordlike(self.prev):
            self.held = word  # song ' s, singers ' song, hang ' em: only the next word tells them apart
            return ""
        word = self.casing.get(word, word)
        if word == "i":
            word = "I"
        glue, self.glue = self.glue, False
        glued = glue or (glue is None and self._joins(word))  # first: a "." that was no decimal point ends a sentence
        if self.sentence_start and is_wordlike(word):
            word = word[:1].upper() + word[1:]
            self.sentence_start = False
        space = not glued and self._space_before(word) and bool(self.tail) and not self.tail.isspace()
        out = (" " if space else "") + word
        self._after(word)
        if out:
            self.tail = out[-1]
        return out

    def flush(self) -> str:
        """The apostrophe still held when the words end: written against the word before it (the singers')."""
        apostrophe, self.held = self.held, ""
        if apostrophe:
            self.single_open = False
            self.tail = self.prev = apostrophe
        return apostrophe

    def release(self, word: str) -> str:
        """The held apostrophe, placed by the word after it, with the space before it if it belongs to that word."""
        apostrophe, self.held = self.held, ""
        low, prev = word.lower(), self.prev.lower()
        if low in CONTRACTIONS or (prev == "o" and low.startswith("er")):  # song's, ne'er, o'erleap
            space, self.glue = False, True
        elif low in ELISIONS:  # hang 'em
            space, self.glue = True, True
        elif (not is_wordlike(word) or self.single_open or prev.endswith(SIBILANT) or prev in CLIPPED
              or not prev.isalpha()):
            # a closing quote, a possessive with no s after it (the singers' song, Clarence' death; PTB's <unk> ' too),
            # a clipped word (o' the)
            space = False
            self.single_open = False
        else:  # he said 'hello
            space, self.glue, self.single_open = True, True, True
        self.tail = self.prev = apostrophe
        return (" " if space else "") + apostrophe

    def _space_before(self, word: str) -> bool:
        first = word[:1]
        if first in QUOTES:
            return not self.quote_open  # an opening quote takes a space, a closing one does not
        if first in APOSTROPHES:
            # after a word: a contraction, a possessive or a closing quote, all written against it;
            # PTB writes "'s" as one token
            return not (is_wordlike(self.prev) or word[1:].lower() in CONTRACTIONS or self.single_open)
        if word.lower() == "n't" or first in NO_SPACE_BEFORE or self.tail in NO_SPACE_AFTER:
            return False
        return not self._glues_both_sides(word)

    def _glues_both_sides(self, word: str) -> bool:
        """A hyphen or slash between words (well-known), or a hyphen of a dash (said--no, body,--)."""
        return word in GLUE_BETWEEN_WORDS and (is_wordlike(self.prev) or (word == "-" and self.prev in DASH_AFTER))

    def _joins(self, word: str) -> bool:
        """The open decision: does ``word`` continue the word before the apostrophe or number separator?"""
        if self.prev in APOSTROPHES:  # only a prompt ends with one: the generated ones are held (see release)
            if word.lower() in CONTRACTIONS:
                return True  # song ' s -> song's
            self.single_open = False  # song ' is -> song' is: a possessive, or the closing quote
            return False
        if self.prev == ".":
            self.sentence_start = not word.isdigit()  # 3 . the -> "3. The": the "." was the sentence's end
            return word.isdigit()  # 3 . 5 -> 3.5
        return word.isdigit() and len(word) == 3  # 1 , 000 -> 1,000 (but 2005 , 3 -> 2005, 3)

    def _after(self, word: str) -> None:
        first = word[:1]
        if first in QUOTES:
            self.quote_open = not self.quote_open
            self.glue = self.quote_open  # an opening quote hugs the next word
        elif word in APOSTROPHES:  # after a space or punctuation (after a word it is held): opens, or closes one
            self.single_open = not self.single_open
            self.glue = self.single_open
        elif self._glues_both_sides(word):
            self.glue = True
        elif word in (".", ",") and self.prev.isdigit():
            self.glue = None
        if (word in SENTENCE_END and not (word == "." and self.glue is None)) or word == LINE_BREAK:
            self.sentence_start = True
        self.prev = word


def _opens_a_quote(text: str) -> bool:
    """Whether the single quote ``text`` ends with, apart from the word before it, opens a quote: an odd count of
    such quotes so far (he said ' hello ' closes one), and not after a word ending in s (PTB writes the dogs ' for
    the dogs')."""
    apart = re.findall(r"(?:^|\s)['’](?=\s|$)", text)
    before = word_at_end(text[:-1].rstrip())
    return text[-2:-1] in ("", " ", "\t", "\n", *NO_SPACE_AFTER) and len(apart) % 2 == 1 and \
        not before.lower().endswith(SIBILANT)


def word_at_end(text: str) -> str:
    """The word ``text`` ends in ("" if it ends in a space or punctuation)."""
    end = re.search(r"\w+$", text)
    return end.group() if end else ""


def spaced(words: Iterable[str], after: str = "", casing: dict | None = None) -> Iterator[str]:
    """The text each of ``words`` adds to text ending in ``after``, as it comes: :func:`join_words` streamed
    (``casing``: words written in their training text's form, ``Ben`` for ``ben``).

    A held apostrophe comes with the word after it, or last, so no piece is empty."""
    spacer = Spacer(after, casing)
    for word in words:
        if spacer.held:  # the apostrophe, placed now, is a piece of its own: each piece is one token's text
            yield spacer.release(word)
        piece = spacer.piece(word)
        if piece:
            yield piece
    if spacer.held:
        yield spacer.flush()


def join_words(words: Sequence[str], after: str = "", casing: dict | None = None) -> str:
    """Join generated words onto text ending in ``after``, spaced like prose (see the module docstring)."""
    return "".join(spaced(words, after, casing))

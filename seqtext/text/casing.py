"""Names as the training text writes them.

A word or BPE tokenizer lower-cases (``Harry`` and ``harry`` are one token),
so a continuation would write ``Harry and ben``.  At training time the words
that the text writes with capitals where no sentence starts are counted, and
a word whose usual form there is not its lower-cased one is recorded with
that form (``{"ben": "Ben", "saturday": "Saturday"}``), in the model's
``config.json`` (``casing``); :class:`seqtext.text.spacing.Spacer` writes
generated words in it.  A sentence's first word says nothing of its case, so
it is not counted (the spacer capitalises every sentence's start anyway), nor
is a word after an opening quote, a bracket or a colon, a word of one letter,
or a line written in capitals (a heading); an all-capital form is an
acronym's only when it is short and the text never writes it lower-cased;
a text without capitals (PTB) records nothing, and a model without the record
writes words as its tokens, as before.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

MAX_LINES = 200_000  # lines read for the counts: a name's usual form shows long before
MIN_SEEN = 2  # uses where no sentence starts before a form is recorded
MAX_ACRONYM = 4  # an all-capital form longer than this is a heading or shouting, not a word's usual form
SENTENCE_END = {".", "!", "?", "…"}
# after these a capital says nothing of the word either: a quotation, a bracket or a colon may start a sentence
OPENERS = {'"', "“", "‘", "(", "[", ":", "—", "–"}


def surface_forms(lines: Iterable[str], tokenizer, words_only: bool = True) -> dict[str, str]:
    """``{token: form}`` for the words of ``lines`` whose most frequent form where no sentence starts has
    capitals and is used more than the lower-cased one (``words_only``: tokens of the vocabulary only, as for a
    word-level tokenizer; a BPE model's words are spelled from pieces)."""
    pre = tokenizer.pre_tokenizer
    vocab = tokenizer.get_vocab() if words_only else None
    forms: dict[str, Counter] = defaultdict(Counter)
    for n, line in enumerate(lines):
        if n >= MAX_LINES:
            break
        if line.isupper():  # a heading ("KING RICHARD II:") or shouting: its capitals are no word's usual form
            continue
        start = True
        for piece, _ in pre.pre_tokenize_str(unicodedata.normalize("NFKC", line)):
            if not start and len(piece) > 1 and piece[:1].isalpha():  # one letter: PTB's N, the n of n't
                forms[piece.lower()][piece] += 1
            start = piece in SENTENCE_END or piece in OPENERS
    out = {}
    for low, counts in forms.items():
        form, seen = counts.most_common(1)[0]
        if form == low or seen < MIN_SEEN or seen <= counts[low] or (vocab is not None and low not in vocab):
            continue
        if form.isupper() and (len(form) > MAX_ACRONYM or counts[low]):  # "US" where "us" is written too
            continue
        out[low] = form
    return dict(sorted(out.items()))


def cased(ranked, casing: dict) -> list[tuple[str, float]]:
    """``(word, probability)`` pairs with each word in its recorded form (next words as a continuation writes them)."""
    return [(casing.get(word, word), float(p)) for word, p in ranked]

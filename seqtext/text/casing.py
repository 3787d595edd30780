"""Names as the training text writes them.

A word or BPE tokenizer lower-cases (``Harry`` and ``harry`` are one token),
so a continuation would write ``Harry and ben``.  At training time the words
that the text writes with capitals where no sentence starts are counted, and
a word whose usual form there is not its lower-cased one is recorded with
that form (``{"ben": "Ben", "saturday": "Saturday"}``), in the model's
``config.json`` (``casing``); :class:`seqtext.text.spacing.Spacer` writes
generated words in it.  A sentence's first word says nothing of its case, so
it is not counted (the spacer capitalises every sentence's start anyway);
a text without capitals (PTB) records nothing, and a model without the record
writes words as its tokens, as before.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

MAX_LINES = 200_000  # lines read for the counts: a name's usual form shows long before
MIN_SEEN = 2  # uses where no sentence starts before a form is recorded
SENTENCE_END = {".", "!", "?", "…"}


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
        start = True
        for piece, _ in pre.pre_tokenize_str(unicodedata.normalize("NFKC", line)):
            if not start and piece[:1].isalpha():
                forms[piece.lower()][piece] += 1
            start = piece in SENTENCE_END
    out = {}
    for low, counts in forms.items():
        form, seen = counts.most_common(1)[0]
        if form != low and seen >= MIN_SEEN and seen > counts[low] and (vocab is None or low in vocab):
            out[low] = form
    return dict(sorted(out.items()))


def cased(ranked, casing: dict) -> list[tuple[str, float]]:
    """``(word, probability)`` pairs with each word in its recorded form (next words as a continuation writes them)."""
    return [(casing.get(word, word), float(p)) for word, p in ranked]

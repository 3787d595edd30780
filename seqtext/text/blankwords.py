"""Whole words for a BPE model's blank, for the torch model and the exported one alike.

A word-level model ranks a blank's candidates as words; a BPE model's
likeliest first pieces (``s``, ``car``, ``ne``) are not words yet.  Each of
them is spelled on greedily to the end of its word, one batched step per
piece, and the words are then ranked by the probability of the whole
sentence: the word's pieces given the text before the blank, times the text
after it given the word.  The backend supplies the steps (numpy log-probs
out), so torch and the torch-free runtime rank alike.
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.text import tokenizer as tk
from seqtext.text.prompts import suffix_ids

MAX_PIECES = 8  # a word spelled in more pieces than this is cut there


def spell(first, state, step, keep, ends_word, barred):
    """Each first piece of ``first`` (K ids) spelled on to the end of its word, from ``state`` (the state before
    the blank, one row per candidate).

    ``step(ids (K,), state) -> (log-probs (K, V), state)`` reads one piece per
    row from the state it keeps; ``keep(new, old, rows)`` is ``new`` in
    ``rows`` (bool, K) and ``old`` elsewhere.  Continuations never take a
    ``barred`` id.  Returns (the pieces of each word, their log-probability
    after the first piece, the state after each word, the next-token
    log-probs after each word (K, V)).
    """
    pieces = [[int(i)] for i in first]
    gained = np.zeros(len(pieces))
    ids, after = np.asarray(first, dtype=np.int64), None
    active = np.ones(len(pieces), dtype=bool)  # rows whose last piece is still to be read
    for n in range(MAX_PIECES):
        out, new = step(ids, state)
        state = keep(new, state, active)
        after = out if after is None else np.where(active[:, None], out, after)
        ended = np.array([ends_word(p[-1]) for p in pieces]) | (n == MAX_PIECES - 1)
        active &= ~ended
        if not active.any():
            break
        masked = out.copy()
        masked[:, barred] = -math.inf
        best = masked.argmax(axis=1)
        for i in np.flatnonzero(active):
            pieces[i].append(int(best[i]))
            gained[i] += masked[i, best[i]]
        ids = np.where(active, best, ids)
    return pieces, gained, state, after


def blank_words(tokenizer, first, first_probs, state, suffix: str, step, keep, score, barred):
    """The whole words for a blank from its likeliest first pieces ``first`` (K ids; ``first_probs`` given the text
    before the blank), spelled from ``state`` (one row each) by :func:`spell` and, when text follows the blank,
    rescored with it: ``score(ids (K, T), targets (K, T), state) -> (K,)`` sums the log-probs of the targets
    read after ``ids`` from the state after each word.  Returns (words, probabilities, (each row's word, its
    pieces, the state after it, the next token's log-probs after it))."""
    ends = lambda i: tk.token_ends_word(tokenizer, tokenizer.id_to_token(i))  # noqa: E731
    pieces, gained, state, after = spell(first, state, step, keep, ends, barred)
    logp = np.log(np.asarray(first_probs, dtype=np.float64)) + gained
    rescored = bool(suffix and suffix.strip())
    if rescored:
        tail = suffix_ids(tokenizer, suffix)
        logp += after[:, tail[0]]
        if len(tail) > 1:
            ids, targets = (np.tile(np.asarray(t, dtype=np.int64), (len(pieces), 1)) for t in (tail[:-1], tail[1:]))
            logp += score(ids, targets, state)
    words = ["".join(tk.token_text(tokenizer.id_to_token(i)) for i in p) for p in pieces]
    return (*rank(words, logp, rescored), (words, pieces, state, after))


def rank(words: list[str], logp: np.ndarray, rescored: bool) -> tuple[list[str], np.ndarray]:
    """Words spelled twice (from two first pieces) counted once, their probabilities added; the probabilities are
    normalised over the candidates when ``rescored`` (they then include the text after the blank)."""
    total: dict[str, float] = {}
    for word, lp in zip(words, logp):
        total[word] = np.logaddexp(total[word], lp) if word in total else float(lp)
    names, values = list(total), np.array(list(total.values()))
    if rescored:
        values = np.exp(values - values.max())
        return names, values / values.sum()
    return names, np.exp(values)

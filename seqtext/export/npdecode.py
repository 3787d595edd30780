"""Choosing the next token on numpy: what ``seqtext.text.decoding`` does on torch, for the exported runtime.

Greedy is the argmax (the first one on a tie, as ``torch.argmax``); sampling
tempers in float64, keeps the top-k and the top-p nucleus, and draws by the
inverse CDF from a ``numpy.random.Generator``.  Repetition control reads the
same :class:`~seqtext.text.decoding.Repetition` record (tokens seen, n-grams)
and adjusts the scores as its torch ``apply`` does.
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.text.decoding import is_sampling


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    shifted = x - top
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(log_softmax(x, axis))


def filter_scores(scores: np.ndarray, top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """Set to -inf every score outside the top-k and outside the top-p nucleus (a copy)."""
    out = np.array(scores, dtype=np.float64, copy=True)
    if top_k is not None and top_k < out.size:
        kth = np.partition(out, out.size - top_k)[out.size - top_k]
        out[out < kth] = -math.inf
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-out, kind="stable")
        probs = softmax(out[order])
        drop = np.cumsum(probs) - probs >= top_p  # keep the smallest prefix whose mass reaches top_p
        out[order[drop]] = -math.inf
    return out


def choose(scores: np.ndarray, temperature: float | None = None, top_k: int | None = None,
           top_p: float | None = None, rng: np.random.Generator | None = None) -> int:
    """The next token id: argmax, or a sample from the filtered, tempered softmax."""
    if not is_sampling(temperature, top_k, top_p):
        return int(np.argmax(scores))
    with np.errstate(over="ignore", invalid="ignore"):  # a tiny temperature overflows the division: greedy below
        scaled = np.asarray(scores, dtype=np.float64) / (temperature if temperature is not None else 1.0)
        probs = softmax(filter_scores(scaled, top_k, top_p))
    if not np.all(np.isfinite(probs)) or probs.sum() <= 0:
        return int(np.argmax(scores))  # a temperature that underflows: the limit is greedy
    cdf = np.cumsum(probs)
    u = (rng if rng is not None else np.random.default_rng()).random() * cdf[-1]
    return min(int(np.searchsorted(cdf, u, side="right")), cdf.size - 1)


def apply_repetition(repetition, scores: np.ndarray) -> np.ndarray:
    """``scores`` (V,) adjusted by ``repetition`` (``seqtext.text.decoding.Repetition``, numpy or torch alike)."""
    return scores if repetition is None else repetition.apply(scores)

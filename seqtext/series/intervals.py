"""Prediction intervals by split conformal prediction on rolling-origin errors.

At fit time (``calibrate=C``) a copy of the model is trained without the
last C values of each series.  From every origin in those C values it
forecasts up to C steps ahead, and the signed errors of step k (actual minus
forecast, in transformed units (logs with ``log``, log(1 + y) with ``log1p``), each series divided by
its scaler's ``interval_unit``: its scale, or its standard deviation under
mean scaling) are that step's calibration scores.  The final
model is then trained on every value.

Intervals are symmetric in the transformed, scaled units, for one series or
many: a bias or skew of the calibration copy's errors, seen over the few
origins of one stretch, need not carry over to the final model's.  Many
series once took each step's signed quantiles (the
``floor((n+1)(1-L)/2)``-th and ``ceil((n+1)(1+L)/2)``-th smallest), and on
Tourism the bias of one stretch's errors did not carry over: the model
refitted with its calibration 24 and 48 months before the training file's
end (``python scripts/bench_tourism.py coverage``, seeds 0-2) covered 74.9 /
68.3 % at 80 % and 92.3 / 90.3 % at 95 % with signed quantiles, 78.2 / 73.5
% and 92.3 / 92.6 % with the absolute scores' (MSIS 9.91 / 10.94 and 15.84
/ 17.52 signed, 9.45 / 10.30 and 15.72 / 17.13 absolute).

A step with at least ``OWN_STEP`` scores, and enough for the level to leave
one above their ``ceil((n+1)L)``-th smallest, is the forecast plus or minus
that one of its own absolute scores; at a higher level it takes the power
law's below, but never less than its own second largest score, so the
intervals of two levels nest.
A step with fewer borrows from the others: the absolute scores of every
step are pooled, each divided by its step's spread, a power law
``s_k = a * k**b`` fitted to the mean absolute score of each step, and the
interval of step k is the forecast plus or minus ``s_k`` times the
``ceil((n+1)L)``-th smallest pooled score (normalised conformal
prediction).  The power law is a model of the spread, and on a stationary
series it underestimates step 1: one-step intervals from it alone covered
72.8 % at 80 % and 89.0 % at 95 %, from the step's own scores 79.3 % and
95.1 % (``python scripts/bench_intervals.py onestep``).  The half-widths
are then made non-decreasing with the step (a step narrower than the one
before is pooled with it).  With too few scores for a level the widest is
used, and the interval may cover less than L.
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.errors import DataError, counted, is_listlike, plain

MAX_STORED = 1000  # scores kept per step; beyond, their quantiles at MAX_STORED even steps
# A step's own absolute scores give its symmetric interval from OWN_STEP of them: the coverage that n
# exchangeable scores give one calibration varies with a standard deviation of sqrt(L(1-L)/(n+2)), 8.5 points at
# 80 % and 4.6 at 95 % for n = 20, about the bias the power law showed at step 1 (-7 and -6 points); with more
# scores the step's own quantile, unbiased, is the better.  It also needs a score above the ceil((n+1)L)-th
# smallest, n >= (1+L)/(1-L) (9 at 80 %, 39 at 95 %): the largest
# of n scores is their most variable order statistic, and the pooled power law is steadier there.
OWN_STEP = 20


class Calibration:
    """Calibration scores for steps 1..K: ``scores[k]`` the sorted signed errors of step k+1."""

    def __init__(self, values: int, scores: list, counts: list | None = None, raw: dict | None = None):
        self.values = values  # the values held out for calibration (C)
        self.scores = [np.sort(np.asarray(s, dtype=np.float64)) for s in scores]
        self.counts = list(counts) if counts is not None else [len(s) for s in self.scores]
        self.raw = raw  # {series id: [errors of step 1, 2, ...]} in transformed units, before scaling

    @property
    def steps(self) -> int:
        return len(self.scores)

    def in_interval_units(self, scalers: dict) -> "Calibration":
        """Pool the raw errors of every series, each divided by its scaler's ``interval_unit``."""
        steps = max(len(v) for v in self.raw.values())
        pooled = []
        for k in range(steps):
            parts = [np.asarray(v[k]) / scalers[key].interval_unit for key, v in self.raw.items() if k < len(v)]
            pooled.append(np.concatenate(parts) if parts else np.empty(0))
        counts = [len(p) for p in pooled]
        kept = [np.quantile(p, np.linspace(0, 1, MAX_STORED), method="inverted_cdf") if len(p) > MAX_STORED
                else p for p in pooled]
        return Calibration(self.values, kept, counts)

    def spreads(self) -> np.ndarray:
        """Each step's spread s_k = a * k**b, fitted to the mean absolute scores (weighted by their counts)."""
        k = np.arange(1, self.steps + 1)
        mean_abs = np.array([np.mean(np.abs(s)) if len(s) else np.nan for s in self.scores])
        ok = np.isfinite(mean_abs) & (mean_abs > 0)
        if ok.sum() < 2:
            return np.full(self.steps, np.nanmax(mean_abs[ok]) if ok.any() else 1.0)
        w = np.sqrt(np.asarray(self.counts, dtype=np.float64)[ok])
        b, log_a = np.polyfit(np.log(k[ok]), np.log(mean_abs[ok]), 1, w=w)
        return np.exp(log_a) * k ** b

    def check_steps(self, steps: int) -> None:
        """Refuse intervals further ahead than the calibration reached."""
        if steps > self.steps:
            raise DataError(f"the intervals were calibrated for up to {counted(self.steps, 'step')} ahead, and "
                            f"{steps} were asked for; with intervals, give {{steps}} of {self.steps} or fewer, or "
                            "calibrate more steps at training ({calibrate}).", params=["steps", "calibrate"])

    def offsets(self, level: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) offsets (steps,) for a ``level`` % interval, in a series' ``interval_unit``."""
        self.check_steps(steps)
        borrowed = self.borrowed(level, self.steps)  # every calibrated step: a shorter forecast's are the same
        upper = borrowed.copy()
        for k in range(self.steps):
            if self.counts[k] >= OWN_STEP:
                own, capped = _own_quantile(self.scores[k], self.counts[k], level)
                # too high a level for the step's own: the power law's, but never below a lower level's
                upper[k] = max(own, borrowed[k]) if capped else own
        upper = _non_decreasing(upper, np.asarray(self.counts, dtype=np.float64))[:steps]
        return -upper, upper

    def borrowed(self, level: float, steps: int) -> np.ndarray:
        """Half-widths (steps,) from the scores of every step pooled, each divided by its step's fitted spread."""
        spread = self.spreads()
        pooled = np.sort(np.concatenate([np.abs(s) / spread[k] for k, s in enumerate(self.scores)]))
        n = len(pooled)
        q = float(np.quantile(pooled, min(math.ceil((n + 1) * level / 100), n) / n, method="inverted_cdf"))
        return q * spread[:steps]

    def to_dict(self) -> dict:
        return {"values": self.values, "counts": self.counts, "scores": [s.tolist() for s in self.scores]}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        scores, counts = data["scores"], data["counts"]
        if not isinstance(data["values"], int) or len(scores) != len(counts) or \
                any(len(s) > c or len(s) > MAX_STORED for s, c in zip(scores, counts)):
            raise ValueError("inconsistent calibration")
        return cls(data["values"], scores, counts)


def _own_quantile(scores: np.ndarray, n: int, level: float) -> tuple[float, bool]:
    """(the ``ceil((n+1)L)``-th smallest of a step's n absolute scores, False), or where that rank is not below n
    (``capped``), (the second largest, True); its stored scores may be a quantile grid of the n."""
    rank = math.ceil((n + 1) * level / 100)
    capped = rank >= n
    return float(np.quantile(np.abs(scores), (n - 1 if capped else rank) / n, method="inverted_cdf")), capped


def _non_decreasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence nearest ``values`` in weighted least squares (pool adjacent violators).

    A later step is not surer than an earlier one, but a step's own quantile of a few dozen scores may come out
    below the one before it; pooling such neighbours (weighted by their scores) keeps the intervals widening
    with the horizon and about as wide on average as the steps' own quantiles, where a running maximum would
    widen every later step past its own (and over-cover a stationary series)."""
    blocks: list[list[float]] = []  # [mean, weight, steps]
    for v, w in zip(values.tolist(), np.maximum(weights, 1.0).tolist()):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(n, v) for v, _, n in blocks])


def check_levels(levels) -> list[float]:
    """Interval levels as percentages strictly between 0 and 100 (e.g. [80, 95]; one number is one level)."""
    levels = plain(levels)
    if isinstance(levels, (int, float)) and not isinstance(levels, bool):
        levels = [levels]
    elif not is_listlike(levels):
        raise DataError(f"interval {{levels}} are a list of percentages between 0 and 100 (e.g. [80, 95]), got "
                        f"{levels!r}.", params=["levels"])
    out = []
    for level in plain(list(levels)):
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
            raise DataError(f"interval {{levels}} are percentages between 0 and 100 (e.g. 80, 95), got {level!r}.",
                            params=["levels"])
        if float(level) not in out:  # a level asked twice is one interval
            out.append(float(level))
    return out


def level_name(level: float) -> str:
    """80 -> '80', 97.5 -> '97.5' (the suffix of the lower_/upper_ columns); a level with more digits than six
    keeps them all (99.99999999, not '100', which another level near 100 would be named too)."""
    name = f"{level:g}"
    return name if float(name) == level else repr(float(level))

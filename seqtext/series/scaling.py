"""What the network reads: the scaler fitted on the training part, the split, and the sliding windows."""

from __future__ import annotations

import math

import numpy as np

from seqtext.errors import ConfigError, DataError, counted

LOG_CAP = 700.0  # exp() of more than this overflows float64; a runaway forecast stays finite
FLOAT_MAX = float(np.finfo(np.float64).max)


class Scaler:
    """Per-column affine scaling fitted on the training part; optional log of the target first.

    Column 0 is the target, the others are covariates.  A column with no
    spread gets scale 1, so a constant column never divides by zero.

    ``target_transform`` is applied to the target before the scaling: ``log``
    (positive series whose swing grows with their level) or ``log1p``,
    log(1 + y), for non-negative series that touch zero (counts): with
    ``kind`` none and a level-relative network, an absolute error in log
    units is a relative one, so a trough of a few visitors weighs as much as
    a peak of thousands.  Forecasts come back through exp (exp - 1, floored at 0).

    ``mean`` divides the target by its mean absolute value and shifts nothing
    (DeepAR's mean scaling; covariates are z-scored): an absolute error in
    these units is relative to the series' level, so a global model trained
    on many series weighs each by its error in per cent rather than in
    standard deviations.  The conformal scores of its intervals are still
    pooled in standard deviations (``interval_unit``): in units of the level
    they under-covered on Tourism (78.6 % at 80 %, against 79.9 %).
    """

    KINDS = ("zscore", "minmax", "mean", "none")
    TRANSFORMS = ("none", "log", "log1p")

    def __init__(self, kind: str = "zscore", target_transform: str | bool = "none"):
        if kind not in self.KINDS:
            raise ConfigError(f"{{scaler}} must be zscore, minmax, mean or none, got {kind!r}.", params=["scaler"])
        if isinstance(target_transform, bool):  # the former ``log`` flag
            target_transform = "log" if target_transform else "none"
        if target_transform not in self.TRANSFORMS:
            raise ValueError(f"target_transform must be one of {self.TRANSFORMS}, got {target_transform!r}")
        self.kind, self.target_transform = kind, target_transform
        self.center: np.ndarray | None = None  # (C,)
        self.scale: np.ndarray | None = None  # (C,)
        self.spread: float | None = None  # mean scaling: the target's standard deviation (the intervals' unit)

    def forward_target(self, values) -> np.ndarray:
        """Target values in transformed units (logs with ``log``, log(1 + y) with ``log1p``), not scaled."""
        values = np.asarray(values, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.target_transform == "log":
                return np.log(values)
            if self.target_transform == "log1p":
                return np.log1p(values)
        return values

    def _logged(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.array(matrix, dtype=np.float64, ndmin=2)
        matrix[:, 0] = self.forward_target(matrix[:, 0])
        return matrix

    def fit(self, matrix: np.ndarray) -> "Scaler":
        """Statistics of a (n, C) matrix: the training rows only."""
        m = self._logged(matrix)  # (n, C)
        # Statistics of m / peak, scaled back: squares of values near 1e300 would overflow.
        peak = np.abs(m).max(axis=0)  # (C,)
        peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
        u = m / peak  # (n, C), within [-1, 1]
        if self.kind in ("zscore", "mean"):
            center, scale = u.mean(axis=0) * peak, u.std(axis=0) * peak
            if self.kind == "mean":  # the target: no shift, divided by its mean absolute value
                std = float(scale[0])
                center[0], scale[0] = 0.0, np.abs(u[:, 0]).mean() * peak[0]
                self.spread = std if np.isfinite(std) and std > 1e-12 * peak[0] else None
        elif self.kind == "minmax":
            center, scale = m.min(axis=0), (u.max(axis=0) - u.min(axis=0)) * peak
        else:
            center, scale = np.zeros(m.shape[1]), np.ones(m.shape[1])
        if not (np.isfinite(center).all() and np.isfinite(scale).all()):
            raise DataError("the values are too large to scale (beyond about 1e308); divide the series by a "
                            "constant first.")
        # a column whose spread is float rounding (a constant) is only shifted: a covariate's spread compared with
        # 1e-12 of its level or of 1 (a column of zeros and one rounding residue, 5.6e-17, is a constant); the
        # target's with its own size, so a series of values near 1e-15 is scaled as one near 1 is
        floor = np.maximum(1.0, np.abs(center))
        floor[0] = peak[0]
        scale = np.where(np.isfinite(scale) & (scale > 1e-12 * floor), scale, 1.0)
        self.center, self.scale = center, scale
        return self

    @property
    def interval_unit(self) -> float:
        """What the conformal scores of a series are divided by before they are pooled over series: the target's
        scale, or under mean scaling its standard deviation (the target's scale where it has none)."""
        return float(self.spread) if self.spread is not None else float(self.scale[0])

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        return (self._logged(matrix) - self.center) / self.scale  # (n, C)

    def inverse_target(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled target values (any shape) back to the original units."""
        with np.errstate(over="ignore"):
            values = np.asarray(scaled, dtype=np.float64) * self.scale[0] + self.center[0]
        if self.target_transform == "log":
            return np.exp(np.minimum(values, LOG_CAP))
        if self.target_transform == "log1p":  # its series are never negative, nor are their forecasts
            return np.maximum(np.expm1(np.minimum(values, LOG_CAP)), 0.0)
        # a forecast of values near the float64 limit stays finite, as a runaway one in logs does
        return np.clip(values, -FLOAT_MAX, FLOAT_MAX)

    def beyond_range(self, scaled: np.ndarray) -> bool:
        """Whether some of ``scaled`` lie beyond what float64 holds in the target's units (where
        :meth:`inverse_target` would cap them: an exp of more than ``LOG_CAP``, or past the largest float)."""
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.asarray(scaled, dtype=np.float64) * self.scale[0] + self.center[0]
        limit = LOG_CAP if self.target_transform in ("log", "log1p") else FLOAT_MAX
        return bool(np.any(np.abs(values) > limit) if limit == FLOAT_MAX else np.any(values > limit))

    def scaled_zero(self) -> float:
        """The target value 0 in scaled units (minus infinity under a log, which never reaches it)."""
        if self.target_transform == "log":
            return -math.inf
        return float((0.0 - self.center[0]) / self.scale[0])  # log1p(0) is 0 too

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "transform": self.target_transform, "center": self.center.tolist(),
               "scale": self.scale.tolist()}
        if self.spread is not None:
            out["spread"] = self.spread
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Scaler":
        # files written before log1p existed hold a ``log`` flag instead
        obj = cls(data["kind"], data["transform"] if "transform" in data else bool(data["log"]))
        obj.center = np.asarray(data["center"], dtype=np.float64)
        obj.scale = np.asarray(data["scale"], dtype=np.float64)
        if obj.center.shape != obj.scale.shape or obj.center.ndim != 1 or not np.all(obj.scale > 0):
            raise ValueError("center and scale must be equal-length lists with positive scales")
        if data.get("spread") is not None:
            obj.spread = float(data["spread"])
            if not (np.isfinite(obj.spread) and obj.spread > 0):
                raise ValueError("spread must be a positive number")
        return obj


def stack_inverse(scalers: list, scaled: np.ndarray) -> np.ndarray:
    """Rows of scaled target values (N, ...) back to units, row i with ``scalers[i]`` (one per row)."""
    if all(s is scalers[0] for s in scalers):
        return scalers[0].inverse_target(scaled)
    out = np.empty(np.shape(scaled))
    for s in set(scalers):
        rows = [i for i, t in enumerate(scalers) if t is s]
        out[rows] = s.inverse_target(np.asarray(scaled)[rows])
    return out


def scaler_of(series, target) -> Scaler:
    """The unfitted Scaler of one series whose training part has ``target``: the settings' scaling and transform,
    or log(1 + y) unscaled where ``series.log1p_troughs`` finds the least of its last ``window`` values below that
    share of their mean, and no value below zero (a seasonal trough near zero, where an absolute error counts
    hundreds of per cent in MAPE; in log units the error is relative)."""
    share = series.log1p_troughs
    if share and series.transform == "none":
        known = np.asarray(target, dtype=np.float64)
        known = known[np.isfinite(known)]
        recent = known[-series.window:]
        if recent.size and known.min() >= 0 and recent.min() < share * recent.mean():
            return Scaler("none", "log1p")
    return Scaler(series.scaler, series.transform)


def check_transformable(table, transform: str, nonnegative: bool = False, trained: bool = False,
                        option: str | None = None) -> None:
    """A log transform needs a positive target, log1p (and ``nonnegative`` forecasts) a non-negative one: name
    the first value that is not (``table``: a Table; ``trained``: a fitted model reads it, so the fix is to
    retrain; ``option``: the setting that chose the transform, when not the transform's own)."""
    if nonnegative and transform != "log":
        bad = np.flatnonzero(table.target < 0)
        if bad.size:
            i = int(bad[0])
            fix = "this model was trained with it, so retrain without it to forecast" if trained else \
                "turn it off for"
            raise DataError(f"{{nonnegative}} floors the forecasts at 0, but {table.subject(table.names[0])} is "
                            f"{table.target[i]:g} at {table.place(i, table.names[0])}; {fix} a series that goes below "
                            "zero.",
                            params=["nonnegative"])
    if transform == "none":
        return
    bad = np.flatnonzero(table.target <= 0 if transform == "log" else table.target < 0)
    if bad.size:
        i = int(bad[0])
        need, own = ("positive", "log") if transform == "log" else ("non-negative", "log1p")
        option = option or own
        fix = f"this model was trained with {{{option}}}, so retrain without it or shift the series above zero" \
            if trained else f"turn off {{{option}}} or shift the series above zero"
        raise DataError(
            f"the {transform} transform needs {need} values, but {table.subject(table.names[0])} is "
            f"{table.target[i]:g} at {table.place(i, table.names[0])}; {fix}.", params=[option])


def split_point(n: int, window: int, horizon: int, valid_fraction: float) -> int:
    """Length of the training part; the rest is the validation part (empty for fraction 0).

    Windows never cross the split, so the validation part is at least one
    window plus horizon long, and so is the training part.
    """
    if valid_fraction <= 0:
        return n
    span = window + horizon
    n_valid = max(math.ceil(valid_fraction * n), span)
    if n - n_valid < span:
        raise DataError(
            f"the series has {counted(n, 'value')}, too few for a validation part with window {window} and horizon "
            f"{horizon} (both parts need {span}); set {{valid_fraction}} to 0 or use a shorter {{window}}.",
            params=["valid_fraction", "window"])
    return n - n_valid


def make_windows(values: np.ndarray, window: int, horizon: int, stride: int = 1, start: int = 0, end=None):
    """Windows lying wholly inside ``values[start:end]``, the latest one ending at ``end``.

    ``values`` is (n, C) with the target in column 0.  Returns inputs
    (N, window, C), targets (N, horizon) and each window's first row (N,).
    """
    end = len(values) if end is None else end
    latest = end - window - horizon
    if latest < start:
        return np.empty((0, window, values.shape[1])), np.empty((0, horizon)), np.empty(0, dtype=int)
    starts = np.arange(latest, start - 1, -stride)[::-1]  # (N,)
    x = values[starts[:, None] + np.arange(window)]  # (N, W, C)
    y = values[starts[:, None] + window + np.arange(horizon), 0]  # (N, H)
    return x, y, starts

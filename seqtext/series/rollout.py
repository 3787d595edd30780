"""Forecasts beyond the horizon: a network's window forecasts fed back in, horizon values at a time.

Torch-free: the network is a function ``forecast(x, ids, ahead)`` from scaled
windows (N, W, C) float32 (series indices (N,) or None, and the known-ahead
covariates of the horizon steps (N, horizon, A) or None) to scaled forecasts
(N, horizon): the torch :class:`~seqtext.series.forecaster.Forecaster` and
the exported runtime each pass their own.
"""

from __future__ import annotations

import math

import numpy as np


def needed_rows(steps: int, horizon: int, ahead: bool = False) -> int:
    """Covariate rows past the origin that a roll-out of ``steps`` reads.

    ``ahead``: the network reads the known-ahead covariates of the steps it
    forecasts, so every one of the ``steps`` rows; otherwise (models saved
    before it did) only the rows that later windows read."""
    return steps if ahead else (math.ceil(steps / horizon) - 1) * horizon


def rollout(forecast, scaled, origins, steps: int, window: int, horizon: int, ids=None, ahead=(),
            floor=None) -> np.ndarray:
    """Scaled forecasts (len(origins), steps), each starting at row ``origin`` of ``scaled``.

    ``scaled`` is (m, C), or a list of such arrays, one per origin (many
    series); ``ids`` their series indices for an id embedding; ``ahead`` the
    columns of the known-ahead covariates the network reads for each step
    it forecasts (empty: none).  Only rows before an origin are read for
    the target, forecasts are fed back in, horizon values at a time;
    covariate rows after an origin are read as known future values.  Rows
    past a source's end are zeros: the step forecast from them lies beyond
    ``steps``, as the network reads the covariates of no later step than
    the one it forecasts.  ``floor`` (len(origins),): the least scaled value of each row's forecasts, applied
    before they are fed back (None: no floor).
    """
    W, H = window, horizon
    cols = list(ahead)
    origins = np.asarray(origins, dtype=int)
    sources = scaled if isinstance(scaled, list) else [scaled] * len(origins)
    blocks = math.ceil(steps / H)
    length = W + (blocks if cols else blocks - 1) * H
    buf = np.zeros((len(origins), length, sources[0].shape[1]))  # (N, W + blocks*H or W + (blocks-1)*H, C)
    for k, (src, o) in enumerate(zip(sources, origins.tolist())):
        rows = src[o - W : min(o - W + length, len(src))]
        buf[k, : len(rows)] = rows
    buf[:, W:, 0] = np.nan  # no actual value after an origin may be read
    ids = None if ids is None else np.asarray(ids, dtype=np.int64)
    out = np.empty((len(origins), blocks * H))  # (N, blocks*H)
    for b in range(blocks):
        with np.errstate(over="ignore"):  # beyond float32: inf, and the caller refuses the forecast
            x = np.ascontiguousarray(buf[:, b * H : b * H + W], dtype=np.float32)  # (N, W, C)
            known = np.ascontiguousarray(buf[:, b * H + W : (b + 1) * H + W][:, :, cols], dtype=np.float32) \
                if cols else None  # (N, H, A)
        pred = np.asarray(forecast(x, ids, known), dtype=np.float64)  # (N, H)
        if floor is not None:
            pred = np.maximum(pred, floor[:, None])
        out[:, b * H : (b + 1) * H] = pred
        if b < blocks - 1:
            buf[:, W + b * H : W + (b + 1) * H, 0] = pred
    return out[:, :steps]

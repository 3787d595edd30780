"""Forecast accuracy: MAE, RMSE, MAPE %, sMAPE % and MASE."""

from __future__ import annotations

import math

import numpy as np

METRICS = ("mae", "rmse", "mape", "smape", "mase")


def forecast_metrics(actual, forecast, insample=None, season: int = 1) -> dict:
    """MAE, RMSE, MAPE %, sMAPE % and MASE (scaled by the in-sample seasonal-naive error).

    MAPE skips zero actuals and MASE is NaN without enough in-sample values or
    when the in-sample series does not change.  A forecast that is not finite
    (a baseline whose fit failed), or no value to score, scores NaN on every
    metric, never 0; sMAPE is 0 only where both the actual values and the
    forecast are 0.
    """
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if not np.isfinite(f).all() or not a.size:
        return dict.fromkeys(METRICS, math.nan)
    err = f - a
    nz = a != 0
    denom = np.abs(a) + np.abs(f)
    ok = denom > 0
    mase = math.nan
    if insample is not None:
        y = np.asarray(insample, dtype=np.float64)
        if len(y) > season:
            scale = np.mean(np.abs(y[season:] - y[:-season]))
            if scale > 0:
                mase = float(np.mean(np.abs(err)) / scale)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100 * np.mean(np.abs(err[nz] / a[nz]))) if nz.any() else math.nan,
        "smape": float(100 * np.mean(2 * np.abs(err[ok]) / denom[ok])) if ok.any() else 0.0,
        "mase": mase,
    }


def interval_metrics(actual, lower, upper, level: float, insample=None, season: int = 1) -> dict:
    """Coverage %, mean width, Winkler (interval) score and MSIS of ``level`` % intervals.

    The Winkler score of one interval is its width plus 2/alpha times the
    distance by which the actual value falls outside it (alpha = 1 - level);
    MSIS divides its mean by the in-sample seasonal-naive error, as in M4.  No value to score: NaN on each.
    """
    a, lo, hi = (np.asarray(v, dtype=np.float64) for v in (actual, lower, upper))
    if not a.size:
        return dict.fromkeys(("coverage", "width", "winkler", "msis"), math.nan)
    alpha = 1 - level / 100
    width = hi - lo
    score = width + (2 / alpha) * (np.maximum(lo - a, 0) + np.maximum(a - hi, 0))
    msis = math.nan
    if insample is not None:
        y = np.asarray(insample, dtype=np.float64)
        if len(y) > season:
            scale = np.mean(np.abs(y[season:] - y[:-season]))
            if scale > 0:
                msis = float(np.mean(score) / scale)
    return {"coverage": float(100 * np.mean((a >= lo) & (a <= hi))), "width": float(np.mean(width)),
            "winkler": float(np.mean(score)), "msis": msis}


def mean_metrics(rows: list[dict], keys=METRICS) -> dict:
    """The mean of each metric over rows (series or origins), NaN values left out (a metric undefined there: MAPE
    of zero actual values, MASE of a constant history; a failed forecast is NaN on every metric)."""
    out = {}
    for key in keys:
        values = np.array([r[key] for r in rows if key in r], dtype=np.float64)
        values = values[np.isfinite(values)]
        out[key] = float(values.mean()) if values.size else math.nan
    return out

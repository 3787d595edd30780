"""Forecast accuracy: MAE, RMSE, MAPE %, sMAPE % and MASE."""

from __future__ import annotations

import math

import numpy as np

METRICS = ("mae", "rmse", "mape", "smape", "mase")


def forecast_metrics(actual, forecast, insample=None, season: int = 1) -> dict:
    """MAE, RMSE, MAPE %, sMAPE % and MASE (scaled by the in-sample seasonal-naive error).

    MAPE skips zero actuals and MASE is NaN without enough in-sample values or
    when the in-sample series does not change.
    """
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
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

"""Numeric-series forecasting on the shared recurrent core.

    table -> [log] -> Scaler -> windows -> Linear(in) -> RecurrentCore -> head -> un-scale -> forecast

| module | role |
|---|---|
| ``table`` | reading CSV files, pandas tables, dicts, arrays and lists into a checked :class:`Table` |
| ``dates`` | date labels: parsing, the increasing check, the dates of forecast rows |
| ``scaling`` | the :class:`Scaler`, the train / validation split, the sliding windows |
| ``net`` | :class:`SeriesNet` |
| ``task`` | :class:`ForecastTask`: what the shared training session needs |
| ``panel`` | many series in one long table (an id column): each series read and checked on its own |
| ``calendar`` | calendar inputs (month, day of week / month / year, hour) from the dates |
| ``static`` | static covariates: one number per series, checked, z-scored over the series, read at every step |
| ``state`` | :class:`SeriesState`: the scalers, training tails and calibration; scaling a table (no torch) |
| ``rollout`` | forecasts beyond the horizon, fed back in (no torch: any window forecaster) |
| ``predictor`` | predict / forecast / evaluate / backtest of a trained model (no torch; shared with the export) |
| ``forecaster`` | :class:`Forecaster`: fit / resume, and the torch network's window forecasts |
| ``infer`` | forecasts of every series in one roll-out, back in their units, with intervals |
| ``intervals`` | conformal prediction intervals from rolling-origin errors (``calibration`` fits them) |
| ``scoring`` | evaluate and backtest: metrics, baselines from the same histories, skill, interval scores |
| ``actuals`` | the cases to score from actual values given apart from the history (``evaluate --actuals``) |
| ``baselines`` | naive, seasonal naive, drift; ETS and Theta through statsmodels |
| ``storage`` | ``scaler.json``: the scalers of each series and the calibration |
| ``metrics`` | MAE, RMSE, MAPE, sMAPE, MASE; coverage, width, Winkler score, MSIS |
| ``plot`` | :func:`plot_forecast`, :func:`plot_backtest` |

Public names are imported lazily, so the torch-free modules (``table``,
``scaling``, ``state``, ``infer``, ...) can be used without importing torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Forecaster": "seqtext.series.forecaster",
    "ForecastTask": "seqtext.series.task",
    "SeriesNet": "seqtext.series.net",
    "SCALER_FILE": "seqtext.series.storage",
    "Scaler": "seqtext.series.scaling",
    "Table": "seqtext.series.table",
    "check_dates": "seqtext.series.dates",
    "forecast_dates": "seqtext.series.dates",
    "forecast_metrics": "seqtext.series.metrics",
    "future_dates": "seqtext.series.dates",
    "make_windows": "seqtext.series.scaling",
    "plot_backtest": "seqtext.series.plot",
    "plot_forecast": "seqtext.series.plot",
    "read_table": "seqtext.series.table",
    "split_point": "seqtext.series.scaling",
}

__all__ = sorted(k for k in _EXPORTS if k != "SCALER_FILE")


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqtext.series' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

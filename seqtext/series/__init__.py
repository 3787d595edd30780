"""Numeric-series forecasting on the shared recurrent core.

    table -> [log] -> Scaler -> windows -> Linear(in) -> RecurrentCore -> head -> un-scale -> forecast

| module | role |
|---|---|
| ``table`` | reading CSV files, pandas tables, dicts, arrays and lists into a checked :class:`Table` |
| ``dates`` | date labels: parsing, the increasing check, the dates of forecast rows |
| ``scaling`` | the :class:`Scaler`, the train / validation split, the sliding windows |
| ``net`` | :class:`SeriesNet` and the roll-out of forecasts beyond the horizon |
| ``task`` | :class:`ForecastTask`: what the shared training session needs |
| ``panel`` | many series in one long table (an id column): each series read and checked on its own |
| ``calendar`` | calendar inputs (month of year, day of week, hour of day) from the dates |
| ``forecaster`` | :class:`Forecaster`: fit / resume / predict / forecast / evaluate / backtest |
| ``infer`` | forecasts of every series in one roll-out, back in their units, with intervals |
| ``intervals`` | conformal prediction intervals from rolling-origin errors (``calibration`` fits them) |
| ``scoring`` | evaluate and backtest: metrics, baselines from the same histories, skill, interval scores |
| ``baselines`` | naive, seasonal naive, drift; ETS and Theta through statsmodels |
| ``storage`` | ``scaler.json``: the scalers of each series and the calibration |
| ``metrics`` | MAE, RMSE, MAPE, sMAPE, MASE; coverage, width, Winkler score, MSIS |
| ``plot`` | :func:`plot_forecast`, :func:`plot_backtest` |
"""

from seqtext import modeldir
from seqtext.series.dates import check_dates, forecast_dates, future_dates
from seqtext.series.forecaster import Forecaster
from seqtext.series.metrics import forecast_metrics
from seqtext.series.net import SeriesNet
from seqtext.series.plot import plot_backtest, plot_forecast
from seqtext.series.scaling import Scaler, make_windows, split_point
from seqtext.series.table import Table, read_table
from seqtext.series.task import SCALER_FILE, ForecastTask

modeldir.register("series", Forecaster, (SCALER_FILE,))

__all__ = [
    "Forecaster",
    "ForecastTask",
    "SeriesNet",
    "Scaler",
    "Table",
    "check_dates",
    "forecast_dates",
    "forecast_metrics",
    "future_dates",
    "make_windows",
    "plot_backtest",
    "plot_forecast",
    "read_table",
    "split_point",
]

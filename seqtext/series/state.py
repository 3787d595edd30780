"""What a trained forecaster knows besides its weights, and how it reads a table: no torch.

:class:`SeriesState` holds each series' scaler, the last window of each
training series, the input width and the interval calibration, and scales a
table as training did.  :class:`~seqtext.series.task.ForecastTask` is one
(the torch side adds training); the exported runtime
(:mod:`seqtext.export.seriesrun`) opens one from an exported directory, so
both forecast through the same code (:mod:`seqtext.series.infer`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqtext.series import calendar, seasonal, static, storage
from seqtext.series.intervals import Calibration
from seqtext.series.scaling import Scaler, check_transformable, scaler_of
from seqtext.series.table import Table


class SeriesState:
    """Scalers by series id (None for a single series), training tails, input width, calibration and the
    scaling of the static covariates."""

    def __init__(self, settings):
        self.settings = settings
        self.scalers: dict = {}  # series id (None for a single series) -> its Scaler
        self.tails: dict = {}  # series id -> the end of its training part (a window or more), for predict()
        self.inputs: int | None = None  # columns read at each step: target, covariates, calendar
        self.intervals: Calibration | None = None  # conformal calibration, when trained with calibrate
        # the calibration copy's: {id: (kind, transform)} of each series as the final model reads it
        self.readings: dict = {}
        self.static_scaler: Scaler | None = None  # z-score of the static covariates over the training series
        # whether the network reads the known-ahead covariates of the steps it forecasts (config.json's
        # "reads_ahead"): every model trained now; directories saved before it did not, and keep forecasting
        # as they did
        self.reads_ahead = True
        self.left_out: list = []  # ids of series too short to train on (config.json's data.left_out): not in the model

    @property
    def many(self) -> bool:
        return self.settings.series.id is not None

    @property
    def scaler(self) -> Scaler | None:
        return self.scalers.get(None) if not self.many else None

    @property
    def tail(self) -> dict | None:
        return self.tails.get(None) if not self.many else {"series": self.tails}

    @property
    def ahead_columns(self) -> list[int]:
        """The step-input columns the network reads for each step it forecasts: the known-ahead covariates
        (``features``) and the calendar inputs; never the past-only covariates nor the static ones.

        A step's input is ``[target, features, past_features, static, calendar]``."""
        series = self.settings.series
        if not self.reads_ahead or self.inputs is None:
            return []
        cols = list(range(1, 1 + len(series.features)))
        return cols + list(range(self.inputs - calendar.width(series.calendar), self.inputs))

    def scaler_for(self, key, table: Table, upto: int | None = None) -> Scaler:
        """The scaler of series ``key``; for a series not seen in training, one fitted on the first ``upto`` values
        of ``table`` (the values known at the forecast origin; default: every one it knows)."""
        if key in self.scalers:
            return self.scalers[key]
        known = table.n if upto is None else upto
        matrix = self.matrix(table, known, upto=known)
        return self.unfitted(key, matrix[:, 0]).fit(matrix)

    def unfitted(self, key, target) -> Scaler:
        """Series ``key``'s scaler before fitting: the reading given for it (the calibration copy takes the final
        model's), else the one ``log1p_troughs`` and the settings choose on its training ``target``."""
        reading = self.readings.get(key)
        return Scaler(*reading) if reading else scaler_of(self.settings.series, target)

    def matrix(self, table: Table, rows: int, upto: int | None = None) -> np.ndarray:
        """The first ``rows`` rows of target and covariates, unscaled (rows, 1 + F): unknown targets NaN, and with
        ``deseasonalize`` the target divided by its seasonal ratios, estimated from the first ``upto`` values
        (default: every one the table knows)."""
        target = _target(table, 0, rows, self.seasonal(table, rows, upto))
        features = np.zeros((rows, table.features.shape[1]))  # rows past the table's end: calendar inputs only
        features[: len(table.features)] = table.features[:rows]
        return np.column_stack([target, features])  # (rows, C)

    def scaled_target(self, table: Table, key, first: int, rows: int, ratios: np.ndarray | None,
                      upto: int | None = None) -> np.ndarray:
        """``rows`` rows of the target from row ``first``, scaled as :meth:`scale` does (``upto`` as there) but
        divided by ``ratios`` (rows,): a backtest origin's own seasonal ratios (None: the series keeps its values
        there)."""
        scaler = self.scaler_for(key, table, upto)
        return (scaler.forward_target(_target(table, first, rows, ratios)) - scaler.center[0]) / scaler.scale[0]

    def seasonal(self, table: Table, rows: int, upto: int | None = None) -> np.ndarray | None:
        """``deseasonalize``: the seasonal ratio of each of ``rows`` rows of ``table``, estimated from its first
        ``upto`` values (default: every one it knows); None when off, or where the series keeps its values."""
        period = self.settings.series.deseasonalize
        if not period:
            return None
        return seasonal.factors(table.target[: table.n if upto is None else upto], period, rows)

    def index_of(self, key) -> int:
        """The series index of an id for the embedding (-1: not seen in training)."""
        return list(self.scalers).index(key) if key in self.scalers else -1

    def scale(self, table: Table, rows: int, key=None, upto: int | None = None) -> np.ndarray:
        """The first ``rows`` rows of a table scaled as in training (``inputs`` columns; unknown targets NaN);
        ``upto``: the values known at the forecast origin (default: all the table's), which seasonal ratios, and the
        scaler of a series not seen in training, are estimated from."""
        check_transformable(table, self.settings.series.transform, self.settings.series.nonnegative,
                            trained=True)
        scaler = self.scaler_for(key, table, upto)
        if scaler.target_transform != self.settings.series.transform:  # this series' own: log1p_troughs chose it
            check_transformable(table, scaler.target_transform, trained=True, option="log1p_troughs")
        scaled = scaler.transform(self.matrix(table, rows, upto))
        names = self.settings.series.static_features
        if names:
            scaled = np.hstack([scaled, static.inputs(self.static_scaler, table, rows, names)])  # (rows, C + S)
        if self.settings.series.calendar:
            scaled = np.hstack([scaled, calendar.table_calendar(table, rows, self.settings.series.calendar)])
        return scaled

    def read_stored(self, directory: Path, config: dict) -> None:
        """The scalers, input width, tails, calibration and static scaling of a model (or exported) directory,
        checked."""
        self.scalers, self.inputs, self.tails, self.intervals, self.static_scaler = \
            storage.read_stored(directory, config, self)
        self.reads_ahead = bool(config.get("reads_ahead", False))  # absent: saved before the network read ahead
        self.left_out = list((config.get("data") or {}).get("left_out") or [])


def _target(table: Table, first: int, rows: int, ratios: np.ndarray | None) -> np.ndarray:
    """``rows`` target values of ``table`` from row ``first`` (NaN past the known ones), divided by ``ratios``
    (rows,) when given."""
    target = np.full(rows, np.nan)
    known = table.target[first : min(first + rows, table.n)]
    target[: len(known)] = known
    return target if ratios is None else target / ratios

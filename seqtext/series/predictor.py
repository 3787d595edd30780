"""The forecasting half of the user API, without torch: what a trained forecaster does with new data.

:class:`Predictor` is shared by :class:`~seqtext.series.forecaster.Forecaster`
(torch) and the exported forecaster of :mod:`seqtext.export.seriesrun`
(onnxruntime): read, predict, forecast, forecast_holdout, evaluate and
backtest call :mod:`seqtext.series.infer` and :mod:`seqtext.series.scoring`
the same way for both.  A subclass provides ``settings``, ``task`` (a
:class:`~seqtext.series.state.SeriesState`), ``_require_trained()`` and
``forecast_windows(x, ids, ahead)``: scaled windows (N, W, C) float32 (and
the known-ahead covariates of the horizon steps (N, horizon, A) or None) to
scaled forecasts (N, horizon).
"""

from __future__ import annotations

from seqtext.errors import ConfigError, whole_number
from seqtext.series import infer, scoring
from seqtext.series.dates import within
from seqtext.series.table import Table


class Predictor:
    """Forecasts, holdout forecasts, evaluation and backtests of a trained forecaster."""

    @property
    def scaler(self):
        """The scaler fitted on the training part (None before training, and for many series: ``scalers``)."""
        return self.task.scaler

    @property
    def scalers(self) -> dict:
        """Each series' scaler by id (the key None for a single series)."""
        return self.task.scalers

    @property
    def tail(self) -> dict | None:
        """The end of the training series (its last window; with deseasonalize, up to four periods): target values,
        covariates and dates ({"series": ...} for many)."""
        return self.task.tail

    # ---------------------------------------------------------------- inference

    def read(self, data=None, *, allow_future: bool = True) -> Table:
        """A single series' table with the columns this model was trained on (without data: the end of the
        training series); :meth:`read_series` for many."""
        return infer.read(self, data, allow_future=allow_future)[0][1]

    def read_series(self, data=None, *, allow_future: bool = True) -> list:
        """Every series of ``data`` as (id, Table) pairs (id None for a single series)."""
        return infer.read(self, data, allow_future=allow_future)

    def predict(self, steps: int | None = None, history=None, future=None, *, levels=None, fill=None):
        """The next ``steps`` values (default: the horizon) after ``history`` (default: the training series).

        Beyond the horizon the forecast is rolled out; a model with covariates
        then needs their future values (rows after the target's last value in
        ``history``, or a ``future`` table).  With ``levels`` (e.g. [80, 95])
        a calibrated model returns ``{"forecast", "lower_80", "upper_80", ...}``
        instead of the array.  A model of many series returns ``{id: ...}``, each id as text (the id 1 is
        ``'1'``).
        ``fill`` (default: the model's setting) interpolates gaps in ``history``.
        """
        items, results = infer.predict(self, steps, history, future, levels, fill=fill)
        out = {key: r if levels else r["forecast"] for (key, _), r in zip(items, results)}
        return out if self.settings.series.id is not None else out[None]

    def forecast(self, steps: int | None = None, history=None, future=None, *, levels=None,
                 fill=None) -> list[dict]:
        """:meth:`predict` as rows ``{"id"?, "step", "date"?, "forecast", "lower_L"?, "upper_L"?, "value"}``.

        Dates are the history's own beyond its last value (rows of future
        covariates), then its spacing extended (monthly, yearly, a fixed
        step); ``date`` is left out when they are not known.
        """
        return infer.as_rows(*infer.predict(self, steps, history, future, levels, fill=fill))

    # ---------------------------------------------------------------- scoring

    def forecast_holdout(self, data, holdout: int | None = None, *, one_step: bool = False, levels=None,
                         fill=None):
        """Forecast the last ``holdout`` values of ``data`` from the values before them, fitting nothing.

        ``one_step``: each value from all the actual values before it;
        otherwise one roll-out.  Returns the history, the actual values, the
        forecast (and interval bounds) as arrays and the date labels; a list
        of such dicts, with ``id``, for many series.  ``fill`` (default: the
        model's setting) interpolates gaps; ``actual`` is NaN where it did.
        """
        self._require_trained()
        cases = scoring.holdout_cases(self, data, holdout, fill=fill)[0]
        out, forecasts = [], scoring.model_forecasts(self, cases, one_step, () if levels is None else levels)
        for (key, table, origin, h), fc in zip(cases, forecasts):
            r = {"history": table.target[:origin], "actual": table.actual(origin, origin + h), **fc,
                 "dates": table.dates}
            out.append({"id": key, **r} if key is not None else r)
        return out if self.settings.series.id is not None else out[0]

    def seen_in_training(self, table: Table, origin: int, key=None) -> str | None:
        """The last date this model was trained on when row ``origin`` of a dated table (series ``key`` of many)
        lies within it, else None."""
        tail = self.task.tails.get(key) or {}
        trained = tail.get("dates")
        if not trained or table.dates is None or origin >= len(table.dates):
            return None
        return trained[-1] if within(table.dates[origin], trained[-1]) else None

    def evaluate(self, data, holdout: int | None = None, *, one_step: bool = False, season: int | None = None,
                 baselines=(), levels=None, actuals=None, fill=None) -> dict:
        """MAE, RMSE, MAPE %, sMAPE % and MASE on the last ``holdout`` values of ``data`` (default: horizon).

        One roll-out of ``holdout`` steps from the values before them, or with
        ``one_step`` a one-step-ahead forecast of each; ``actuals`` instead
        scores the values of another table (the rows after ``data``).  MASE
        is scaled by the seasonal-naive error (period ``season``; default
        None: from the dates, as the CLI's, 1 without dates) of the values
        before them.  ``baselines`` (names of :mod:`seqtext.series.baselines`,
        or "all"; default none, where the CLI scores all) are scored on the
        same values, with the skill over seasonal naive; ``levels`` scores the
        intervals.  ``fill`` (default: the model's setting) interpolates gaps
        to forecast from; the values it made up are not scored.  Many series:
        the means over the series, and ``results``.
        """
        self._require_trained()
        return scoring.evaluate(self, data, holdout, one_step=one_step, season=season, baselines=baselines,
                                levels=levels, actuals=actuals, fill=fill)

    def backtest(self, data, start: int | None = None, steps: int | None = None, stride: int = 1,
                 season: int | None = None, *, baselines=(), levels=None, fill=None, refit: int = 0,
                 train_length: int | None = None) -> dict:
        """Forecasts of ``steps`` values (default: horizon) from rolling origins, fitting nothing.

        Origins run from ``start`` (default: the middle of the series, at
        least one window in) to the last one with ``steps`` actual values
        after it, every ``stride`` rows.  Returns the mean of each metric over
        the origins and, per origin, its forecast, actual values and metrics
        (with ``season``, ``baselines``, ``levels`` and ``fill`` as in
        :meth:`evaluate`).  ``refit`` (and ``train_length``) need the training
        code: the torch ``Forecaster``'s, not an exported model.
        """
        if whole_number("refit", refit, minimum=0) or train_length is not None:
            raise ConfigError("an exported model cannot be trained again, so it cannot refit; backtest with {refit} "
                              "on the model directory it was exported from.", params=["refit"])
        self._require_trained()
        return scoring.backtest(self, data, start, steps, stride, season, baselines=baselines, levels=levels,
                                fill=fill)

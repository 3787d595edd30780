"""``Forecaster``: the user API for numeric series.

fit / resume / predict / forecast / evaluate / backtest / save / load, on a
list of numbers, a numpy array, a pandas table, a dict of columns or a CSV
file, with optional covariate columns, a date column that labels the
forecasts, and an id column for a long table of many series (one global
model).  Training, saving and loading are the shared ones of
:class:`seqtext.model.Model`; the forecasting lives in
:mod:`seqtext.series.infer` (forecasts and intervals) and
:mod:`seqtext.series.scoring` (evaluate, backtest, baselines), which the
methods here call.
"""

from __future__ import annotations

from seqtext import distributed
from seqtext.errors import whole_number
from seqtext.model import Model
from seqtext.series import infer, scoring
from seqtext.series.dates import within
from seqtext.series.calibration import calibrate, calibration_values
from seqtext.series.table import Table
from seqtext.series.task import ForecastTask

check_history = infer.check_history  # the public name it had before the split


class Forecaster(Model):
    """Forecast a numeric series (and optional covariates) with the shared recurrent core.

    ``Forecaster(**options)``: the options of :class:`seqtext.config.SeriesSettings`
    (window, horizon, hidden, epochs, ...), validated at once.

    >>> f = Forecaster(window=3).fit(range(10, 210, 10))   # doctest: +SKIP
    >>> f.predict(history=[70, 80, 90])                     # doctest: +SKIP
    array([100.1])
    """

    task_class = ForecastTask
    # a save (fsynced files) costs about as much as a series epoch: saving after every one doubled
    # airline's training time, so a checkpoint directory is written at most every 2 s
    save_interval = 2.0

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
        """The last window of the training series: target values, covariates and dates ({"series": ...} for many)."""
        return self.task.tail

    # ------------------------------------------------------------------ training

    def fit(self, data, target=None, features=None, date=None, *, id=None, holdout: int = 0, checkpoint_dir=None,
            callback=None) -> "Forecaster":
        """Train on a series (values, array, pandas table, dict of columns or CSV path); returns self.

        ``target``, ``features`` (covariates), ``date`` (checked to increase;
        labels forecasts) and ``id`` (a long table of many series) name
        columns, replacing those options when given.  ``holdout`` leaves the
        last values (of each series) out, for ``evaluate(data, holdout)``.
        A copy is first trained without the last ``calibrate`` values
        (by default about a season or the horizon, when the series are long
        enough; 0: none) to calibrate prediction intervals.
        ``checkpoint_dir`` saves the model after every epoch and on Ctrl-C
        (to :meth:`resume`); ``callback(model, metrics)`` is called after
        every epoch.
        """
        features = list(features) if isinstance(features, tuple) else features
        columns = {k: v for k, v in (("target", target), ("features", features), ("date", date), ("id", id))
                   if v is not None}
        if columns:
            self.task.settings = self.settings.replace(**columns)
        holdout = whole_number("holdout", holdout, minimum=0)
        values = calibration_values(self, data, holdout)
        self.task.settings = self.settings.replace(calibrate=values)  # config.json records what was done
        self.task.intervals = None
        self._fit({"series": data, "holdout": holdout}, checkpoint_dir, callback)
        return self._calibrate(data, holdout, checkpoint_dir)

    def _calibrate(self, data, holdout: int, checkpoint_dir) -> "Forecaster":
        """After the (resumable) fit: the calibration copy's errors, in this model's scaled units, saved too.

        Ctrl-C here leaves the trained model, saved, without intervals."""
        values = self.settings.series.calibrate
        if values and self.task.intervals is None:
            self.task.intervals = calibrate(self, data, holdout, values).in_scaled_units(self.task.scalers)
            if checkpoint_dir is not None and distributed.is_main():
                self.save(checkpoint_dir)
        return self

    @classmethod
    def resume(cls, path, data=None, *, epochs: int | None = None, patience: int | None = None,
               progress: bool = False, checkpoint_dir=None) -> "Forecaster":
        """Continue an interrupted (or finished) training from its model directory.

        The series is read again from the CSV file recorded in ``config.json``
        (with the same holdout) unless ``data`` gives it; ``epochs`` and
        ``patience`` may raise the limits.  On CPU the result is
        bit-identical to a training that was never interrupted.
        """
        model = super().resume(path, None if data is None else {"series": data}, epochs=epochs, patience=patience,
                               progress=progress, checkpoint_dir=checkpoint_dir)
        recorded = model.task.recorded_data(path) if data is None else \
            {"series": data, "holdout": model.task.data.get("holdout", 0)}
        return model._calibrate(recorded["series"], recorded["holdout"], checkpoint_dir)

    # ---------------------------------------------------------------- inference

    def read(self, data=None, *, allow_future: bool = True) -> Table:
        """A single series' table with the columns this model was trained on (without data: the end of the
        training series); :meth:`read_series` for many."""
        return infer.read(self, data, allow_future=allow_future)[0][1]

    def read_series(self, data=None, *, allow_future: bool = True) -> list:
        """Every series of ``data`` as (id, Table) pairs (id None for a single series)."""
        return infer.read(self, data, allow_future=allow_future)

    def predict(self, steps: int | None = None, history=None, future=None, *, levels=None):
        """The next ``steps`` values (default: the horizon) after ``history`` (default: the training series).

        Beyond the horizon the forecast is rolled out; a model with covariates
        then needs their future values (rows after the target's last value in
        ``history``, or a ``future`` table).  With ``levels`` (e.g. [80, 95])
        a calibrated model returns ``{"value", "lower_80", "upper_80", ...}``
        instead of the array.  A model of many series returns ``{id: ...}``.
        """
        items, results = infer.predict(self, steps, history, future, levels)
        out = {key: r if levels else r["value"] for (key, _), r in zip(items, results)}
        return out if self.settings.series.id is not None else out[None]

    def forecast(self, steps: int | None = None, history=None, future=None, *, levels=None) -> list[dict]:
        """:meth:`predict` as rows ``{"id"?, "step", "date"?, "value", "lower_L"?, "upper_L"?}``.

        Dates are the history's own beyond its last value (rows of future
        covariates), then its spacing extended (monthly, yearly, a fixed
        step); ``date`` is left out when they are not known.
        """
        return infer.as_rows(*infer.predict(self, steps, history, future, levels))

    # ---------------------------------------------------------------- scoring

    def forecast_holdout(self, data, holdout: int | None = None, *, one_step: bool = False, levels=None):
        """Forecast the last ``holdout`` values of ``data`` from the values before them, fitting nothing.

        ``one_step``: each value from all the actual values before it;
        otherwise one roll-out.  Returns the history, the actual values, the
        forecast (and interval bounds) as arrays and the date labels; a list
        of such dicts, with ``id``, for many series.
        """
        self._require_trained()
        cases = scoring.holdout_cases(self, data, holdout)[0]
        out = []
        for (key, table, origin, h), fc in zip(cases, scoring.model_forecasts(self, cases, one_step, levels or ())):
            r = {"history": table.target[:origin], "actual": table.target[origin : origin + h],
                 "forecast": fc.pop("value"), **fc, "dates": table.dates}
            out.append({"id": key, **r} if key is not None else r)
        return out if self.settings.series.id is not None else out[0]

    def seen_in_training(self, table: Table, origin: int) -> bool:
        """Whether row ``origin`` of a dated table lies within the dates this model was trained on."""
        tails = self.task.tails
        trained = (tails.get(None) or {}).get("dates") if len(tails) == 1 else None
        if not trained or table.dates is None or origin >= len(table.dates):
            return False
        return within(table.dates[origin], trained[-1])

    def evaluate(self, data, holdout: int | None = None, *, one_step: bool = False, season: int | None = 1,
                 baselines=(), levels=None, actuals=None) -> dict:
        """MAE, RMSE, MAPE %, sMAPE % and MASE on the last ``holdout`` values of ``data`` (default: horizon).

        One roll-out of ``holdout`` steps from the values before them, or with
        ``one_step`` a one-step-ahead forecast of each; ``actuals`` instead
        scores the values of another table (the rows after ``data``).  MASE
        is scaled by the seasonal-naive error (period ``season``; None: from
        the dates) of the values before them.  ``baselines`` (names of
        :mod:`seqtext.series.baselines`, or "all") are scored on the same
        values, with the skill over seasonal naive; ``levels`` scores the
        intervals.  Many series: the means over the series, and ``results``.
        """
        self._require_trained()
        return scoring.evaluate(self, data, holdout, one_step=one_step, season=season, baselines=baselines,
                                levels=levels, actuals=actuals)

    def backtest(self, data, start: int | None = None, steps: int | None = None, stride: int = 1,
                 season: int | None = 1, *, baselines=(), levels=None) -> dict:
        """Forecasts of ``steps`` values (default: horizon) from rolling origins, fitting nothing.

        Origins run from ``start`` (default: the middle of the series, at
        least one window in) to the last one with ``steps`` actual values
        after it, every ``stride`` rows.  Returns the mean of each metric over
        the origins and, per origin, its forecast, actual values and metrics
        (with ``baselines`` and ``levels`` as in :meth:`evaluate`).
        """
        self._require_trained()
        return scoring.backtest(self, data, start, steps, stride, season, baselines=baselines, levels=levels)

"""``Forecaster``: the user API for numeric series.

fit / resume / predict / forecast / evaluate / backtest / save / load, on a
list of numbers, a numpy array, a pandas table, a dict of columns or a CSV
file, with optional covariate columns and a date column that labels the
forecasts.  Training, saving and loading are the shared ones of
:class:`seqtext.model.Model`; this class adds what a forecaster does with a
trained network.
"""

from __future__ import annotations

import numpy as np

from seqtext.errors import DataError, whole_number
from seqtext.model import Model
from seqtext.series.dates import forecast_dates, within
from seqtext.series.metrics import METRICS, forecast_metrics
from seqtext.series.net import needed_rows, rollout
from seqtext.series.table import Table, read_columns, tail_table, with_future
from seqtext.series.task import ForecastTask


def check_history(table: Table, cfg, steps: int, origin: int | None = None) -> None:
    """A history long enough for one window before ``origin`` (default: its end), with the covariates a
    roll-out of ``steps`` reads after it."""
    origin = table.n if origin is None else origin
    if origin < cfg.window:
        raise DataError(f"the history has {origin} values but the model reads windows of {cfg.window}; "
                        f"give at least {cfg.window} values.")
    need, have = needed_rows(steps, cfg.horizon), len(table.features) - origin
    if cfg.features and have < need:
        raise DataError(
            f"forecasting {steps} steps with horizon {cfg.horizon} needs the covariates "
            f"{', '.join(map(str, cfg.features))} for the next {need} steps but {have} were given; "
            "add them as rows after the last target value or pass future=."
        )


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
        """The scaler fitted on the training part (None before training)."""
        return self.task.scaler

    @property
    def tail(self) -> dict | None:
        """The last window of the training series: target values, covariates and dates."""
        return self.task.tail

    # ------------------------------------------------------------------ training

    def fit(self, data, target=None, features=None, date=None, *, holdout: int = 0, checkpoint_dir=None,
            callback=None) -> "Forecaster":
        """Train on a series (values, array, pandas table, dict of columns or CSV path); returns self.

        ``target``, ``features`` (covariates) and ``date`` (checked to increase;
        labels forecasts) name columns, replacing those options when given.
        ``holdout`` leaves the last values out, for ``evaluate(data, holdout)``.
        ``checkpoint_dir`` saves the model after every epoch and on Ctrl-C (to
        :meth:`resume`); ``callback(model, metrics)`` is called after every epoch.
        """
        features = list(features) if isinstance(features, tuple) else features
        columns = {k: v for k, v in (("target", target), ("features", features), ("date", date)) if v is not None}
        if columns:
            self.task.settings = self.settings.replace(**columns)
        holdout = whole_number("holdout", holdout, minimum=0)
        return self._fit({"series": data, "holdout": holdout}, checkpoint_dir, callback)

    @classmethod
    def resume(cls, path, data=None, *, epochs: int | None = None, patience: int | None = None,
               progress: bool = False, checkpoint_dir=None) -> "Forecaster":
        """Continue an interrupted (or finished) training from its model directory.

        The series is read again from the CSV file recorded in ``config.json``
        (with the same holdout) unless ``data`` gives it; ``epochs`` and
        ``patience`` may raise the limits.  On CPU the result is
        bit-identical to a training that was never interrupted.
        """
        return super().resume(path, None if data is None else {"series": data}, epochs=epochs, patience=patience,
                              progress=progress, checkpoint_dir=checkpoint_dir)

    # ---------------------------------------------------------------- inference

    def read(self, data=None, *, allow_future: bool = True) -> Table:
        """Read a table with the columns this model was trained on (see :func:`read_table`).

        Without ``data``, the end of the training series (one window of it).
        """
        self._require_trained()
        if data is None:
            return tail_table(self.tail, self.settings.series)
        return read_columns(data, self.settings.series, allow_future=allow_future)

    def predict(self, steps: int | None = None, history=None, future=None) -> np.ndarray:
        """The next ``steps`` values (default: the horizon) after ``history`` (default: the training series).

        Beyond the horizon the forecast is rolled out.  A model with
        covariates then needs their future values: rows after the target's
        last value in ``history``, or a ``future`` table of covariates.
        """
        return self._predict(steps, self.read(history), future)[1]

    def forecast(self, steps: int | None = None, history=None, future=None) -> list[dict]:
        """:meth:`predict` as rows ``{"step", "date", "value"}``, dated when the series has a date column.

        The dates are the history's own beyond its last value (rows of future
        covariates), then its spacing extended (monthly, yearly, a fixed
        step); ``date`` is left out when they are not known.
        """
        table = self.read(history)
        table, values = self._predict(steps, table, future)
        dates = forecast_dates(table, len(values))
        return [{"step": k + 1, **({"date": dates[k]} if dates else {}), "value": float(v)}
                for k, v in enumerate(values)]

    def _predict(self, steps, table: Table, future) -> tuple[Table, np.ndarray]:
        self._require_trained()
        cfg = self.settings.series
        steps = cfg.horizon if steps is None else whole_number("steps", steps)
        if future is not None:
            table = with_future(table, future, cfg)
        check_history(table, cfg, steps)
        rows = table.n + (needed_rows(steps, cfg.horizon) if cfg.features else 0)
        return table, self._forecasts(table, rows, [table.n], steps)[0]  # (steps,)

    def _forecasts(self, table: Table, rows: int, origins, steps: int) -> np.ndarray:
        """Forecasts (len(origins), steps), in the series' units, from the first ``rows`` rows of ``table``."""
        cfg = self.settings.series
        scaled = rollout(self.net, self.task.scale(table, rows), origins, steps, cfg.window, cfg.horizon, self.device)
        return self.scaler.inverse_target(scaled)

    # ---------------------------------------------------------------- scoring

    def forecast_holdout(self, data, holdout: int | None = None, *, one_step: bool = False) -> dict:
        """Forecast the last ``holdout`` values of ``data`` from the values before them, fitting nothing.

        ``one_step``: each value from all the actual values before it;
        otherwise one roll-out of ``holdout`` steps.  Returns the history,
        the actual values and the forecast (arrays) and the date labels.
        """
        self._require_trained()
        cfg = self.settings.series
        table = self.read(data, allow_future=False)
        holdout = cfg.horizon if holdout is None else whole_number("holdout", holdout)
        n = table.n
        if n - holdout < cfg.window:
            raise DataError(f"the series has {n} values; holding out {holdout} leaves fewer than the window of "
                            f"{cfg.window} to forecast from; give a longer series or a smaller {{holdout}}.",
                            params=["holdout"])
        origin = n - holdout
        check_history(table, cfg, 1 if one_step else holdout, origin)
        if one_step:
            forecast = self._forecasts(table, n, np.arange(origin, n), 1)[:, 0]  # (holdout,)
        else:
            forecast = self._forecasts(table, n, [origin], holdout)[0]  # (holdout,)
        return {"history": table.target[:origin], "actual": table.target[origin:], "forecast": forecast,
                "dates": table.dates}

    def seen_in_training(self, table: Table, origin: int) -> bool:
        """Whether row ``origin`` of a dated table lies within the dates this model was trained on."""
        trained = (self.tail or {}).get("dates")
        if not trained or table.dates is None or origin >= len(table.dates):
            return False
        return within(table.dates[origin], trained[-1])

    def evaluate(self, data, holdout: int | None = None, *, one_step: bool = False, season: int = 1) -> dict:
        """MAE, RMSE, MAPE %, sMAPE % and MASE on the last ``holdout`` values of ``data`` (default: horizon).

        One roll-out of ``holdout`` steps from the values before them, or with
        ``one_step`` a one-step-ahead forecast of each.  MASE is scaled by the
        seasonal-naive error (period ``season``) of the values before them.
        """
        season = whole_number("season", season)
        r = self.forecast_holdout(data, holdout, one_step=one_step)
        metrics = forecast_metrics(r["actual"], r["forecast"], r["history"], season)
        metrics.update(holdout=len(r["actual"]), mode="one_step" if one_step else "rollout")
        return metrics

    def backtest(self, data, start: int | None = None, steps: int | None = None, stride: int = 1,
                 season: int = 1) -> dict:
        """Forecasts of ``steps`` values (default: horizon) from rolling origins, fitting nothing.

        Origins run from ``start`` (default: the middle of the series, at
        least one window in) to the last one with ``steps`` actual values
        after it, every ``stride`` rows.  Returns the mean of each metric over
        the origins and, per origin, its forecast, actual values and metrics.
        """
        self._require_trained()
        cfg = self.settings.series
        steps = cfg.horizon if steps is None else whole_number("steps", steps)
        stride, season = whole_number("stride", stride), whole_number("season", season)
        table = self.read(data, allow_future=False)
        n = table.n
        start = max(cfg.window, n // 2) if start is None else int(start)
        last = n - steps
        if start < cfg.window or start > last:
            raise DataError(f"backtest origins must lie between {cfg.window} (one window in) and {last} (leaving "
                            f"{steps} values to compare), got {{start}} {start}; choose another {{start}} or fewer "
                            "{steps}.", params=["start", "steps"])
        origins = np.arange(start, last + 1, stride)
        forecasts = self._forecasts(table, n, origins, steps)  # (N, steps)
        rows = []
        for o, f in zip(origins.tolist(), forecasts):
            actual = table.target[o : o + steps]
            row = {"origin": o, "forecast": f.tolist(), "actual": actual.tolist()}
            if table.dates is not None:
                row["date"] = table.dates[o]
            row.update(forecast_metrics(actual, f, table.target[:o], season))
            rows.append(row)
        summary = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
        summary.update(origins=len(rows), steps=steps, results=rows)
        return summary

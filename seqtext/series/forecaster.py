"""``Forecaster``: the user API for numeric series.

fit / resume / predict / forecast / evaluate / backtest / save / load, on a
list of numbers, a numpy array, a pandas table, a dict of columns or a CSV
file, with optional covariate columns, a date column that labels the
forecasts, and an id column for a long table of many series (one global
model).  Training, saving and loading are the shared ones of
:class:`seqtext.model.Model`; predict, forecast, evaluate and backtest are
:class:`seqtext.series.predictor.Predictor`'s, which the exported
(onnxruntime) forecaster shares; they call :mod:`seqtext.series.infer`
(forecasts and intervals) and :mod:`seqtext.series.scoring` (evaluate,
backtest, baselines).  Only :meth:`Forecaster.forecast_windows` runs torch.
"""

from __future__ import annotations

import warnings

from seqtext import distributed, modeldir
from seqtext.errors import ConfigError, DataError, counted, first_line, warn, whole_number
from seqtext.model import Model, fresh_fit
from seqtext.series import infer
from seqtext.series.calibration import calibrate, calibration_values, check_calibration
from seqtext.series.panel import read_series
from seqtext.series.predictor import Predictor
from seqtext.series.task import SCALER_FILE, ForecastTask

check_history = infer.check_history  # the public name it had before the split


class Forecaster(Predictor, Model):
    """Forecast a numeric series (and optional covariates) with the shared recurrent core.

    ``Forecaster(**options)``: the options of :class:`seqtext.SeriesSettings`
    (window, horizon, hidden, epochs, ...), validated at once.

    >>> f = Forecaster(window=3).fit(range(10, 210, 10))   # doctest: +SKIP
    >>> f.predict(history=[70, 80, 90])                     # doctest: +SKIP
    array([99.98])
    """

    task_class = ForecastTask
    # a save (fsynced files) costs about as much as a series epoch: saving after every one doubled
    # airline's training time, so a checkpoint directory is written at most every 2 s
    save_interval = 2.0

    # ------------------------------------------------------------------ training

    @fresh_fit
    def fit(self, data, target=None, features=None, date=None, *, id=None, holdout: int = 0, checkpoint_dir=None,
            callback=None) -> "Forecaster":
        """Train on a series (values, array, pandas table, dict of columns or CSV path); returns self.

        ``target``, ``features`` (covariates), ``date`` (checked to increase;
        labels forecasts) and ``id`` (a long table of many series) name
        columns, replacing those options for this fit when given (a later fit starts again from the options
        the model was made with; on a list of values, ``target`` names the series).  ``holdout`` leaves the
        last values (of each series) out, for ``evaluate(data, holdout)``.
        A copy is then trained without the last ``calibrate`` values
        (by default about a season or the horizon, when the series are long
        enough; 0: none) to calibrate prediction intervals.
        ``checkpoint_dir`` saves the model after an epoch (at most every 2 s) and on Ctrl-C
        (to :meth:`resume`); ``callback(model, metrics)`` is called after
        every epoch.
        """
        features = list(features) if isinstance(features, tuple) else features
        columns = {k: v for k, v in (("target", target), ("features", features), ("date", date), ("id", id))
                   if v is not None}
        if columns:  # this fit's: the next one starts again from the options as given (fresh_fit)
            self.task.settings = self.settings.replace(**columns)
        holdout = whole_number("holdout", holdout, minimum=0)
        # read once for both (not at all for calibrate=0, the calibration copy's own fit); the fit reads its own
        items = read_series(data, self.settings.series) if self.settings.series.calibrate != 0 else None
        values, shortfall = calibration_values(self, items, holdout)
        check_calibration(self, items, holdout, values)  # before the fit writes a model directory
        self.task.settings = self.settings.replace(calibrate=values)  # config.json records what was done
        self.task.intervals = None
        self._fit({"series": data, "holdout": holdout}, checkpoint_dir, callback)
        if shortfall:  # said once the fit went through, not before one of its errors
            warnings.warn(shortfall, stacklevel=3)  # the caller's line, past fresh_fit's wrapper
        return self._calibrate(data, holdout, checkpoint_dir)

    def _calibrate(self, data, holdout: int, checkpoint_dir) -> "Forecaster":
        """After the (resumable) fit: the calibration copy's errors, in this model's scaled units, saved too.

        Ctrl-C here leaves the trained model, saved, without intervals; :meth:`resume` calibrates them."""
        values = self.settings.series.calibrate
        if values and self.task.intervals is None:
            try:
                self.task.intervals = calibrate(self, data, holdout, values)
            except KeyboardInterrupt:
                saved = checkpoint_dir is not None and distributed.is_main()
                if saved:
                    self.save(checkpoint_dir)
                then = "resume it to calibrate them" if saved else "fit it again for intervals"
                raise KeyboardInterrupt("without prediction intervals (calibrating them on the last "
                                        f"{counted(values, 'value')} was interrupted); {then}") from None
            except DataError as exc:  # the model is trained and saved: keep it, without intervals, and say why
                self.task.settings = self.settings.replace(calibrate=0)
                warn("no prediction intervals: the calibration copy, trained without the last "
                     f"{counted(values, 'value')} of each series, could not be fitted "
                     f"({first_line(exc).rstrip('.')}); the model is saved without them; "
                     "give another {calibrate} N for intervals.", params=["calibrate"])
            if checkpoint_dir is not None and distributed.is_main():
                self.save(checkpoint_dir)
        return self

    @classmethod
    def resume(cls, path, data=None, *, epochs: int | None = None, patience: int | None = None,
               device: str | None = None, progress: bool = False, checkpoint_dir=None) -> "Forecaster":
        """Continue an interrupted (or finished) training from its model directory.

        The series is read again from the CSV file recorded in ``config.json``
        (with the same holdout) unless ``data`` gives it; ``epochs`` and
        ``patience`` may raise the limits, ``device`` moves it.  On CPU the result is
        bit-identical to a training that was never interrupted.  The intervals are
        calibrated again at the end, on a copy trained with the settings resumed; a
        finished training whose calibration was interrupted is only calibrated.
        """
        model = _uncalibrated(cls, path, device) if epochs is None and patience is None else None
        trains = model is None
        if trains:
            model = super().resume(path, None if data is None else {"series": data}, epochs=epochs,
                                   patience=patience, device=device, progress=progress, checkpoint_dir=checkpoint_dir)
        recorded = model.task.recorded_data(path) if data is None else \
            {"series": data, "holdout": model.task.data.get("holdout", 0)}
        if not trains:  # calibrated only, on the data it trained on: checked as a resumed training checks it
            model.progress = progress
            model.task.prepare(recorded, fresh=False)
        return model._calibrate(recorded["series"], recorded["holdout"], checkpoint_dir)

    def backtest(self, data, start: int | None = None, steps: int | None = None, stride: int = 1,
                 season: int | None = None, *, baselines=(), levels=None, fill=None, refit: int = 0,
                 train_length: int | None = None) -> dict:
        """Forecasts from rolling origins, scored (see :meth:`Predictor.backtest`); with ``refit`` N, a fresh
        model of these settings is trained on the values before the first origin and again every N origins, and
        each forecast comes from the latest one (:mod:`seqtext.series.refit`); the summary's ``refits`` counts
        them.  ``train_length`` L: each refit trains on the last L values of each series before it (a sliding
        window; default: all of them).  This model is left as it was."""
        length = _checked_length(train_length, refit)
        if not whole_number("refit", refit, minimum=0):
            return super().backtest(data, start, steps, stride, season, baselines=baselines, levels=levels,
                                    fill=fill)
        from seqtext.series import refit as refitting

        self._require_trained()
        return refitting.backtest(self, data, start, steps, stride, season, baselines=baselines, levels=levels,
                                  fill=fill, every=refit, length=length)

    def forecast_windows(self, x, ids=None, ahead=None):
        """Scaled windows (N, W, C) (series indices (N,) for an id embedding; the known-ahead covariates of the
        horizon steps (N, horizon, A) for a network that reads them) -> scaled forecasts (N, horizon)."""
        import torch

        self.net.eval()
        with torch.inference_mode():
            ids = None if ids is None else torch.as_tensor(ids, dtype=torch.long, device=self.device)
            ahead = None if ahead is None else torch.as_tensor(ahead, dtype=torch.float32, device=self.device)
            out = self.net(torch.as_tensor(x, dtype=torch.float32, device=self.device), ids=ids, ahead=ahead)[0]
        return out.double().cpu().numpy()  # (N, H)


modeldir.register("series", Forecaster, (SCALER_FILE,))


def _uncalibrated(cls, path, device) -> Forecaster | None:
    """The model in ``path`` when its training finished and calibrating its intervals was interrupted (it records
    ``calibrate`` N and holds none): a resume calibrates it, and trains nothing.  Else None."""
    config = modeldir.read_config(modeldir.as_path(path))
    if not (config.get("summary") or {}).get("finished") or not (config.get("series") or {}).get("calibrate"):
        return None
    model = cls.load(path)
    if model.task.intervals is not None:
        return None
    if device is not None:
        model.settings.train.device = device  # the calibration copy's, checked as a resumed training's is
        model.settings.train.validate()
    return model


def _checked_length(train_length, refit) -> int | None:
    """``train_length`` checked: a whole number of 1 or more, given only with ``refit``."""
    if train_length is None:
        return None
    length = whole_number("train_length", train_length, minimum=1)
    if not whole_number("refit", refit, minimum=0):
        raise ConfigError("{train_length} sets what each refit trains on, and nothing is refitted; give {refit} N "
                          "too, or leave {train_length} out.", params=["train_length", "refit"])
    return length

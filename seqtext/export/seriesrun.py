"""OnnxForecaster: an exported forecaster on numpy and onnxruntime, without torch.

The same :class:`~seqtext.series.predictor.Predictor` as the torch
:class:`~seqtext.series.forecaster.Forecaster` (predict, forecast,
forecast_holdout, evaluate, backtest): the history is read, scaled, cut
into windows and rolled out beyond the horizon, and the forecasts are put
back in the series' units, with conformal intervals when the model was
calibrated, by the very code the torch model runs.  Only the window
forecast differs: ``forecast.onnx`` instead of ``SeriesNet``.
"""

from __future__ import annotations

import numpy as np

from seqtext.config import SeriesSettings
from seqtext.errors import CheckpointError
from seqtext.export import check_inputs, model_config, model_settings
from seqtext.series.predictor import Predictor
from seqtext.series.state import SeriesState


class OnnxForecaster(Predictor):
    """An exported series model: its settings, scalers, training tails and calibration, and the forecast graph."""

    kind = "series"

    def __init__(self, path, manifest: dict, session):
        self.path, self.manifest, self.session = path, manifest, session
        self.config = model_config(path)
        self.task = SeriesState(model_settings(path, SeriesSettings))
        try:
            self.task.read_stored(path, self.config)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path / 'model_config.json'} is inconsistent ({exc}); export the model "
                                  "again.") from None
        self.window, self.horizon = int(manifest["window"]), int(manifest["horizon"])
        self.inputs = int(manifest["inputs"])
        self.takes_ids = bool(manifest.get("ids", False))
        self.takes_ahead = bool(manifest.get("ahead"))  # the graph reads the known-ahead covariates
        check_inputs(session, ["x"] + ["ids"] * self.takes_ids + ["ahead"] * self.takes_ahead, path)
        if manifest.get("ahead", []) != self.task.ahead_columns:
            raise CheckpointError(f"{path / 'export.json'} does not match model_config.json (the known-ahead "
                                  "covariates); export the model again.")

    @property
    def settings(self):
        """The model's options, by section (``model.settings.series.window``)."""
        return self.task.settings

    def _require_trained(self) -> None:
        """An exported model is always trained."""

    def forecast_windows(self, x, ids=None, ahead=None) -> np.ndarray:
        """Scaled windows (N, W, C) (series indices (N,) for an id embedding; the known-ahead covariates of the
        horizon steps (N, horizon, A) for a graph that reads them) -> scaled forecasts (N, horizon)."""
        feeds = {"x": np.asarray(x, dtype=np.float32)}
        if self.takes_ids:
            feeds["ids"] = np.asarray(ids if ids is not None else np.full(len(feeds["x"]), -1), dtype=np.int64)
        if self.takes_ahead:
            feeds["ahead"] = np.asarray(ahead, dtype=np.float32)
        return self.session.run(None, feeds)[0].astype(np.float64)  # (N, H)

"""The forecasting task: what the shared session needs to train a SeriesNet.

    table -> [log] -> Scaler -> windows -> SeriesNet -> mean squared error on the next ``horizon`` values

``prepare`` reads the table (leaving out its last ``holdout`` values), fits
the scaler on the training part when the training is fresh (a resume keeps
the stored one), and cuts the windows; the session draws shuffled batches of
them, each rank its share under ``torchrun``.  The model directory keeps the
scaler (``scaler.json``) and, in ``config.json``, the input width, the last
window of the training series and where that series came from, so a resume
can read it again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from seqtext import distributed, modeldir
from seqtext.config import SeriesSettings
from seqtext.errors import CheckpointError, ConfigError, DataError
from seqtext.model import Task
from seqtext.series.net import SeriesNet
from seqtext.series.scaling import Scaler, check_positive, make_windows, split_point
from seqtext.series.table import Table, read_table

SCALER_FILE = "scaler.json"


class ForecastTask(Task):
    """Forecast the next ``horizon`` values of a series from a window of it (and its covariates)."""

    settings_class = SeriesSettings
    kind = "series"
    headline = "mae"
    files = (SCALER_FILE,)

    def __init__(self, settings):
        super().__init__(settings)
        self.scaler: Scaler | None = None
        self.inputs: int | None = None  # columns read at each step: the target, then the covariates
        self.tail: dict | None = None  # the last window of the training series, for predict()
        # where the training series came from: an absolute CSV path (None for data given in Python),
        # the values held out at its end, and the values trained on
        self.data: dict = {"source": None, "holdout": 0, "values": None}
        self._sizes: dict = {}

    # ------------------------------------------------------------------ data

    def prepare(self, data: dict, fresh: bool) -> None:
        """Read ``data["series"]`` without its last ``data["holdout"]`` values; cut the windows.

        ``fresh``: fit the scaler on the training part; otherwise (a resume)
        keep the stored one and check the series is the one trained on.
        """
        series, train = self.settings.series, self.settings.train
        holdout = data.get("holdout", self.data.get("holdout", 0))
        table = read_table(data["series"], series.target, series.features, series.date, fill=series.fill)
        if holdout:
            if holdout >= table.n:
                raise ConfigError(f"{{holdout}} {holdout} leaves nothing to train on ({table.n} values in "
                                  f"{table.source}); hold out fewer values.", params=["holdout"])
            table = table.head(table.n - holdout)
        if not fresh and self.data.get("values") not in (None, table.n):
            raise DataError(f"{table.source} gives {table.n} values to train on, not the {self.data['values']} "
                            "this training started with; resume on the same data or train afresh.")
        source = data["series"]
        self.data = {"source": str(Path(source).resolve()) if isinstance(source, (str, os.PathLike)) else None,
                     "holdout": holdout, "values": table.n}
        W, H, n = series.window, series.horizon, table.n
        if n < W + H:
            raise DataError(f"the series has {n} values, fewer than {{window}} + {{horizon}} = {W + H}; give a "
                            "longer series or a shorter {window} or {horizon}.", params=["window", "horizon"])
        if distributed.world_size() > train.batch_size:
            raise ConfigError(f"{{batch_size}} {train.batch_size} is smaller than the {distributed.world_size()} "
                              "training processes; give each process at least one window.", params=["batch_size"])
        split = split_point(n, W, H, train.valid_fraction)
        if np.ptp(table.target[:split]) == 0:
            raise DataError(f"the target {table.names[0]!r} is constant ({table.target[0]:g}) in the training part, "
                            "so there is nothing to learn; forecast that constant directly.")
        if series.log:
            check_positive(table)
        series.target, features, series.date = table.names  # as resolved from the data
        series.features = list(features)
        series.validate()
        matrix = np.column_stack([table.target, table.features[:n]])  # (n, C)
        if fresh:
            self.scaler = Scaler(series.scaler, series.log).fit(matrix[:split])  # training rows only: no leak
        self.inputs = matrix.shape[1]
        scaled = self.scaler.transform(matrix)  # (n, C)
        x_tr, y_tr, _ = make_windows(scaled, W, H, series.stride, 0, split)
        x_va, self.y_valid, _ = make_windows(scaled, W, H, 1, split, n)
        as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
        self.x_train, self.y_train = as_tensor(x_tr), as_tensor(y_tr)  # (N, W, C), (N, H)
        self.x_valid, self.y_valid_t = as_tensor(x_va), as_tensor(self.y_valid)
        self._sizes = {"values": n, "train_values": split, "train_windows": len(x_tr), "valid_windows": len(x_va)}
        self.tail = {
            "target": table.target[-W:].tolist(),
            "features": table.features[n - W : n].tolist(),
            "dates": table.dates[n - W : n] if table.dates is not None else None,
        }

    def recorded_data(self, path) -> dict:
        if not self.data.get("source"):
            raise ConfigError(f"{path} was trained on a series given in Python, not a CSV file; pass it again as "
                              "{data}.", params=["data"])
        return {"series": Path(self.data["source"]), "holdout": self.data.get("holdout", 0)}

    def scale(self, table: Table, rows: int) -> np.ndarray:
        """The first ``rows`` rows of a table scaled as in training (C columns; unknown targets NaN)."""
        if self.settings.series.log:
            check_positive(table)
        target = np.full(rows, np.nan)
        target[: table.n] = table.target
        matrix = np.column_stack([target, table.features[:rows]])  # (rows, C)
        return self.scaler.transform(matrix)

    # --------------------------------------------------------------- training

    def build(self) -> SeriesNet:
        return SeriesNet(self.inputs, self.settings.series, self.settings.core)

    def batches(self, epoch: int, generator: torch.Generator):
        """Shuffled windows; every rank draws the same global batches and keeps its share of the rows."""
        size, world = self.settings.train.batch_size, distributed.world_size()
        order = torch.randperm(len(self.x_train), generator=generator).to(self.device)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            if len(rows) >= world:  # a last batch too small to share is dropped
                rows = distributed.shard_rows(rows)
                yield self.x_train[rows], self.y_train[rows]

    def loss(self, runner, batch) -> torch.Tensor:
        return runner(*batch)[1]

    def evaluate(self, net) -> dict | None:
        if not len(self.x_valid):
            return None
        pred, loss = net(self.x_valid, self.y_valid_t)  # (N, H)
        actual = self.scaler.inverse_target(self.y_valid)
        guess = self.scaler.inverse_target(pred.cpu().numpy())
        return {"loss": loss.item(), "mae": float(np.mean(np.abs(guess - actual)))}

    def steps_per_epoch(self) -> int:
        n, size, world = len(self.x_train), self.settings.train.batch_size, distributed.world_size()
        return n // size + (1 if n % size >= world else 0)

    def sizes(self) -> dict:
        return self._sizes

    # ---------------------------------------------------------- model directory

    def record(self) -> dict:
        return {"inputs": self.inputs, "tail": self.tail, "data": self.data}

    def write_files(self, directory: Path) -> None:
        modeldir.write_json(directory / SCALER_FILE, self.scaler.to_dict())

    def read_files(self, directory: Path, config: dict) -> None:
        series = self.settings.series
        inputs, tail = config["inputs"], config["tail"]
        if inputs != 1 + len(series.features) or len(tail["target"]) != series.window:
            raise CheckpointError(f"{directory / modeldir.CONFIG} is inconsistent (its input width or stored "
                                  "window does not match its series settings); retrain the model.")
        try:
            scaler = Scaler.from_dict(json.loads((directory / SCALER_FILE).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise CheckpointError(f"{directory / SCALER_FILE} is corrupted; retrain the model.") from None
        if len(scaler.center) != inputs:
            raise CheckpointError(f"{directory / SCALER_FILE} does not match config.json (columns); "
                                  "retrain the model.")
        self.scaler, self.inputs, self.tail = scaler, inputs, tail
        self.data = config.get("data") or {"source": None, "holdout": 0, "values": None}  # format 1: none

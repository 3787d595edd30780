"""The forecasting task: what the shared session needs to train a SeriesNet.

    table -> [log] -> Scaler -> windows -> SeriesNet -> mean squared error on the next ``horizon`` values

``prepare`` reads the series (one, or many from a long table with an id
column), leaving out the last ``holdout`` values of each; fits a scaler on
the training part of each series (and one of the static covariates over the
series) when the training is fresh (a resume keeps the stored ones); and
cuts the windows, none of which crosses from one series into another.  The
session draws shuffled batches of them, each rank its share under
``torchrun``.  The model directory keeps the scalers and the interval
calibration (``scaler.json``) and, in ``config.json``, the input width, the
last window of each training series and where the data came from, so a
resume can read it again.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from seqtext import distributed
from seqtext.config import SeriesSettings
from seqtext.errors import ConfigError, DataError, agrees, counted, warn
from seqtext.model import Task
from seqtext.series import calendar, seasonal, static, storage
from seqtext.series.net import SeriesNet
from seqtext.series.panel import read_series, some
from seqtext.series.scaling import check_transformable, make_windows, split_point, stack_inverse
from seqtext.series.state import SeriesState
from seqtext.series.table import Table
from seqtext.bundled import shipped

SCALER_FILE = storage.SCALER_FILE


def values_digest(items) -> str:
    """The SHA-256 of what a training reads: each series' id, target values, covariates and static values (so a
    resume on a file edited since, or on other values of the same count, is refused)."""
    import hashlib

    digest = hashlib.sha256()
    for key, table in items:
        digest.update(repr(key).encode("utf-8", "surrogateescape") + b"\0")
        for part in (table.target, table.features, table.static):
            if part is not None:
                digest.update(np.ascontiguousarray(part, dtype=np.float64).tobytes() + b"\0")
    return digest.hexdigest()


def cut(table: Table, holdout: int) -> Table:
    """The table without its last ``holdout`` values."""
    if holdout and holdout >= table.n:
        raise ConfigError(f"{{holdout}} {holdout} leaves nothing to train on ({counted(table.n, 'value')} in "
                          f"{table.source}); hold out fewer values.", params=["holdout"])
    return table.head(table.n - holdout) if holdout else table


def resolve_names(series, table: Table) -> None:
    """Set the column names of ``series`` (a SeriesConfig) as found in the data (the target may be implicit)."""
    if series.id_embed and series.id is None:
        raise ConfigError("{id_embed} needs a table of many series; name its id column with {id}.",
                          params=["id_embed", "id"])
    n_known = len(series.features)
    series.target, features, series.date = table.names
    series.features, series.past_features = list(features[:n_known]), list(features[n_known:])
    series.calendar = calendar.resolve(series.calendar, table)  # "auto": the parts the dates carry
    series.validate()


def too_short(subject: str, need: int, holdout: int) -> DataError:
    """The refusal of series shorter than window + horizon (``subject``: "every series is shorter than"), naming
    the held-out values when some were taken."""
    held = f" (after the {holdout} held out)" if holdout else ""
    also = " or {holdout}" if holdout else ""
    return DataError(f"{subject} {{window}} + {{horizon}} = {need}{held}; give a longer series or a shorter "
                     f"{{window}} or {{horizon}}{also}.", params=["window", "horizon", "holdout"])


class ForecastTask(SeriesState, Task):
    """Forecast the next ``horizon`` values of a series from a window of it (and its covariates)."""

    settings_class = SeriesSettings
    kind = "series"
    headline = "mae"
    files = (SCALER_FILE,)

    def __init__(self, settings):
        Task.__init__(self, settings)
        SeriesState.__init__(self, settings)  # scalers, tails, inputs, intervals
        # where the training series came from: an absolute CSV path (None for data given in Python),
        # the values held out at its end, and the values trained on
        self.data: dict = {"source": None, "holdout": 0, "values": None}
        self._sizes: dict = {}

    # ------------------------------------------------------------------ data

    def prepare(self, data: dict, fresh: bool) -> None:
        """Read ``data["series"]`` without the last ``data["holdout"]`` values of each series; cut the windows.

        ``fresh``: fit the scalers on the training parts; otherwise (a resume)
        keep the stored ones and check the data is the data trained on.
        ``data["readings"]`` (the calibration copy's): ``{id: (kind, transform)}``, the scaling and transform
        of each series as another model chose them (on more values), instead of choosing them here.
        """
        series = self.settings.series
        holdout = data.get("holdout", self.data.get("holdout", 0))
        items = read_series(data["series"], series)
        gone = [key for key, table in items if self.many and holdout and holdout >= table.n]  # nothing left of them
        items = [(key, cut(table, holdout)) for key, table in items if key not in gone]
        if not items:
            raise too_short("every series is shorter than", series.window + series.horizon, holdout)
        total = sum(table.n for _, table in items)
        if not fresh and self.data.get("values") not in (None, total):
            raise DataError(f"{items[0][1].source} gives {counted(total, 'value')} to train on, not the "
                            f"{self.data['values']} this training started with; resume on the same data or train "
                            "afresh.")
        digest = values_digest(items)
        if not fresh and self.data.get("sha256") not in (None, digest):  # recorded since 2026-12: older not compared
            where = str(data["series"]) if isinstance(data["series"], (str, os.PathLike)) else "the series given"
            raise DataError(f"{where} holds other values than the ones this training started with (as many, "
                            f"{total}, but not the same); resume on the same data or train afresh.")
        source = data["series"]
        self.data = {"source": str(shipped(source).resolve()) if isinstance(source, (str, os.PathLike)) else None,
                     "holdout": holdout, "values": total, "sha256": digest}
        resolve_names(series, items[0][1])
        if fresh:  # a resume keeps the stored scalers
            self.scalers, self.reads_ahead = {}, True
            self.readings = data.get("readings") or {}
            statics = series.static_features
            self.static_scaler = static.fit([t for _, t in items], statics) if statics else None
        else:  # a resume trains on, so intervals calibrated before it are stale: none is saved until calibrated again
            self.intervals = None
        # each series' index: its row of the id embedding (the stored order on a resume); a series too short to
        # give a window is left out of the model (no scaler, tail or row: forecast, it is a new id)
        stored = None if fresh else list(self.scalers)
        self.tails, parts, short = {}, [], list(gone)
        for key, table in items:
            index = len(parts) if fresh else stored.index(key) if key in stored else -1
            part = self._windows(index, key, table, fresh)
            if part is None:
                short.append(key)
            else:
                parts.append(part)
        if not parts:
            raise too_short("every series is shorter than", series.window + series.horizon, holdout)
        self.left_out = self.data["left_out"] = [k for k in short if k not in self.scalers]
        if not fresh and [k for k, _ in items if k not in short] != [k for k in stored if k not in short]:
            # (a new id is refused here; a directory trained before 2026-12 kept the short ones, with untrained rows:
            # those are not compared)
            raise DataError("the series ids differ from those this training started with; resume on the same data.")
        as_tensor = lambda a, kind=torch.float32: torch.as_tensor(a, dtype=kind, device=self.device)  # noqa: E731
        join = lambda i: np.concatenate([p[i] for p in parts])  # noqa: E731
        self.x_train, self.y_train = as_tensor(join(0)), as_tensor(join(1))  # (N, W, C), (N, H)
        self.x_valid, self.y_valid = as_tensor(join(3)), join(4)
        self.y_valid_t = as_tensor(self.y_valid)
        self.ids_train, self.ids_valid = as_tensor(join(2), torch.long), join(5)  # (N,), (Nv,) series indices
        self.inputs = self.x_train.shape[2]
        cols = self.ahead_columns  # the known-ahead covariates of each window's horizon steps: (N, H, A)
        self.ahead_train = as_tensor(join(7)[:, :, cols]) if cols else None
        self.ahead_valid = as_tensor(join(8)[:, :, cols]) if cols else None
        self.ratios_valid = join(9)  # (Nv, H) seasonal ratios of the validation targets (1 without)
        self._sizes = {"values": total, "train_values": sum(p[6] for p in parts), "train_windows": len(self.x_train),
                       "valid_windows": len(self.x_valid)}
        if series.deseasonalize:  # the series that keep their values: a value at or below 0, or too short
            self._sizes["as_is_ids"] = [k for k, t in items if self.seasonal(t, t.n) is None]
        if series.log1p_troughs:  # the series it reads as log(1 + y)
            self._sizes["log1p_ids"] = [k for k, s in self.scalers.items() if s.target_transform != series.transform]
        if self.many:
            every = len(items) + len(gone)
            self._sizes.update(series=every, short_series=len(short), short_ids=short[:10])
            if short and fresh:
                held = f" (after the {holdout} held out)" if holdout else ""
                warn(f"{len(short)} of the {every} series {agrees(len(short), 'is', 'are')} shorter{held} than "
                     f"{{window}} + {{horizon}} = {series.window + series.horizon} values and "
                     f"{agrees(len(short), 'is', 'are')} left out of training: "
                     f"{some(short)}.", params=["window", "horizon"])

    def _windows(self, index: int, key, table: Table, fresh: bool):
        """One series' training and validation windows with its series index; None when it is too short."""
        series, W, H, n = self.settings.series, self.settings.series.window, self.settings.series.horizon, table.n
        if n < W + H and not self.many:
            raise too_short(f"the series has {counted(n, 'value')}, fewer than", W + H, self.data.get("holdout", 0))
        if n < W + H and key not in self.scalers:  # left out of the model: no scaler or tail (a directory from
            return None  # before 2026-12, resumed, keeps those of its short series: they are stored)
        try:
            split = split_point(n, W, H, self.settings.train.valid_fraction)
        except DataError:
            if not self.many:
                raise
            split = n  # a short series of many: all of it for training
        if not self.many and np.ptp(table.target[:split]) == 0:
            what = table.source if table.plain else f"the target {table.names[0]!r}"  # a list: no column name
            raise DataError(f"{what} is constant ({table.target[0]:g}) in the training part, "
                            "so there is nothing to learn; forecast that constant directly.")
        check_transformable(table, series.transform, series.nonnegative)
        # (n, C); with deseasonalize, the target over its seasonal ratios, estimated on the training part
        matrix = self.matrix(table, n, upto=split)
        if fresh:
            self.scalers[key] = self.unfitted(key, matrix[:split, 0]).fit(matrix[:split])  # training rows only
        kept = seasonal.tail_length(W, series.deseasonalize)
        self.tails[key] = {
            "target": table.target[-kept:].tolist(),
            "features": table.features[max(n - kept, 0) : n].tolist(),
            "dates": table.dates[max(n - kept, 0) : n] if table.dates is not None else None,
            **({"static": table.static.tolist()} if table.static is not None else {}),
        }
        if n < W + H:
            return None
        scaled = self.scale(table, n, key, upto=split)  # (n, C)
        x_tr, y_tr, s_tr = make_windows(scaled, W, H, series.stride, 0, split)
        x_va, y_va, s_va = make_windows(scaled, W, H, 1, split, n)
        steps = W + np.arange(H)  # the horizon rows after a window's first row
        ratios = self.seasonal(table, n, upto=split)  # the validation MAE is in the series' units
        ratios_va = ratios[s_va[:, None] + steps] if ratios is not None else np.ones((len(s_va), H))
        return (x_tr, y_tr, np.full(len(x_tr), index), x_va, y_va, np.full(len(x_va), index), split,
                scaled[s_tr[:, None] + steps], scaled[s_va[:, None] + steps],  # ..., (N, H, C), (Nv, H, C)
                ratios_va)  # (Nv, H)

    def recorded_data(self, path) -> dict:
        if not self.data.get("source"):
            raise ConfigError(f"{path} was trained on a series given in Python, not a CSV file; pass it again as "
                              "{data}.", params=["data"])
        return {"series": Path(self.data["source"]), "holdout": self.data.get("holdout", 0)}

    # --------------------------------------------------------------- training

    def build(self) -> SeriesNet:
        return SeriesNet(self.inputs, self.settings.series, self.settings.core, n_ids=len(self.scalers),
                         n_ahead=len(self.ahead_columns))

    def batches(self, epoch: int, generator: torch.Generator):
        """Shuffled windows; every rank draws the same global batches and keeps its share of the rows."""
        size, world = self.settings.train.batch_size, distributed.world_size()
        embed = bool(self.settings.series.id_embed)
        order = torch.randperm(len(self.x_train), generator=generator).to(self.device)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            if len(rows) >= world:  # a last batch too small to share is dropped
                rows = distributed.shard_rows(rows)
                batch = (self.x_train[rows], self.y_train[rows], self.ids_train[rows] if embed else None)
                yield batch + (self.ahead_train[rows],) if self.ahead_train is not None else batch

    def loss(self, runner, batch) -> torch.Tensor:
        return runner(*batch)[1]

    def evaluate(self, net) -> dict | None:
        if not len(self.x_valid):
            return None
        ids = torch.as_tensor(self.ids_valid, device=self.device) if self.settings.series.id_embed else None
        pred, loss = net(self.x_valid, self.y_valid_t, ids, self.ahead_valid)  # (N, H)
        keys = list(self.scalers)
        scalers = [self.scalers[keys[i]] for i in self.ids_valid]
        actual = stack_inverse(scalers, self.y_valid) * self.ratios_valid
        guess = stack_inverse(scalers, pred.cpu().numpy()) * self.ratios_valid
        return {"loss": loss.item(), "mae": float(np.mean(np.abs(guess - actual)))}

    def steps_per_epoch(self) -> int:
        n, size, world = len(self.x_train), self.settings.train.batch_size, distributed.world_size()
        return n // size + (1 if n % size >= world else 0)

    def sizes(self) -> dict:
        return self._sizes

    # ---------------------------------------------------------- model directory

    def record(self) -> dict:
        tail = self.tails[None] if not self.many else {"series": [{"id": k, **t} for k, t in self.tails.items()]}
        return {"inputs": self.inputs, "tail": tail, "data": self.data, "reads_ahead": self.reads_ahead}

    def write_files(self, directory: Path) -> None:
        storage.write_scalers(directory / SCALER_FILE, self)

    def read_files(self, directory: Path, config: dict) -> None:
        self.read_stored(directory, config)
        self.data = config.get("data") or {"source": None, "holdout": 0, "values": None}  # format 1: none

"""Numeric-series forecasting on the shared recurrent core.

    table -> [log] -> Scaler -> windows -> Linear(in) -> RecurrentCore -> head -> un-scale -> forecast

``SeriesNet`` is the nn.Module: a per-step input projection, the very same
:class:`~seqtext.core.RecurrentCore` as the text model, and one of two heads
(``last``: the final hidden state; ``concat``: the hidden states of every step
concatenated and fed to one Linear layer).  It forecasts ``horizon`` values at
once; longer forecasts are rolled out, feeding forecasts back in.

``Forecaster`` is the user API: fit / predict / evaluate / backtest / save /
load, on a list of numbers, a numpy array, a pandas table, a dict of columns
or a CSV file, with optional covariate columns.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqtext import checkpoint
from seqtext.config import SERIES_DEFAULTS, CoreConfig, SeriesConfig, TrainConfig
from seqtext.core import RecurrentCore
from seqtext.errors import CheckpointError, ConfigError, DataError, whole_number
from seqtext.train import fit, pick_device, seed_everything

SCALER_FILE = "scaler.json"
LOG_CAP = 700.0  # exp() of more than this overflows float64; a runaway forecast stays finite


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """A series read from any supported source, checked and numeric.

    ``target`` holds the known values; ``features`` may run past them (rows
    whose target is blank carry future covariate values for a forecast).
    """

    target: np.ndarray  # (n,) known target values
    features: np.ndarray  # (m, F) covariates, m >= n
    dates: list | None  # m labels from the date column, or None
    names: tuple  # (target, [features], date or None) as found in the source
    source: str  # for messages
    first_line: int | None  # CSV line number of row 0, None for in-memory tables

    @property
    def n(self) -> int:
        return len(self.target)

    def where(self, i: int) -> str:
        if self.first_line is None:
            return f"row {i} of {self.source}"
        return f"line {i + self.first_line} of {self.source}"

    def head(self, n: int) -> "Table":
        """The first ``n`` known values, keeping every covariate row as future rows."""
        return Table(self.target[:n], self.features, self.dates, self.names, self.source, self.first_line)


def read_table(
    data,
    target=None,
    features=None,
    date=None,
    *,
    fill: bool = False,
    allow_future: bool = False,
    need_date: bool = True,
    features_only: bool = False,
) -> Table:
    """Read a series from a CSV path, a pandas table or series, a dict of columns, an array or a list.

    ``target`` and ``features`` name columns (positions for a 2-D array).
    NaN and infinite values are an error naming the first bad row, unless
    ``fill`` interpolates them.  With ``allow_future``, blank target values at
    the end are not gaps but rows whose covariates are known in advance.
    ``features_only`` reads just the covariates (future values of them).
    """
    if isinstance(data, Table):
        return data
    features = list(features or [])
    columns, order, source, first_line = _columns(data)
    if columns is None:  # a plain sequence of values
        if features:
            raise DataError(
                f"covariates {', '.join(map(str, features))} were asked for but {source} is a single series; "
                "give a table with those columns."
            )
        target_name = "value" if target is None else target
        columns, order = {target_name: order}, [target_name]
        date = None
    if features_only:
        target = None
    elif target is None:
        candidates = [c for c in order if c != date and c not in features]
        if len(candidates) != 1:
            raise DataError(
                f"{source} has several columns ({', '.join(map(str, order))}); "
                "name the one to forecast with target= (--target)."
            )
        target = candidates[0]
    if target in features:
        raise DataError(f"column {target!r} is both the target and a feature; list it only as the target.")
    if len(set(features)) != len(features):
        raise DataError("a feature column is listed twice; list each covariate once.")
    wanted = ([] if features_only else [target]) + features + ([date] if date is not None else [])
    missing = [c for c in wanted if c not in columns]
    if date is not None and date in missing and not need_date:
        missing.remove(date)
        date = None
    if missing:
        what = "column" if len(missing) == 1 else "columns"
        raise DataError(
            f"{source} has no {what} {', '.join(map(repr, missing))} (it has {', '.join(map(repr, order))}); "
            "check the target, feature and date names."
        )
    table = Table(np.empty(0), np.empty((0, 0)), None, (target, features, date), source, first_line)
    rows = len(columns[wanted[0]]) if wanted else 0
    if rows == 0:
        raise DataError(f"{source} has no rows; give a series with values.")
    values = np.empty(0) if features_only else _numeric(table, target, columns[target])
    n = 0 if features_only else rows
    if allow_future and not features_only:
        while n > 0 and np.isnan(values[n - 1]):
            n -= 1  # trailing blanks: rows whose covariates are known ahead of the target
        if n == 0:
            raise DataError(f"column {target!r} of {source} has no values; give the series' history.")
    table.target = _finite(table, target, values[:n], fill)
    feats = np.empty((rows, len(features)))
    for j, name in enumerate(features):
        feats[:, j] = _finite(table, name, _numeric(table, name, columns[name]), fill)
    table.features = feats
    if date is not None:
        table.dates = [str(d) for d in columns[date]]
        check_dates(table, date)
    return table


def _columns(data):
    """(columns by name, column order, source description, CSV line of row 0); columns None for 1-D data."""
    if isinstance(data, (str, os.PathLike)):
        return (*_read_csv(Path(data)), str(data), 2)
    if hasattr(data, "columns") and hasattr(data, "iloc"):  # pandas DataFrame, without importing pandas
        return {c: data[c].tolist() for c in data.columns}, list(data.columns), "the table", None
    if isinstance(data, Mapping):
        cols = {k: list(v) if not isinstance(v, (str, bytes)) else [v] for k, v in data.items()}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise DataError("the columns of the table have different lengths; give columns of equal length.")
        return cols, list(cols), "the table", None
    if hasattr(data, "to_numpy") and hasattr(data, "index"):  # pandas Series
        return None, data.tolist(), "the series", None
    if isinstance(data, np.ndarray) and data.ndim == 2:
        return {j: data[:, j].tolist() for j in range(data.shape[1])}, list(range(data.shape[1])), "the array", None
    if isinstance(data, (np.ndarray, list, tuple, range)):
        values = np.asarray(data, dtype=object)
        if values.ndim != 1:
            raise DataError("a series must be one-dimensional (or a 2-D array of columns); reshape it.")
        return None, values.tolist(), "the series", None
    raise DataError(
        f"cannot read a series from a {type(data).__name__}; give a CSV path, a list, a numpy array, "
        "a pandas table or a dict of columns."
    )


def _read_csv(path: Path):
    if not path.exists():
        raise DataError(f"the file {path} does not exist; check the path.")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file; give a CSV file.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file.") from None
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc}); check its format.") from None
    except PermissionError:
        raise DataError(f"{path} cannot be read (permission denied); check its permissions.") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataError(f"{path} is empty; give a CSV file with a header line and values.")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        raise DataError(f"{path} has a repeated column name in its header; make the names unique.")
    body = rows[1:]
    columns = {h: [r[j] if j < len(r) else "" for r in body] for j, h in enumerate(header)}
    return columns, header


def _cell(value) -> float:
    """A cell as a float; blanks and NA markers are NaN; text raises ValueError."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        return math.nan if not text else float(text)
    if isinstance(value, (bytes, bytearray)):
        raise ValueError(value)
    return float(value)


def _numeric(table: Table, name, cells) -> np.ndarray:
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        try:
            out[i] = _cell(cell)
        except (TypeError, ValueError, OverflowError):
            raise DataError(
                f"column {name!r} has a non-numeric value {cell!r} at {table.where(i)}; "
                "fix the value or remove the row."
            ) from None
    return out


def _finite(table: Table, name, values: np.ndarray, fill: bool) -> np.ndarray:
    """The values unchanged, or with NaN/inf interpolated when ``fill``; otherwise name the first bad row."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    if not fill:
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {name!r} has a missing or non-finite value at {table.where(i)}; "
            "fix it, or interpolate gaps with --fill (fill=True)."
        )
    good = np.flatnonzero(~bad)
    if good.size == 0:
        raise DataError(f"column {name!r} of {table.source} has no finite values; nothing can be interpolated.")
    values = values.copy()
    values[bad] = np.interp(np.flatnonzero(bad), good, values[good])  # linear inside, held flat at the ends
    return values


# ---------------------------------------------------------------------------- dates

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def _parse_date(text: str):
    """('year', n) | ('month', months since year 0) | ('time', datetime); ValueError otherwise."""
    text = text.strip()
    if _YEAR.match(text):
        return "year", int(text)
    m = _MONTH.match(text)
    if m:
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(text)
        return "month", int(m.group(1)) * 12 + month - 1
    return "time", datetime.fromisoformat(text)


def check_dates(table: Table, name) -> None:
    """Dates must parse and strictly increase, so windows follow time."""
    kind, prev = None, None
    for i, label in enumerate(table.dates):
        try:
            k, value = _parse_date(label)
        except (ValueError, TypeError):
            raise DataError(
                f"column {name!r} has {label!r} at {table.where(i)}, which is not a date "
                "(YYYY, YYYY-MM, YYYY-MM-DD or an ISO date-time); fix it or leave out the date column."
            ) from None
        if kind is not None and k != kind:
            raise DataError(f"column {name!r} mixes date formats at {table.where(i)}; write every date the same way.")
        if prev is not None and not value > prev:
            raise DataError(
                f"the dates in column {name!r} do not increase at {table.where(i)}; sort the rows by date "
                "and remove duplicates."
            )
        kind, prev = k, value


def future_dates(labels: list | None, steps: int) -> list | None:
    """Labels for ``steps`` more rows after ``labels`` when they are evenly spaced, else None."""
    if not labels or len(labels) < 2:
        return None
    parsed = [_parse_date(s) for s in labels[-24:]]
    kind = parsed[0][0]
    values = [v for _, v in parsed]
    if kind in ("year", "month"):
        step = values[-1] - values[-2]
        if any(b - a != step for a, b in zip(values, values[1:])):
            return None
        if kind == "year":
            return [f"{values[-1] + step * k:04d}" for k in range(1, steps + 1)]
        return [f"{(v := values[-1] + step * k) // 12:04d}-{v % 12 + 1:02d}" for k in range(1, steps + 1)]
    last = values[-1]
    date_only = len(labels[-1].strip()) == 10
    sep = " " if " " in labels[-1].strip() else "T"
    fmt = (lambda d: d.date().isoformat()) if date_only else (lambda d: d.isoformat(sep=sep))
    months = [v.year * 12 + v.month - 1 for v in values]
    same_day = all(v.day == last.day and v.time() == last.time() for v in values)
    mstep = months[-1] - months[-2]
    if same_day and mstep > 0 and all(b - a == mstep for a, b in zip(months, months[1:])):
        out = []
        for k in range(1, steps + 1):
            m = months[-1] + mstep * k
            try:
                out.append(fmt(last.replace(year=m // 12, month=m % 12 + 1)))
            except ValueError:  # e.g. day 31 in a shorter month
                return None
        return out
    step = values[-1] - values[-2]
    if step <= timedelta(0) or any(b - a != step for a, b in zip(values, values[1:])):
        return None
    return [fmt(last + step * k) for k in range(1, steps + 1)]


# --------------------------------------------------------------------------- scaling


class Scaler:
    """Per-column affine scaling fitted on the training part; optional log of the target first.

    Column 0 is the target, the others are covariates.  A column with no
    spread gets scale 1, so a constant column never divides by zero.
    """

    KINDS = ("zscore", "minmax", "none")

    def __init__(self, kind: str = "zscore", log: bool = False):
        if kind not in self.KINDS:
            raise ConfigError(f"scaler must be zscore, minmax or none, got {kind!r}.")
        self.kind, self.log = kind, bool(log)
        self.center: np.ndarray | None = None  # (C,)
        self.scale: np.ndarray | None = None  # (C,)

    def _logged(self, matrix: np.ndarray) -> np.ndarray:
        matrix = np.array(matrix, dtype=np.float64, ndmin=2)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                matrix[:, 0] = np.log(matrix[:, 0])
        return matrix

    def fit(self, matrix: np.ndarray) -> "Scaler":
        """Statistics of a (n, C) matrix: the training rows only."""
        m = self._logged(matrix)  # (n, C)
        # Statistics of m / peak, scaled back: squares of values near 1e300 would overflow.
        peak = np.abs(m).max(axis=0)  # (C,)
        peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
        u = m / peak  # (n, C), within [-1, 1]
        if self.kind == "zscore":
            center, scale = u.mean(axis=0) * peak, u.std(axis=0) * peak
        elif self.kind == "minmax":
            center, scale = m.min(axis=0), (u.max(axis=0) - u.min(axis=0)) * peak
        else:
            center, scale = np.zeros(m.shape[1]), np.ones(m.shape[1])
        if not (np.isfinite(center).all() and np.isfinite(scale).all()):
            raise DataError("the values are too large to scale (beyond about 1e308); divide the series by a "
                            "constant first.")
        scale = np.where(np.isfinite(scale) & (scale > 1e-12 * np.maximum(1.0, np.abs(center))), scale, 1.0)
        self.center, self.scale = center, scale
        return self

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        return (self._logged(matrix) - self.center) / self.scale  # (n, C)

    def inverse_target(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled target values (any shape) back to the original units."""
        values = np.asarray(scaled, dtype=np.float64) * self.scale[0] + self.center[0]
        return np.exp(np.minimum(values, LOG_CAP)) if self.log else values

    def to_dict(self) -> dict:
        return {"kind": self.kind, "log": self.log, "center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Scaler":
        obj = cls(data["kind"], data["log"])
        obj.center = np.asarray(data["center"], dtype=np.float64)
        obj.scale = np.asarray(data["scale"], dtype=np.float64)
        if obj.center.shape != obj.scale.shape or obj.center.ndim != 1 or not np.all(obj.scale > 0):
            raise ValueError("center and scale must be equal-length lists with positive scales")
        return obj


# -------------------------------------------------------------------------- windows


def split_point(n: int, window: int, horizon: int, valid_fraction: float) -> int:
    """Length of the training part; the rest is the validation part (empty for fraction 0).

    Windows never cross the split, so the validation part is at least one
    window plus horizon long, and so is the training part.
    """
    if valid_fraction <= 0:
        return n
    span = window + horizon
    n_valid = max(math.ceil(valid_fraction * n), span)
    if n - n_valid < span:
        raise DataError(
            f"the series has {n} values, too few for a validation part with window {window} and horizon "
            f"{horizon} (both parts need {span}); use a validation fraction of 0 or a shorter window."
        )
    return n - n_valid


def make_windows(values: np.ndarray, window: int, horizon: int, stride: int = 1, start: int = 0, end=None):
    """Windows lying wholly inside ``values[start:end]``, the latest one ending at ``end``.

    ``values`` is (n, C) with the target in column 0.  Returns inputs
    (N, window, C), targets (N, horizon) and each window's first row (N,).
    """
    end = len(values) if end is None else end
    latest = end - window - horizon
    if latest < start:
        return np.empty((0, window, values.shape[1])), np.empty((0, horizon)), np.empty(0, dtype=int)
    starts = np.arange(latest, start - 1, -stride)[::-1]  # (N,)
    x = values[starts[:, None] + np.arange(window)]  # (N, W, C)
    y = values[starts[:, None] + window + np.arange(horizon), 0]  # (N, H)
    return x, y, starts


# -------------------------------------------------------------------------- metrics


def forecast_metrics(actual, forecast, insample=None, season: int = 1) -> dict:
    """MAE, RMSE, MAPE %, sMAPE % and MASE (scaled by the in-sample seasonal-naive error).

    MAPE skips zero actuals and MASE is NaN without enough in-sample values or
    when the in-sample series does not change.
    """
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    err = f - a
    nz = a != 0
    denom = np.abs(a) + np.abs(f)
    ok = denom > 0
    mase = math.nan
    if insample is not None:
        y = np.asarray(insample, dtype=np.float64)
        if len(y) > season:
            scale = np.mean(np.abs(y[season:] - y[:-season]))
            if scale > 0:
                mase = float(np.mean(np.abs(err)) / scale)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100 * np.mean(np.abs(err[nz] / a[nz]))) if nz.any() else math.nan,
        "smape": float(100 * np.mean(2 * np.abs(err[ok]) / denom[ok])) if ok.any() else 0.0,
        "mase": mase,
    }


# ---------------------------------------------------------------------------- model


class SeriesNet(nn.Module):
    """Linear(in) -> RecurrentCore -> head over a window of scaled steps."""

    def __init__(self, n_inputs: int, series: SeriesConfig, core: CoreConfig):
        super().__init__()
        self.head_kind = series.head
        self.level = series.level
        self.directions = 2 if core.bidirectional else 1
        self.proj = nn.Linear(n_inputs, core.input_size)
        self.core = RecurrentCore(core)
        width = self.core.output_size * (series.window if series.head == "concat" else 1)
        self.head = nn.Linear(width, series.horizon)
        # LSTNet's "highway": a linear autoregression from the window's target values straight to
        # the forecast, so the part of the series that is linear in its past (a seasonal
        # random walk on logs, say) needs no nonlinear detour through the core.
        self.skip = nn.Linear(series.window, series.horizon) if series.skip else None

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None):
        """x: (B, W, C) scaled steps -> forecast (B, H) in scaled units, mean squared error."""
        base = None
        if self.level != "none":
            # read the window relative to its own level and add it back: the net learns changes, so a
            # trend that leaves the training range needs no extrapolation by the core
            target = x[:, :, 0]  # (B, W)
            base = target[:, -1:] if self.level == "last" else target.mean(1, keepdim=True)  # (B, 1)
            x = torch.cat([(target - base).unsqueeze(-1), x[:, :, 1:]], dim=-1)  # (B, W, C)
        z = self.proj(x)  # (B, W, E)
        out, hidden = self.core(z)  # (B, W, D*H), (D*L, B, H)
        if self.head_kind == "concat":
            feats = out.flatten(1)  # (B, W*D*H): the seed's layout, every step's state
        else:
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # an LSTM also returns its cell state
            # the last layer's final state in each direction: the backward one has read the whole window
            feats = h[-self.directions:].transpose(0, 1).flatten(1)  # (B, D*H)
        pred = self.head(feats)  # (B, horizon)
        if self.skip is not None:
            pred = pred + self.skip(x[:, :, 0])  # (B, W) target values (relative to the level) -> (B, horizon)
        if base is not None:
            pred = pred + base  # (B, horizon)
        loss = F.mse_loss(pred, targets) if targets is not None else None
        return pred, loss


class Forecaster:
    """Forecast a numeric series (and optional covariates) with the shared recurrent core.

    >>> f = Forecaster(window=3, valid_fraction=0).fit(range(10, 210, 10))   # doctest: +SKIP
    >>> f.predict(history=[70, 80, 90])                                       # doctest: +SKIP
    array([100.1])
    """

    def __init__(self, *, progress: bool = False, **options):
        """Options (all keyword, defaults in ``seqtext.config.SERIES_DEFAULTS``):

        window, horizon, stride, scaler (zscore|minmax|none), log, head
        (concat|last), level (none|mean|last), hidden, layers, nonlinearity
        (tanh|relu), dropout, weight_drop, bidirectional, cell (rnn|gru|lstm), fill,
        epochs, batch_size, optimizer (adam|sgd), lr, weight_decay, clip,
        lr_decay, patience, seed, device (auto|cpu|cuda|mps), threads,
        valid_fraction.  ``progress``
        shows a progress bar while fitting.
        """
        unknown = sorted(set(options) - set(SERIES_DEFAULTS))
        if unknown:
            raise ConfigError(f"Forecaster has no option {unknown[0]!r}; see seqtext.config.SERIES_DEFAULTS.")
        o = {**SERIES_DEFAULTS, **options}
        core = CoreConfig(input_size=o["hidden"], hidden_size=o["hidden"], num_layers=o["layers"],
                          nonlinearity=o["nonlinearity"], dropout=o["dropout"], bidirectional=o["bidirectional"],
                          cell=o["cell"], weight_drop=o["weight_drop"])
        series = SeriesConfig(window=o["window"], horizon=o["horizon"], stride=o["stride"], scaler=o["scaler"],
                              log=o["log"], head=o["head"], level=o["level"], fill=o["fill"],
                              skip=o["skip"])
        train = TrainConfig(epochs=o["epochs"], batch_size=o["batch_size"], optimizer=o["optimizer"], lr=o["lr"],
                            weight_decay=o["weight_decay"], clip=o["clip"], lr_decay=o["lr_decay"],
                            patience=o["patience"], seed=o["seed"], device=o["device"], threads=o["threads"],
                            valid_fraction=o["valid_fraction"])
        self._init(core, series, train)
        self.progress = progress

    def _init(self, core: CoreConfig, series: SeriesConfig, train: TrainConfig) -> None:
        for cfg in (core, series, train):
            cfg.validate()
        self.core_config, self.series_config, self.train_config = core, series, train
        self.net: SeriesNet | None = None
        self.scaler: Scaler | None = None
        self.tail: dict | None = None  # the last window of the training series, for predict()
        self.history: list[dict] = []
        self.summary: dict = {}
        self.device = torch.device("cpu")
        self.progress = False

    # ------------------------------------------------------------------ training

    def fit(self, data, target=None, features=None, date=None) -> "Forecaster":
        """Train on a series (values, array, pandas table, dict of columns or CSV path); returns self.

        ``target`` names the column to forecast, ``features`` the covariate
        columns, ``date`` an optional date column (checked to increase, used
        to label forecasts).
        """
        cfg, train_cfg = self.series_config, self.train_config
        table = read_table(data, target, features, date, fill=cfg.fill)
        t_name, f_names, d_name = table.names
        W, H = cfg.window, cfg.horizon
        n = table.n
        if n < W + H:
            raise DataError(
                f"the series has {n} values, fewer than window + horizon = {W + H}; "
                "give a longer series or a shorter window or horizon."
            )
        split = split_point(n, W, H, train_cfg.valid_fraction)
        if np.ptp(table.target[:split]) == 0:
            raise DataError(
                f"the target {t_name!r} is constant ({table.target[0]:g}) in the training part, so there is "
                "nothing to learn; forecast that constant directly."
            )
        self._check_log(table)
        self.series_config = cfg = SeriesConfig.from_dict(
            dict(cfg.to_dict(), target=t_name, features=list(f_names), date=d_name)
        )
        matrix = np.column_stack([table.target, table.features[: table.n]])  # (n, C)
        self.scaler = Scaler(cfg.scaler, cfg.log).fit(matrix[:split])  # training rows only: no leak
        scaled = self.scaler.transform(matrix)  # (n, C)
        x_tr, y_tr, _ = make_windows(scaled, W, H, cfg.stride, 0, split)
        x_va, y_va, _ = make_windows(scaled, W, H, 1, split, n)

        self.device = pick_device(train_cfg.device)
        generator = seed_everything(train_cfg.seed)
        self.net = SeriesNet(matrix.shape[1], cfg, self.core_config).to(self.device)
        x_tr_t = torch.as_tensor(x_tr, dtype=torch.float32, device=self.device)  # (N, W, C)
        y_tr_t = torch.as_tensor(y_tr, dtype=torch.float32, device=self.device)  # (N, H)
        x_va_t = torch.as_tensor(x_va, dtype=torch.float32, device=self.device)
        y_va_t = torch.as_tensor(y_va, dtype=torch.float32, device=self.device)
        bs = train_cfg.batch_size

        def batches(epoch):
            order = torch.randperm(len(x_tr_t), generator=generator).to(self.device)
            for s in range(0, len(order), bs):
                idx = order[s : s + bs]
                yield x_tr_t[idx], y_tr_t[idx]

        def step_loss(net, batch):
            return net(*batch)[1]

        def evaluate(net):
            pred, loss = net(x_va_t, y_va_t)  # (N, H)
            actual = self.scaler.inverse_target(y_va)
            guess = self.scaler.inverse_target(pred.cpu().numpy())
            return {"loss": loss.item(), "mae": float(np.mean(np.abs(guess - actual)))}

        result = fit(self.net, batches, step_loss, evaluate if len(x_va) else None, train_cfg,
                     headline="mae", progress=self.progress)
        self.history = result.history
        best = result.best or (result.history[-1] if result.history else {})
        self.summary = {k: v for k, v in best.items() if k.startswith("valid_") or k in ("epoch", "train_loss")}
        self.summary.update(epochs_run=len(result.history), seconds=round(result.seconds, 2),
                            values=n, train_values=split, train_windows=len(x_tr), valid_windows=len(x_va))
        self.tail = {
            "target": table.target[-W:].tolist(),
            "features": table.features[n - W : n].tolist(),
            "dates": table.dates[n - W : n] if table.dates is not None else None,
        }
        return self

    def _check_log(self, table: Table) -> None:
        if not self.series_config.log:
            return
        bad = np.flatnonzero(table.target <= 0)
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"the log transform needs positive values, but {table.names[0]!r} is {table.target[i]:g} at "
                f"{table.where(i)}; train without --log (log=False) or shift the series above zero."
            )

    def _require_trained(self) -> None:
        if self.net is None or self.scaler is None:
            raise ConfigError("the forecaster is not trained yet; call fit() or load a model directory first.")

    # ---------------------------------------------------------------- inference

    def read(self, data=None, *, allow_future: bool = True) -> Table:
        """Read a table with the columns this model was trained on (see :func:`read_table`).

        Without ``data``, the end of the training series (one window of it).
        """
        self._require_trained()
        cfg = self.series_config
        if data is None:
            return self._tail_table()
        if isinstance(data, Table):
            return data
        if cfg.features and not _is_table(data):
            raise DataError(
                f"this model also reads the covariates {', '.join(map(str, cfg.features))}; "
                "give a table with those columns, not a plain series."
            )
        target = cfg.target if _is_table(data) else None
        return read_table(data, target, cfg.features, cfg.date, fill=cfg.fill, allow_future=allow_future,
                          need_date=False)

    def _tail_table(self) -> Table:
        t = self.tail
        names = (self.series_config.target, self.series_config.features, self.series_config.date)
        feats = np.asarray(t["features"], dtype=np.float64).reshape(len(t["target"]), len(names[1]))
        return Table(np.asarray(t["target"], dtype=np.float64), feats, t["dates"], names, "the training series", None)

    @torch.inference_mode()
    def _rollout(self, scaled: np.ndarray, origins, steps: int) -> np.ndarray:
        """Scaled forecasts (len(origins), steps), each starting at row ``origin`` of ``scaled``.

        ``scaled`` is (m, C); only rows before an origin are read for the
        target, forecasts are fed back in, horizon values at a time; covariate
        rows after an origin are read as known future values.
        """
        W, H = self.series_config.window, self.series_config.horizon
        origins = np.asarray(origins, dtype=int)
        blocks = math.ceil(steps / H)
        length = W + (blocks - 1) * H
        buf = np.zeros((len(origins), length, scaled.shape[1]))  # (N, W + (blocks-1)*H, C)
        for k, o in enumerate(origins):
            rows = scaled[o - W : min(o - W + length, len(scaled))]
            buf[k, : len(rows)] = rows
        buf[:, W:, 0] = np.nan  # no actual value after an origin may be read
        out = np.empty((len(origins), blocks * H))  # (N, blocks*H)
        self.net.eval()
        for b in range(blocks):
            x = torch.as_tensor(buf[:, b * H : b * H + W], dtype=torch.float32, device=self.device)  # (N, W, C)
            pred = self.net(x)[0].double().cpu().numpy()  # (N, H)
            out[:, b * H : (b + 1) * H] = pred
            if b < blocks - 1:
                buf[:, W + b * H : W + (b + 1) * H, 0] = pred
        return out[:, :steps]

    def _needed_rows(self, steps: int) -> int:
        """Covariate rows past the origin that a roll-out of ``steps`` reads."""
        H = self.series_config.horizon
        return (math.ceil(steps / H) - 1) * H

    def _scaled(self, table: Table, rows: int) -> np.ndarray:
        self._check_log(table)
        target = np.full(rows, np.nan)
        target[: table.n] = table.target
        matrix = np.column_stack([target, table.features[:rows]])  # (rows, C)
        return self.scaler.transform(matrix)

    def predict(self, steps: int | None = None, history=None, future=None) -> np.ndarray:
        """The next ``steps`` values (default: the horizon) after ``history`` (default: the training series).

        Beyond the horizon the forecast is rolled out.  A model with
        covariates then needs their future values: rows after the target's
        last value in ``history``, or a ``future`` table of covariates.
        """
        self._require_trained()
        cfg = self.series_config
        steps = cfg.horizon if steps is None else whole_number("steps", steps)
        table = self.read(history)
        if future is not None:
            if not cfg.features:
                raise DataError("future covariates were given but this model was trained without covariates.")
            if len(table.features) > table.n:
                raise DataError("future covariates were given twice (in the history and in future=); give them once.")
            if not _is_table(future):
                raise DataError(f"future= must be a table with the columns {', '.join(map(str, cfg.features))}.")
            ahead = read_table(future, None, cfg.features, None, fill=cfg.fill, features_only=True)
            table = Table(table.target, np.vstack([table.features[: table.n], ahead.features]), None, table.names,
                          table.source, table.first_line)
        self._check_history(table, steps)
        rows = table.n + (self._needed_rows(steps) if cfg.features else 0)
        scaled = self._scaled(table, rows)
        forecast = self._rollout(scaled, [table.n], steps)[0]  # (steps,)
        return self.scaler.inverse_target(forecast)

    def _check_history(self, table: Table, steps: int, origin: int | None = None) -> None:
        cfg = self.series_config
        origin = table.n if origin is None else origin
        if origin < cfg.window:
            raise DataError(
                f"the history has {origin} values but the model reads windows of {cfg.window}; "
                f"give at least {cfg.window} values."
            )
        need = self._needed_rows(steps)
        have = len(table.features) - origin
        if cfg.features and have < need:
            raise DataError(
                f"forecasting {steps} steps with horizon {cfg.horizon} needs the covariates "
                f"{', '.join(map(str, cfg.features))} for the next {need} steps but {have} were given; "
                "add them as rows after the last target value or pass future=."
            )

    def forecast_holdout(self, data, holdout: int | None = None, *, one_step: bool = False) -> dict:
        """Forecast the last ``holdout`` values of ``data`` from the values before them, fitting nothing.

        ``one_step``: each value from all the actual values before it;
        otherwise one roll-out of ``holdout`` steps.  Returns the history,
        the actual values and the forecast (arrays) and the date labels.
        """
        self._require_trained()
        table = self.read(data, allow_future=False)
        holdout = self.series_config.horizon if holdout is None else whole_number("holdout", holdout)
        n = table.n
        if n - holdout < self.series_config.window:
            raise DataError(
                f"the series has {n} values; holding out {holdout} leaves fewer than the window of "
                f"{self.series_config.window} to forecast from; give a longer series or a smaller holdout."
            )
        origin = n - holdout
        self._check_history(table, 1 if one_step else holdout, origin)
        scaled = self._scaled(table, n)
        if one_step:
            forecast = self._rollout(scaled, np.arange(origin, n), 1)[:, 0]  # (holdout,)
        else:
            forecast = self._rollout(scaled, [origin], holdout)[0]  # (holdout,)
        return {
            "history": table.target[:origin],
            "actual": table.target[origin:],
            "forecast": self.scaler.inverse_target(forecast),
            "dates": table.dates,
        }

    def seen_in_training(self, table: Table, origin: int) -> bool:
        """Whether row ``origin`` of a dated table lies within the dates this model was trained on."""
        trained = (self.tail or {}).get("dates")
        if not trained or table.dates is None or origin >= len(table.dates):
            return False
        try:
            (k1, first), (k2, last) = _parse_date(table.dates[origin]), _parse_date(trained[-1])
        except ValueError:
            return False
        return k1 == k2 and first <= last

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
        cfg = self.series_config
        steps = cfg.horizon if steps is None else whole_number("steps", steps)
        stride, season = whole_number("stride", stride), whole_number("season", season)
        table = self.read(data, allow_future=False)
        n = table.n
        start = max(cfg.window, n // 2) if start is None else int(start)
        last = n - steps
        if start < cfg.window or start > last:
            raise DataError(
                f"backtest origins must lie between {cfg.window} (one window in) and {last} "
                f"(leaving {steps} values to compare), got start {start}; choose another start or fewer steps."
            )
        origins = np.arange(start, last + 1, stride)
        scaled = self._scaled(table, n)
        forecasts = self.scaler.inverse_target(self._rollout(scaled, origins, steps))  # (N, steps)
        rows = []
        for o, f in zip(origins.tolist(), forecasts):
            actual = table.target[o : o + steps]
            row = {"origin": o, "forecast": f.tolist(), "actual": actual.tolist()}
            if table.dates is not None:
                row["date"] = table.dates[o]
            row.update(forecast_metrics(actual, f, table.target[:o], season))
            rows.append(row)
        summary = {k: float(np.mean([r[k] for r in rows])) for k in ("mae", "rmse", "mape", "smape", "mase")}
        summary.update(origins=len(rows), steps=steps, results=rows)
        return summary

    # ------------------------------------------------------------------ storage

    def config_dict(self) -> dict:
        sections = {"core": self.core_config, "series": self.series_config, "train": self.train_config}
        return checkpoint.describe("series", sections, inputs=1 + len(self.series_config.features),
                                   tail=self.tail, summary=self.summary)

    def save(self, path) -> Path:
        """Write the model directory atomically; returns its path."""
        self._require_trained()
        scaler = {SCALER_FILE: lambda file: checkpoint.write_json(file, self.scaler.to_dict())}
        return checkpoint.save_model(path, self.config_dict(), self.net.state_dict(), scaler, self.history)

    @classmethod
    def load(cls, path, device: str = "cpu") -> "Forecaster":
        """Open a series model directory (weights from safetensors; no code is run)."""
        path = Path(path)
        config, parts = checkpoint.open_model(path, "series", core=CoreConfig, series=SeriesConfig,
                                              train=TrainConfig)
        core, series, train = parts["core"], parts["series"], parts["train"]
        try:
            tail = config["tail"]
            if config["inputs"] != 1 + len(series.features) or len(tail["target"]) != series.window:
                raise ConfigError("input width or stored window does not match the series settings")
        except (KeyError, TypeError, ConfigError) as exc:
            raise CheckpointError(f"{path / checkpoint.CONFIG} is inconsistent ({exc}); retrain the model.") from None
        model = cls.__new__(cls)
        model._init(core, series, train)
        try:
            scaler = Scaler.from_dict(json.loads((path / SCALER_FILE).read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, ConfigError):
            raise CheckpointError(f"{path / SCALER_FILE} is corrupted; retrain the model.") from None
        if len(scaler.center) != config["inputs"]:
            raise CheckpointError(f"{path / SCALER_FILE} does not match config.json (columns); retrain the model.")
        model.scaler, model.tail = scaler, tail
        model.summary = config.get("summary", {})
        model.device = pick_device(device)
        model.net = SeriesNet(config["inputs"], series, core)
        checkpoint.load_state(model.net, checkpoint.load_weights(path / checkpoint.WEIGHTS), path / checkpoint.WEIGHTS)
        model.net.to(model.device).eval()
        model.history = checkpoint.read_history(path)
        return model


def _is_table(data) -> bool:
    """A source with named columns (CSV path, pandas table, dict) or a 2-D array."""
    return (
        isinstance(data, (str, os.PathLike, Mapping, Table))
        or (hasattr(data, "columns") and hasattr(data, "iloc"))
        or (isinstance(data, np.ndarray) and data.ndim == 2)
    )


# ----------------------------------------------------------------------------- plot


def plot_forecast(path, history, forecast, *, actual=None, dates=None, title: str | None = None) -> Path:
    """Draw history, forecast and (when known) the actual values to an image file, atomically.

    ``dates`` labels the history then the forecast positions.  Uses
    matplotlib's Agg canvas directly, so no display and no global backend.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("plotting needs matplotlib; install it with pip install 'seqtext[plot]'.") from None
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ConfigError(f"the plot file {path} must end in .png, .svg or .pdf.")
    history = np.asarray(history, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    n, k = len(history), len(forecast)
    fig = Figure(figsize=(9, 4.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = np.arange(n + k)
    ax.plot(xs[:n], history, color="0.25", lw=1.4, label="history")
    if actual is not None:
        actual = np.asarray(actual, dtype=np.float64)
        ax.plot(xs[n - 1 : n + len(actual)], np.r_[history[-1], actual], color="tab:green", lw=1.4, label="actual")
    # join the forecast to the last known value so the line does not float
    ax.plot(xs[n - 1 : n + k], np.r_[history[-1], forecast], color="tab:orange", lw=1.8, ls="--", label="forecast")
    ax.axvline(n - 0.5, color="0.6", lw=0.8, ls=":")
    if dates is not None and len(dates) >= n + k:
        ticks = np.unique(np.linspace(0, n + k - 1, min(10, n + k)).round().astype(int))
        ax.set_xticks(ticks, [str(dates[i]) for i in ticks], rotation=30, ha="right")
    else:
        ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    if title:
        ax.set_title(title)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, path)  # the file appears whole or not at all
    except OSError as exc:
        raise ConfigError(f"cannot write the plot to {path} ({exc.strerror or exc}); choose another path.") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path

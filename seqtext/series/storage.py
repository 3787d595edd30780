"""A series model directory's own files: ``scaler.json`` holds each series' scaler and the interval calibration.

One series: the :class:`Scaler` fields at the top level (as format 1
wrote them), plus ``intervals`` when calibrated.  Many series: the scaling
kind and the target's transform at the top (a ``log`` flag in files written before log1p existed), and
``series``: one ``{"id", "center", "scale"}``
per series, in training order (with ``spread`` under mean scaling, and its own ``kind`` and ``transform`` where
they are not the top's: a series ``log1p_troughs`` reads as log(1 + y)).  With static covariates, ``static`` holds
their z-score over the training series (a Scaler's fields).  ``config.json``
keeps the last window of each training series (``tail``; with ``deseasonalize``, the last four periods where
those are longer, for the seasonal ratios; ``{"series":
[{"id", ...}]}`` for many), with the series' ``static`` values when any.
"""

from __future__ import annotations

import json
from pathlib import Path

from seqtext import modeldir
from seqtext.errors import CheckpointError
from seqtext.series import calendar, seasonal
from seqtext.series.intervals import Calibration
from seqtext.series.panel import columns_of
from seqtext.series.scaling import Scaler

SCALER_FILE = "scaler.json"


def write_scalers(path: Path, task) -> None:
    """``scaler.json`` of a trained ForecastTask."""
    if task.many:
        first = next(iter(task.scalers.values()))
        top = {f: v for f, v in first.to_dict().items() if f in ("kind", "transform")}
        stored = {**top, "series": [{"id": k, **{f: v for f, v in s.to_dict().items() if f not in top or top[f] != v}}
                             for k, s in task.scalers.items()]}  # a series' own kind and transform where not the top's
    else:
        stored = task.scaler.to_dict()
    if task.intervals is not None:
        stored["intervals"] = task.intervals.to_dict()
    if task.static_scaler is not None:
        stored["static"] = task.static_scaler.to_dict()
    modeldir.write_json(path, stored)


def read_stored(directory: Path, config: dict, task) -> tuple[dict, int, dict, Calibration | None, Scaler | None]:
    """(scalers by id, input width, tails by id, calibration or None, static scaler or None) of a model
    directory, checked."""
    series = task.settings.series
    inputs, tail = config["inputs"], config["tail"]
    n_static = len(series.static_features)
    cal = calendar.width(series.calendar)
    tails = {t["id"]: {k: v for k, v in t.items() if k != "id"} for t in tail["series"]} if task.many \
        else {None: tail}
    kept = seasonal.tail_length(series.window, series.deseasonalize)
    if inputs != 1 + len(columns_of(series)) + n_static + cal \
            or any(len(t["target"]) > kept for t in tails.values()) \
            or (not task.many and not series.window <= len(tail["target"]) <= kept):
        raise CheckpointError(f"{directory / modeldir.CONFIG} is inconsistent (its input width or stored "
                              "window does not match its series settings); retrain the model.")
    path = directory / SCALER_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if task.many:
            top = {f: stored[f] for f in ("kind", "log", "transform") if f in stored}  # log: files before log1p
            scalers = {s["id"]: Scaler.from_dict({**top, **s}) for s in stored["series"]}
        else:
            scalers = {None: Scaler.from_dict(stored)}
        intervals = Calibration.from_dict(stored["intervals"]) if "intervals" in stored else None
        static = Scaler.from_dict(stored["static"]) if n_static else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path} is corrupted; retrain the model.") from None
    if list(scalers) != list(tails) or any(len(s.center) != inputs - n_static - cal for s in scalers.values()) \
            or (static is not None and len(static.center) != n_static) \
            or any(len(t.get("static", ())) != n_static for t in tails.values()):
        raise CheckpointError(f"{path} does not match config.json (columns); retrain the model.")
    return scalers, inputs, tails, intervals, static

"""Forecasts of a trained model: every series' origins batched into one roll-out, back in each series' units,
with conformal intervals when the model was calibrated.

A *job* is ``(id, table, rows, origins)``: forecast from each origin (a row
of ``table``) reading the first ``rows`` rows (the known target values, and
covariate rows known ahead).  :func:`forecasts` returns, per job, arrays
(len(origins), steps) named ``value``, ``lower_L`` and ``upper_L``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from seqtext.errors import ConfigError, DataError, agrees, counted, plain, some, warn, whole_number
from seqtext.series.dates import forecast_dates, json_label
from seqtext.series.intervals import check_levels, level_name
from seqtext.series.rollout import needed_rows, rollout
from seqtext.series.table import Table, is_table, read_table


def with_future(table: Table, future, series, fill: bool | None = None) -> Table:
    """``table`` with the covariate rows of a ``future`` table after its last value (``series``: the model's;
    ``fill``: interpolate gaps, default its setting)."""
    if not series.features:
        raise DataError("future covariates were given but this model was trained without covariates.")
    if len(table.features) > table.n:
        raise DataError("future covariates were given twice (in the history and in future=); give them once.")
    if not is_table(future):
        raise DataError(f"future= must be a table with the columns {', '.join(map(str, series.features))}.")
    ahead = read_table(future, None, series.features, None, fill=series.fill if fill is None else fill,
                       features_only=True, name="the future table", fitted=True)
    past = np.zeros((len(ahead.features), len(getattr(series, "past_features", []))))  # never read ahead
    return replace(table, features=np.vstack([table.features[: table.n], np.hstack([ahead.features, past])]))


def tail_table(tail: dict, series, source: str = "the training series") -> Table:
    """The end of the training series that a model directory keeps (one window), as a table."""
    columns = list(series.features) + list(getattr(series, "past_features", []))
    names = (series.target, columns, series.date)
    feats = np.asarray(tail["features"], dtype=np.float64).reshape(len(tail["target"]), len(columns))
    static = np.asarray(tail["static"], dtype=np.float64) if "static" in tail else None
    return Table(np.asarray(tail["target"], dtype=np.float64), feats, tail["dates"], names, source, None, static)


def check_history(table: Table, cfg, steps: int, origin: int | None = None, ahead: bool = False) -> None:
    """A history long enough for one window before ``origin`` (default: its end), with the covariates a
    roll-out of ``steps`` reads after it (``ahead``: the network reads those of every step it forecasts)."""
    origin = table.n if origin is None else origin
    if origin < cfg.window:
        raise DataError(f"{_which(table)}has {counted(origin, 'value')} but the model reads windows of {cfg.window}; "
                        f"give at least {counted(cfg.window, 'value')}.")
    if cfg.past_features and steps > cfg.horizon:
        raise DataError(f"the past covariates {', '.join(map(str, cfg.past_features))} are not known after the "
                        f"forecast origin, so this model forecasts at most its horizon of {cfg.horizon} steps; give "
                        f"{{steps}} of {cfg.horizon} or fewer, or train it with a longer horizon ({{horizon}}).",
                        params=["steps", "horizon"])
    need, have = needed_rows(steps, cfg.horizon, ahead), len(table.features) - origin
    if cfg.features and have < need:
        names = ", ".join(map(str, cfg.features))
        what = f"the covariates {names} are known ahead, so forecasting {counted(steps, 'step')} needs them" \
            if ahead else f"forecasting {steps} steps with horizon {cfg.horizon} needs the covariates {names}"
        which = _which(table)
        of = "" if which == "the history " else f" for {which.strip()}"
        raise DataError(f"{what} for the next {counted(need, 'step')} but {have} {agrees(have, 'was', 'were')} "
                        f"given{of}; add them as rows after the last target value.")


def _which(table: Table) -> str:
    """'series M1 ' for a series of many (its source names it), 'the history ' for one."""
    found = re.search(r"\((series [^)]*)\)", table.source)
    return f"{found.group(1)} " if found else "the history "


def input_rows(table: Table, cfg, steps: int, origin: int | None = None, ahead: bool = False) -> int:
    """Rows a roll-out of ``steps`` from ``origin`` (default: the end) reads: covariate rows known ahead count
    (``ahead``: the network reads those of every step it forecasts)."""
    origin = table.n if origin is None else origin
    known = cfg.features or cfg.calendar or cfg.static_features  # inputs known for the steps ahead
    return max(table.n, origin + needed_rows(steps, cfg.horizon, ahead)) if known else table.n


def scaled_forecasts(model, jobs, steps: int) -> tuple[list[np.ndarray], list]:
    """Per job, the forecasts (len(origins), steps) in the model's scaled units, all jobs in one roll-out; and per
    job the seasonal ratios (len(origins), steps) of the steps forecast, to multiply them back by (1.0 without
    ``deseasonalize``)."""
    task, cfg = model.task, model.settings.series
    sources, origins, ids, sizes, floors, ahead = [], [], [], [], [], []
    for key, table, rows, starts in jobs:
        # the values known at the job's first origin: what a series not seen in training is scaled on
        scaled = task.scale(table, rows, key, upto=min(starts))  # (rows, C)
        if cfg.deseasonalize:
            parts, ratios = _deseasonalized(task, key, table, scaled, starts, steps)
            sources += parts
            origins += [cfg.window] * len(starts)  # each part starts a window before its origin
            ahead.append(ratios)
        else:
            sources += [scaled] * len(starts)
            origins += list(starts)
            ahead.append(1.0)
        if cfg.nonnegative:
            floors += [task.scaler_for(key, table, min(starts)).scaled_zero()] * len(starts)
        ids += [task.index_of(key)] * len(starts)
        sizes.append(len(starts))
    if not origins:
        return [np.empty((0, steps)) for _ in jobs], ahead
    out = rollout(model.forecast_windows, sources, origins, steps, cfg.window, cfg.horizon,
                  ids=ids if cfg.id_embed else None, ahead=task.ahead_columns,
                  floor=np.asarray(floors) if cfg.nonnegative else None)  # (N, steps)
    parts = np.split(out, np.cumsum(sizes)[:-1])
    for (key, table, _, starts), part in zip(jobs, parts):
        # float32 overflowed, or the values lie beyond what float64 holds in the target's units (a log's exp)
        if not np.all(np.isfinite(part)) or task.scaler_for(key, table, min(starts)).beyond_range(part):
            if not _finite_weights(model):
                raise DataError("the model's weights are not all numbers (they went to NaN or infinity in "
                                "training), so it cannot forecast; retrain it, with a lower {lr}.", params=["lr"])
            raise DataError(f"the forecast of {_which(table)}is not finite: {_largest(table)} too far beyond the "
                            "scale this model was trained on; check the history.")
    return parts, ahead


def _deseasonalized(task, key, table: Table, scaled: np.ndarray, starts, steps: int) -> tuple[list, np.ndarray]:
    """``deseasonalize``: for each origin the rows of ``scaled`` its roll-out reads (from a window before it, at most
    ``window + steps + horizon``), the target re-scaled with seasonal ratios estimated from the values before the
    origin; and those ratios of the steps it forecasts (len(starts), steps), 1 where the series keeps its values."""
    W, H = task.settings.series.window, task.settings.series.horizon
    parts, ahead = [], np.ones((len(starts), steps))
    for j, origin in enumerate(starts):
        part = scaled[origin - W : origin + steps + H].copy()
        ratios = task.seasonal(table, max(origin + steps, origin - W + len(part)), upto=origin)
        if ratios is not None:
            ahead[j] = ratios[origin : origin + steps]
            ratios = ratios[origin - W : origin - W + len(part)]
        part[:, 0] = task.scaled_target(table, key, origin - W, len(part), ratios, upto=min(starts))
        parts.append(part)
    return parts, ahead


def _finite_weights(model) -> bool:
    """Whether a torch model's weights are all numbers (``seqtext export`` refuses a model whose are not)."""
    net = getattr(model, "net", None)
    return net is None or all(bool(p.isfinite().all()) for p in net.parameters())


def _largest(table: Table) -> str:
    """'its values (up to 1e+300 in size) are' or "column 'heat' (up to 1e+308 in size) is": the column whose
    largest value is largest, the target's or a covariate's."""
    known = table.features[: table.n] if table.features.size else np.empty((table.n, 0))
    peaks = [float(np.max(np.abs(col))) if col.size else 0.0 for col in (table.target, *known.T)]
    i = int(np.argmax(peaks)) if peaks else 0
    if i == 0:
        return f"its values (up to {peaks[0]:g} in size) are"
    return f"column {table.names[1][i - 1]!r} (up to {peaks[i]:g} in size) is"


def _warn_short_seasons(cfg, jobs) -> None:
    """One warning for the forecasts whose origin has fewer than two periods of values before it: with
    ``deseasonalize`` they are made without seasonal ratios."""
    period = cfg.deseasonalize
    short = [(table, o) for _, table, _, starts in jobs for o in starts if o < 2 * period] if period else []
    if not short:
        return
    table, origin = short[0]
    what = f"{{deseasonalize}} {period} estimates seasonal ratios from"
    every = sum(len(starts) for *_, starts in jobs)
    if every == 1:
        warn(f"{_which(table)}has {counted(origin, 'value')} before the forecast, fewer than the two periods "
             f"({2 * period}) that {what}, so it is forecast without them; give a longer history.",
             params=["deseasonalize"])
    else:
        warn(f"{len(short)} of the {every} forecasts start after fewer than the two periods ({2 * period}) of values "
             f"that {what} ({_which(table).strip()}: {counted(origin, 'value')} before its first), so they are made "
             "without them; give longer histories, or start a backtest later.", params=["deseasonalize"])


def require_intervals(model, levels, steps: int | None = None) -> list[float]:
    """The checked ``levels``; refused on a model without calibrated intervals, or calibrated for fewer than
    ``steps`` steps ahead (when given)."""
    levels = check_levels(() if levels is None else levels)
    if levels and model.task.intervals is None:
        exported = getattr(model, "manifest", None)  # an export: the model directory it was made from resumes
        resume = ["seqtext.Forecaster.resume", "levels"]
        if model.settings.series.calibrate and exported is not None:
            raise DataError(f"this export has no calibrated intervals (the training of {exported.get('source')}, or "
                            "their calibration, was interrupted before it was exported); resume that directory with "
                            "{seqtext.Forecaster.resume} and export it again to forecast with {levels}.", params=resume)
        if model.settings.series.calibrate:  # a resume calibrates them
            raise DataError("this model's intervals are not calibrated yet (its training, or their calibration, was "
                            "interrupted); resume it with {seqtext.Forecaster.resume} to calibrate them, then "
                            "forecast with {levels}.", params=resume)
        raise DataError("this model has no calibrated intervals; train it with {calibrate} N (the last N values "
                        "of each series calibrate them, e.g. 24) to forecast with {levels}.",
                        params=["calibrate", "levels"])
    if levels and steps is not None:
        model.task.intervals.check_steps(steps)
    return levels


def forecasts(model, jobs, steps: int, levels=()) -> list[dict]:
    """Per job, ``{"forecast": (N, steps), "lower_L": ..., "upper_L": ...}`` in the series' units."""
    levels = require_intervals(model, levels)
    _warn_short_seasons(model.settings.series, jobs)
    offsets = []
    if levels:
        offsets = [(level_name(level), *model.task.intervals.offsets(level, steps)) for level in levels]
    results = []
    bound = (lambda v: np.maximum(v, 0.0)) if model.settings.series.nonnegative else (lambda v: v)
    for (key, table, _, starts), scaled, ratios in zip(jobs, *scaled_forecasts(model, jobs, steps)):
        scaler = model.task.scaler_for(key, table, min(starts))
        result = {"forecast": bound(scaler.inverse_target(scaled) * ratios)}  # exactly 0 where floored
        unit = scaler.interval_unit / scaler.scale[0]  # interval units -> scaled units (1 unless mean scaling)
        for name, lower, upper in offsets:
            result[f"lower_{name}"] = bound(scaler.inverse_target(scaled + unit * lower) * ratios)  # (N, steps)
            result[f"upper_{name}"] = bound(scaler.inverse_target(scaled + unit * upper) * ratios)
        results.append(result)
    return results


# ------------------------------------------------------------------------- predict / forecast


def read(model, data=None, *, allow_future: bool = True, fill: bool | None = None, name: str | None = None,
         values_only: bool = False) -> list:
    """The series of ``data`` as (id, Table) pairs in the model's columns; without data, the end of the training
    series (one window of each).  ``name``: what messages call data given in Python ("the history")."""
    from seqtext.series.panel import read_series

    model._require_trained()
    cfg = model.settings.series
    if data is None:
        return [(key, tail_table(tail, cfg, "the training series" + (f" (series {key})" if key is not None else "")))
                for key, tail in model.task.tails.items()]
    return read_series(data, cfg, fill=fill, allow_future=allow_future, need_date=False, fitted=True, name=name,
                       values_only=values_only)


def check_fill(fill) -> bool | None:
    """``fill`` as given to predict, evaluate or backtest: True, False or None (the model's setting)."""
    fill = plain(fill)
    if fill is not None and not isinstance(fill, bool):
        raise ConfigError(f"{{fill}} must be True, False or None (the model's setting), got {fill!r}.", params=["fill"])
    return fill


MAX_STEPS = 100_000  # steps one forecast may roll out (the server's requests: seqtext.export.schemas.MAX_STEPS)


def warn_left_out(model) -> None:
    """Before a forecast from the stored ends of the training series: name the series too short to train on,
    which have none there."""
    left = model.task.left_out
    if left:
        warn(f"{counted(len(left), 'series', 'series')} too short to train on ({some(left)}) "
             f"{agrees(len(left), 'is', 'are')} not in the model, so {agrees(len(left), 'it is', 'they are')} "
             "forecast only from a history given with {history}.", params=["history"])


def predict(model, steps, history, future, levels, items=None, fill=None) -> tuple[list, list]:
    """(the series read, one result dict per series) for the next ``steps`` values after each history
    (``items``: the (id, Table) pairs read already; ``fill``: interpolate gaps, default the model's setting)."""
    cfg = model.settings.series
    steps = cfg.horizon if steps is None else whole_number("steps", steps)
    if steps > MAX_STEPS:
        raise ConfigError(f"{{steps}} {steps:,} is more than {MAX_STEPS:,}: a roll-out that long reads nothing but its "
                          "own forecasts and takes memory in proportion; forecast fewer steps.", params=["steps"])
    fill = check_fill(fill)
    if items is None and history is None:  # forecast from the stored ends of the training series
        warn_left_out(model)
    items = read(model, history, fill=fill, name="the history") if items is None else items
    ahead = bool(model.task.ahead_columns)
    if future is not None:
        if cfg.past_features and not (ahead and cfg.features):
            raise DataError("a model with past covariates forecasts at most its horizon and needs no future rows; "
                            "leave out future=.")
        if len(items) != 1 or cfg.id is not None:
            raise DataError("future= is for a model of one series; give the future rows of many series in the "
                            "history table, after each series' last value.")
        items = [(items[0][0], with_future(items[0][1], future, cfg, fill))]
    short = [key for key, table in items if table.n < cfg.window] if cfg.id is not None else []
    if short and len(short) < len(items):  # many series: forecast those that fill a window, name the others
        has, are = agrees(len(short), "has", "have"), agrees(len(short), "is", "are")
        warn(f"{len(short)} of the {len(items)} series {has} fewer values than the window of {cfg.window} and {are} "
             f"not forecast: {some(short)}.")
        items = [(key, table) for key, table in items if key not in short]
    for _, table in items:
        check_history(table, cfg, steps, ahead=ahead)
    jobs = [(key, table, input_rows(table, cfg, steps, ahead=ahead), [table.n]) for key, table in items]
    results = [{name: array[0] for name, array in r.items()} for r in forecasts(model, jobs, steps, levels)]
    return items, results


LEGACY = "value"  # the point forecast's key in forecast rows before they carried intervals; kept for old scripts


def as_rows(items, results) -> list[dict]:
    """Forecast rows ``{"id"?, "step", "date"?, "forecast", "lower_L"?, "upper_L"?, "value"}``, dated when the
    series are; ``value`` repeats ``forecast`` under the rows' name from before intervals (:data:`LEGACY`)."""
    rows, undated = [], []
    for (key, table), result in zip(items, results):
        steps = len(result["forecast"])
        dates = forecast_dates(table, steps)
        if table.dates is not None and dates is None:
            undated.append((key, table))
        for k in range(steps):
            row = {"id": key} if key is not None else {}
            row["step"] = k + 1
            if dates:
                row["date"] = json_label(dates[k])
            row.update({name: float(values[k]) for name, values in result.items()})
            row[LEGACY] = row["forecast"]
            rows.append(row)
    if undated:
        key, table = undated[0]
        whose = "the series'" if key is None else f"{len(undated)} series' (such as {key}'s)"
        warn(f"{whose} last dates (up to {table.dates[table.n - 1]}) are spaced unevenly, in no step that seqtext "
             "can continue, so the forecast rows are numbered by step, without dates.")
    return rows

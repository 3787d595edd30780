"""Backtests that refit: a fresh model, with the settings of the one backtested, is trained on the values before
an origin and forecasts from it (``Forecaster.backtest(..., refit=N)``; ``seqtext forecast backtest --refit N``).

A backtest that fits nothing scores one model over origins whose values it may have trained on (a model
backtested on its own training series), and its interval coverage rests on one calibration, made on one stretch
of each series.  Refitting at each origin is time-series cross-validation: every forecast comes from a model
that saw only the values before it, and every calibration is remade on the values just before its origin, so
the coverage measured is that of the procedure over many stretches of the series.

Origins are placed as for any backtest (row positions in each series).  A refit happens at the earliest origin
and then at every ``N``-th origin time after it: for many series with a date column, an origin's time is its
date, and a refit at a date trains on every series' values dated before it; otherwise it is the row position,
and a refit at row ``o`` trains on the first ``o`` values of each series.  A forecast comes from the latest
refit at or before its origin; a series that refit did not train on (too short, or not begun) is scaled, as
any new id is, on its values before the origin.  With ``train_length`` L a refit trains on the last L values of
each series before it (a sliding window, as darts' ``train_length``), not all of them (an expanding window).
Values ``fill`` made up at the end of what a refit trains on (interpolated from values after it) are left out
of that fit.  Only the series the backtest scores are
trained on; the intervals are calibrated anew only when ``levels`` asks for them.  The backtested model is left
as it was; the refitted ones are not kept.
"""

from __future__ import annotations

import bisect
import itertools
import warnings

from seqtext.errors import DataError, SeqtextWarning, counted
from seqtext.series import baselines as base
from seqtext.series import infer, scoring
from seqtext.series.dates import parse_date
from seqtext.series.panel import ReadSeries
from seqtext.series.scaling import split_point


def refit_points(times, every: int) -> list:
    """The origin times a model is refitted at: the earliest, then every ``every``-th of the sorted times."""
    return sorted(set(times))[::every]


def backtest(model, data, start=None, steps=None, stride: int = 1, season=None, *, baselines=(), levels=(),
             fill=None, every: int = 1, length: int | None = None) -> dict:
    """:func:`seqtext.series.scoring.backtest` with a model refitted every ``every`` origins (module docstring),
    each on at most the last ``length`` values of each series before it (None: all of them); the summary's
    ``refits`` says how many were trained."""
    names = base.available(base.parse(baselines))[0]
    cases, steps = scoring.backtest_cases(model, data, start, steps, stride, fill)
    levels = infer.require_intervals(model, levels, steps)  # before any training
    if length is not None:
        _check_length(model, length, bool(levels))
    items = list({id(table): (key, table) for key, table, _, _ in cases}.values())  # the series scored, in order
    clock = _clock(model, items)
    times = [clock[id(table)][origin] if clock else origin for _, table, origin, _ in cases]
    points = refit_points(times, every)
    rows: list = [None] * len(cases)
    caught: dict = {}
    for i, point in enumerate(points):
        stop = points[i + 1] if i + 1 < len(points) else None
        mine = [j for j, t in enumerate(times) if t >= point and (stop is None or t < stop)]
        first = cases[next(j for j in mine if times[j] == point)]
        where = first[1].dates[first[2]] if clock else f"origin {point}"
        cut = _cut(items, clock, point, length)
        fitted = _refit(model, cut, where, bool(levels), start, caught, label=f"refit {i + 1}/{len(points)}",
                        sliding=length is not None and any(part.n == length for _, part in cut))
        for j, row in zip(mine, scoring.score_cases(fitted, [cases[j] for j in mine], season=season, names=names,
                                                    levels=levels)):
            rows[j] = row
    for message, category in caught.values():  # each warning of the refits once, not once a refit
        warnings.warn(message, category, stacklevel=3)
    summary = scoring.summarize(rows, names, levels)
    summary.update(origins=len(rows), steps=steps, refits=len(points), train_length=length, results=rows)
    return summary


def _trains(model, n: int) -> bool:
    """Whether a refit of ``model`` can train on a series of ``n`` values, and read it as the forecasts from it
    will: a window and a horizon for training (and for the validation part of a single series), and with
    ``deseasonalize`` two seasons in the training part (fewer would train on the values as they are, and the
    forecasts from a longer history would read them deseasonalized)."""
    cfg = model.settings.series
    if n < cfg.window + cfg.horizon:
        return False
    try:
        part = split_point(n, cfg.window, cfg.horizon, model.settings.train.valid_fraction)
    except DataError:
        if cfg.id is None:
            return False
        part = n  # a short series of many: all of it for training
    return not cfg.deseasonalize or part >= 2 * cfg.deseasonalize


def _check_length(model, length: int, calibrated: bool) -> None:
    """Refuse a sliding window too short for a refit of ``model`` (:func:`_trains`; with intervals, for its
    calibration copy too, trained without the last ``calibrate`` values), naming the least that is not."""
    cfg = model.settings.series
    C = cfg.calibrate if calibrated else 0
    fits = lambda n: _trains(model, n) and (not C or _trains(model, n - C))  # noqa: E731
    if fits(length):
        return
    span = cfg.window + cfg.horizon
    least = next(n for n in itertools.count(length + 1) if all(fits(m) for m in range(n, n + span)))
    single = cfg.id is None and model.settings.train.valid_fraction > 0
    needs = ["{window} + {horizon} values to train on"] + \
        ["a validation part ({valid_fraction} of it, at least as many)"] * single + \
        ["two seasons ({deseasonalize}) in its training part"] * bool(cfg.deseasonalize) + \
        ["{calibrate} more for the intervals' calibration copy"] * bool(C)
    raise DataError(f"{{train_length}} {length} is too short for a refit of this model (a series needs "
                    f"{', '.join(needs)}); give {{train_length}} {least} or more.",
                    params=["train_length", "window", "horizon", "valid_fraction", "deseasonalize", "calibrate"])


def _clock(model, items) -> dict | None:
    """{id(table): the comparable time of each known row} for many series with dates; None: row positions."""
    if model.settings.series.id is None or items[0][1].dates is None:
        return None
    return {id(table): [parse_date(str(d))[1] for d in table.dates[: table.n]] for _, table in items}


def _cut(items, clock: dict | None, point, length: int | None = None) -> ReadSeries:
    """What a refit at ``point`` (a date's time with ``clock``, else a row position) trains on: each series' values
    before it, the last ``length`` of them when given; a series not begun by then is left out."""
    parts = [(key, _before(table, bisect.bisect_left(clock[id(table)], point) if clock else point))
             for key, table in items]
    if length is not None:
        parts = [(key, part.since(part.n - length) if part.n > length else part) for key, part in parts]
    return ReadSeries((key, part) for key, part in parts if part.n)


def _before(table, stop: int):
    """The table's first ``stop`` values, less any made up at their end (interpolated from values after them)."""
    stop = min(stop, table.n)
    while stop and table.made_up(stop - 1):
        stop -= 1
    return table.head(stop)


def _refit(model, cut, where: str, calibrated: bool, start, caught: dict, label: str, sliding: bool = False):
    """A fresh model of ``model``'s settings trained on ``cut``; calibrated only for intervals.  ``sliding``: the
    cut is a window of a given length, which is what a refusal says to change."""
    options = {**model.settings.flat(), **({} if calibrated else {"calibrate": 0})}
    fresh = type(model)(progress=label if model.progress else False, **options)
    values = f"the {counted(cut[0][1].n, 'value')}" if model.settings.series.id is None else "the values"
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", SeqtextWarning)
            fresh.fit(cut)
    except DataError as exc:  # its fix names training options; here the origin (or the window) is what can change
        reason = exc.render(str).split("; ")[0].rstrip(".")
        if sliding:
            raise DataError(f"cannot refit on {values} before {where} ({reason}); give a longer {{train_length}}.",
                            params=["train_length"]) from None
        later = "a later {start}" if start is not None else "a {start} later than the default (the middle of each " \
            "series)"
        raise DataError(f"cannot refit on {values} before {where} ({reason}); choose {later}.",
                        params=["start"]) from None
    for w in seen:
        caught.setdefault(str(w.message), (w.message, w.category))
    if calibrated and fresh.task.intervals is None:
        raise DataError(f"the model refitted on {values} before {where} has no prediction intervals (too few "
                        "values to calibrate them); choose a later {start}, or no {levels}.",
                        params=["start", "levels"])
    return fresh

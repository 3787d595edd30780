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
import math
import warnings

from seqtext.errors import DataError, SeqtextWarning, counted
from seqtext.series import baselines as base
from seqtext.series import infer, scoring
from seqtext.series.dates import parse_date
from seqtext.series.panel import ReadSeries


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


def _check_length(model, length: int, calibrated: bool) -> None:
    """Refuse a sliding window shorter than a refit of ``model`` needs of a series: a window and a horizon for
    training (and as many again for the validation part of a single series), two seasons to deseasonalize (fewer
    would train on the values as they are, and forecast from deseasonalized ones), and with intervals the values
    the calibration copy is trained without."""
    cfg, f = model.settings.series, model.settings.train.valid_fraction
    span = cfg.window + cfg.horizon
    least, why = span, ["{window} + {horizon}"]
    if f > 0 and cfg.id is None:  # split_point's least series: both parts a span long
        least = next(n for n in range(2 * span, 10 * span + 10) if n - max(math.ceil(f * n), span) >= span)
        why = ["{window} + {horizon} for training and for the validation part ({valid_fraction})"]
    if cfg.deseasonalize and 2 * cfg.deseasonalize > least:
        least, why = 2 * cfg.deseasonalize, ["two seasons of {deseasonalize}"]
    if calibrated:
        least, why = least + cfg.calibrate, why + ["+ the {calibrate} values its calibration copy trains without"]
    if length < least:
        raise DataError(f"{{train_length}} {length} is fewer than the {least} values a refit of this model needs of "
                        f"a series ({', '.join(why)}); give {{train_length}} {least} or more.",
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

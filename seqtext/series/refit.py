"""Backtests that refit: a fresh model, with the settings of the one backtested, is trained on the values before
an origin and forecasts from it (``Forecaster.backtest(..., refit=N)``; ``seqtext forecast backtest --refit N``).

A backtest that fits nothing scores one model over origins whose values it may have trained on (a model
backtested on its own training series), and its interval coverage rests on one calibration, made on one stretch
of each series.  Refitting at each origin is time-series cross-validation: every forecast comes from a model
that saw only the values before it, and every calibration is remade on the values just before its origin, so
the coverage measured is that of the procedure over many stretches of the series.

Origins are row positions in each series, as for any backtest; a refit at origin ``o`` trains on every series'
first ``o`` values (a series with no more keeps all of them; a series of many too short to train on is left out
of that fit with the fit's warning), at the first origin and then every ``N`` origins, counted over the
origins of every series in order.  A forecast from an origin comes from the latest refit at or before it.  The
backtested model is left as it was; the refitted ones are not kept.
"""

from __future__ import annotations

import warnings

from seqtext.errors import DataError, SeqtextWarning, counted
from seqtext.series import baselines as base
from seqtext.series import infer, scoring
from seqtext.series.panel import ReadSeries


def refit_points(origins, every: int) -> list[int]:
    """The origins a model is refitted at: the first of the sorted origins, then every ``every``-th."""
    return sorted(set(origins))[::every]


def backtest(model, data, start=None, steps=None, stride: int = 1, season=None, *, baselines=(), levels=(),
             fill=None, every: int = 1) -> dict:
    """:func:`seqtext.series.scoring.backtest` with a model refitted every ``every`` origins (module docstring);
    the summary's ``refits`` says how many were trained."""
    names = base.available(base.parse(baselines))[0]
    cases, steps = scoring.backtest_cases(model, data, start, steps, stride, fill)
    items = infer.read(model, data, allow_future=False, fill=infer.check_fill(fill))
    points = refit_points([c[2] for c in cases], every)
    rows: list = [None] * len(cases)
    caught: dict = {}
    for i, point in enumerate(points):
        stop = points[i + 1] if i + 1 < len(points) else None
        mine = [j for j, c in enumerate(cases) if c[2] >= point and (stop is None or c[2] < stop)]
        fitted = _refit(model, items, point, levels, caught, label=f"refit {i + 1}/{len(points)}")
        for j, row in zip(mine, scoring.score_cases(fitted, [cases[j] for j in mine], season=season, names=names,
                                                    levels=levels)):
            rows[j] = row
    for message, category in caught.values():  # each warning of the refits once, not once a refit
        warnings.warn(message, category, stacklevel=3)
    summary = scoring.summarize(rows, names, levels)
    summary.update(origins=len(rows), steps=steps, refits=len(points), results=rows)
    return summary


def _refit(model, items, origin: int, levels, caught: dict, label: str):
    """A fresh model of ``model``'s settings trained on each series' values before ``origin``."""
    fresh = type(model)(progress=label if model.progress else False, **model.settings.flat())
    cut = ReadSeries((key, table.head(min(origin, table.n))) for key, table in items)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", SeqtextWarning)
            fresh.fit(cut)
    except DataError as exc:  # its fix names training options; here the origin is what can change
        reason = exc.render(str).split("; ")[0].rstrip(".")
        raise DataError(f"cannot refit on the {counted(origin, 'value')} before origin {origin} ({reason}); choose "
                        "a later {start}.", params=["start"]) from None
    for w in seen:
        caught.setdefault(str(w.message), (w.message, w.category))
    if levels and fresh.task.intervals is None:
        raise DataError(f"the model refitted on the {counted(origin, 'value')} before origin {origin} has no "
                        "prediction intervals (too few values to calibrate them); choose a later {start}, or no "
                        "{levels}.", params=["start", "levels"])
    return fresh

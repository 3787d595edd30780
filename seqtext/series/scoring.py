"""Scoring a trained model on values it has not seen, beside baselines forecasting from the same histories.

A *case* is one forecast to score: ``(id, table, origin, h)``, the ``h``
values from row ``origin`` of a series forecast from the rows before it.
``evaluate`` makes one case per series (its last ``holdout`` values, or the
values of an ``actuals`` table appended to it), ``backtest`` one per
rolling origin.  Every case is scored with MAE, RMSE, MAPE, sMAPE and MASE;
the baselines (:mod:`seqtext.series.baselines`) are scored on the same
case; with interval levels, so are the coverage, width, Winkler score and
MSIS of the model's intervals, and their width relative to the seasonal
naive forecast's normal interval.  Summaries are means over the cases, the
skill over seasonal naive is ``1 - mean MASE / its mean MASE``, and
``beats_snaive`` the share of cases where the model's MAE is the lower.

A baseline whose fit fails on a case (ETS or Theta on too short a history)
scores NaN there, never 0: its means are over the cases it scored, and
``failed`` counts the others.  Values that ``fill`` made up (missing in the
data) are forecast from but never scored: they are left out of every metric
and of ``values_scored``; so, one step ahead, is a value whose row before it
was made up from it (its forecast read it).
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.errors import ConfigError, DataError, agrees, counted, some, true_or_false, warn, whole_number
from seqtext.series import baselines as base
from seqtext.series import infer
from seqtext.series.actuals import actual_cases
from seqtext.series.dates import json_label, season_of
from seqtext.series.intervals import check_levels, level_name
from seqtext.series.metrics import METRICS, forecast_metrics, interval_metrics, mean_metrics
from seqtext.series.table import Table

INTERVAL_METRICS = ("coverage", "width", "winkler", "msis", "width_vs_snaive")


def season_for(season, table: Table, origin: int) -> int:
    """The season given, or the one the dates before ``origin`` suggest (1 without dates)."""
    if season is not None:
        return whole_number("season", season)
    return season_of(table.dates[:origin]) if table.dates is not None else 1


def _given(data):
    """``data`` to score, refused when None: read as the training series' end, that last window alone holds too
    few values to hold any out (with ``actuals``, None stays the training series' end, the values forecast from)."""
    if data is None:
        raise DataError("{data} is None; give the series to score (a CSV path, values, an array, a pandas table or "
                        "a dict of columns), as the model keeps only the end of its training series.",
                        params=["data"])
    return data


def holdout_cases(model, data, holdout=None, actuals=None, fill=None) -> tuple[list, list]:
    """(cases, skipped ids): one case per series, its last ``holdout`` values (default: the horizon), or the
    values of ``actuals`` (the same columns, the rows after each series' history) forecast from all of it.

    Of many series, those whose history is shorter than the window are
    skipped (and named); a single series that short is an error.  ``fill``:
    interpolate gaps (default: the model's setting)."""
    if holdout is not None and actuals is not None:
        raise ConfigError("{actuals} scores every value it holds; leave out {holdout} (or {actuals}, to score the "
                          "last {holdout} values of the data).", params=["actuals", "holdout"])
    cfg = model.settings.series
    fill = infer.check_fill(fill)
    items = infer.read(model, _given(data) if actuals is None else data, allow_future=False, fill=fill)
    if actuals is not None:
        cases = actual_cases(items, infer.read(model, actuals, allow_future=False, fill=fill))
    else:
        holdout = cfg.horizon if holdout is None else whole_number("holdout", holdout)
        cases = [(key, table, table.n - holdout, holdout) for key, table in items]
    kept = [c for c in cases if c[2] >= cfg.window or c[0] is None]
    skipped = [c[0] for c in cases if c[2] < cfg.window and c[0] is not None]
    if not kept:
        raise DataError(f"no series has the {counted(cfg.window, 'value')} of a window before the values to score; "
                        "give longer series or a smaller {holdout}.", params=["holdout"])
    for key, table, origin, h in kept:
        if origin < cfg.window:
            raise DataError(f"the series has {counted(table.n, 'value')}; holding out {h} leaves fewer than the "
                            f"window of {cfg.window} to forecast from; give a longer series or a smaller {{holdout}}.",
                            params=["holdout"])
    if actuals is None:
        kept = _unpeeked(kept)
    _warn_made_up(kept)
    return kept, skipped


def _unpeeked(cases) -> list:
    """The cases less those whose last value before the held-out ones {fill} made up from them: left out, named in
    a warning; when that is every one (a single series), an error."""
    peeking = [c[0] for c in cases if _after_made_up(c)]
    if not peeking:
        return cases
    what = "a value before the held-out ones (the target's or a past-only covariate's)"
    if len(peeking) == len(cases):
        _, table, origin, _ = cases[0]
        where = table.where(origin - 1) if cases[0][0] is None else f"every series: {some(peeking)}"
        raise DataError(f"{what} is missing ({where}), and {{fill}} would make it up from the held-out values, "
                        "which a forecast must not read; give it, or hold out another number of values ({holdout}).",
                        params=["fill", "holdout"])
    warn(f"{what} is missing in {len(peeking)} of the {len(cases)} series, and {{fill}} would make it up from the "
         f"held-out values, which a forecast must not read; left out: {some(peeking)}.", params=["fill"])
    return [c for c in cases if c[0] not in peeking]  # not among the skipped, "too short": the warning named them


def _warn_made_up(cases) -> None:
    """One warning when {fill} made up some of the values to score: they are left out of the scores."""
    made_up = sum(h - int(t.known(o, o + h).sum()) for _, t, o, h in cases)
    if made_up:
        total = sum(h for *_, h in cases)
        warn(f"{made_up} of the {total} values to score {agrees(made_up, 'is', 'are')} missing in the data; {{fill}} "
             f"fills {agrees(made_up, 'it', 'them')} to forecast from, but {agrees(made_up, 'it is', 'they are')} "
             "left out of the scores.", params=["fill"])


def _after_made_up(case) -> bool:
    """Whether the row before a case's origin holds a value {fill} made up from the rows after it (which a forecast
    from the origin must not read)."""
    _, table, origin, _ = case
    return table.made_up(origin - 1)


def _peeked(table: Table, origin: int, h: int) -> np.ndarray:
    """Per held-out value, whether the row before it, after the origin, holds a value {fill} made up from the rows
    after it: a one-step forecast of the value read it (the origin's own row before is checked with the cases)."""
    return np.array([j > 0 and table.made_up(origin + j - 1) for j in range(h)], dtype=bool)


def _scored(table: Table, origin: int, h: int, one_step: bool) -> np.ndarray:
    """Per held-out value, whether it is scored: not made up by {fill}, nor, one step ahead, forecast from a value
    made up from it."""
    known = table.known(origin, origin + h)
    return known & ~_peeked(table, origin, h) if one_step else known


def _warn_one_step_peeks(cases) -> None:
    """One warning when one-step forecasts read values {fill} made up from the values they forecast, naming the
    cases left with nothing to score."""
    peeks = sum(int((t.known(o, o + h) & ~_scored(t, o, h, True)).sum()) for _, t, o, h in cases)
    if not peeks:
        return
    none = [key for key, t, o, h in cases if not _scored(t, o, h, True).any()]
    if not none:
        left = ""
    elif len(cases) == 1:
        left = "; no held-out value is left to score one step ahead, so the one-step scores are NaN"
    else:
        left = (f"; {len(none)} of the {len(cases)} series keep no value to score one step ahead and are left out "
                f"of the one-step means: {some(none)}")
    warn(f"{counted(peeks, 'held-out value')} {agrees(peeks, 'follows', 'follow')} a row whose value {{fill}} made "
         f"up from {agrees(peeks, 'it', 'them')}, which {agrees(peeks, 'its', 'their')} one-step forecast read; "
         f"{agrees(peeks, 'it is', 'they are')} left out of the one-step scores{left}.", params=["fill"])


def model_forecasts(model, cases, one_step: bool = False, levels=()) -> list[dict]:
    """Per case ``{"forecast": (h,), "lower_L", "upper_L"}``: one roll-out of h steps, or h one-step forecasts
    (with a warning when some read a value {fill} made up from the one they forecast)."""
    true_or_false("one_step", one_step)
    if one_step:
        _warn_one_step_peeks(cases)
    cfg = model.settings.series
    out: list = [None] * len(cases)
    groups: dict = {}
    for i, (key, table, origin, h) in enumerate(cases):
        steps, starts = (1, list(range(origin, origin + h))) if one_step else (h, [origin])
        infer.check_history(table, cfg, steps, origin, ahead=bool(model.task.ahead_columns))
        groups.setdefault(steps, []).append((i, (key, table, table.n, starts)))
    for steps, members in groups.items():
        for (i, _), result in zip(members, infer.forecasts(model, [job for _, job in members], steps, levels)):
            out[i] = {name: a[:, 0] if one_step else a[0] for name, a in result.items()}
    return out


def baseline_forecast(names, target, origin: int, h: int, season: int, one_step: bool) -> dict:
    """The baselines' forecasts of the h values from ``origin``: one multi-step forecast, or h one-step ones."""
    if not one_step:
        return base.forecast(names, target[:origin], h, season)
    steps = [base.forecast(names, target[:t], 1, season) for t in range(origin, origin + h)]
    return {name: np.array([s[name][0] for s in steps]) for name in names}


def _snaive_interval(target, origin: int, h: int, season: int, level: float, one_step: bool) -> tuple:
    """Seasonal naive's ``level`` % interval of the h values from ``origin`` (lower, upper): of one multi-step
    forecast, or of each one-step forecast, from the values before it (as :func:`baseline_forecast`)."""
    if not one_step:
        return base.seasonal_naive_interval(target[:origin], h, season, level)
    bounds = [base.seasonal_naive_interval(target[:t], 1, season, level) for t in range(origin, origin + h)]
    return np.concatenate([b[0] for b in bounds]), np.concatenate([b[1] for b in bounds])


def score_cases(model, cases, *, season=None, names=(), levels=(), one_step: bool = False) -> list[dict]:
    """One result row per case: forecast, actual values, metrics, and the baselines' and intervals' scores."""
    levels = check_levels(() if levels is None else levels)
    forecasts = model_forecasts(model, cases, one_step, levels)
    rows = []
    for (key, table, origin, h), fc in zip(cases, forecasts):
        m = season_for(season, table, origin)
        history, actual = table.target[:origin], table.target[origin : origin + h]
        known = _scored(table, origin, h, one_step)
        row = {"id": key} if key is not None else {}
        row.update(origin=origin, steps=h)
        if table.dates is not None:
            row["date"] = json_label(table.dates[origin])
        row.update(season=m, forecast=fc["forecast"].tolist(), actual=table.actual(origin, origin + h).tolist())
        if not known.all():
            row["scored"] = int(known.sum())
        actual = actual[known]
        row.update(forecast_metrics(actual, fc["forecast"][known], history, m))
        if names:
            row["baselines"] = {name: {"forecast": f.tolist(), **forecast_metrics(actual, f[known], history, m)}
                                for name, f in baseline_forecast(names, table.target, origin, h, m, one_step).items()}
        if levels:
            row["intervals"] = {}
            for level in levels:
                lower, upper = fc[f"lower_{level_name(level)}"], fc[f"upper_{level_name(level)}"]
                scores = interval_metrics(actual, lower[known], upper[known], level, history, m)
                s_lower, s_upper = (b[known] for b in  # the steps the model's width is over
                                    _snaive_interval(table.target, origin, h, m, level, one_step))
                s_width = float(np.mean(s_upper - s_lower)) if known.any() else math.nan
                scores["width_vs_snaive"] = scores["width"] / s_width if s_width > 0 else math.nan
                scores["snaive_coverage"] = float(100 * np.mean((actual >= s_lower) & (actual <= s_upper))) \
                    if known.any() else math.nan
                row["intervals"][level_name(level)] = {"lower": lower.tolist(), "upper": upper.tolist(), **scores}
        rows.append(row)
    return rows


def summarize(rows: list[dict], names=(), levels=()) -> dict:
    """Means over the result rows of every metric, the baselines' and the intervals'; skill and beats_snaive.

    Each baseline's means are over the rows it scored, ``failed`` the number
    of rows where its fit failed (its forecast is NaN there); ``mase_undefined`` (when not 0) the number of
    rows whose history is no longer than the season, where MASE (and MSIS) is NaN, with a warning."""
    summary = mean_metrics(rows)
    summary["values_scored"] = sum(r.get("scored", r["steps"]) for r in rows)
    short = [r for r in rows if r["origin"] <= r["season"]]  # no seasonal-naive error within the history
    if short:
        summary["mase_undefined"] = len(short)
        _warn_no_mase(short, len(rows), bool(levels))
    if names:
        summary["baselines"] = {}
        for n in names:
            scored = [r["baselines"][n] for r in rows]
            failed = sum(not np.isfinite(b["forecast"]).all() for b in scored)
            summary["baselines"][n] = {**mean_metrics(scored), "failed": failed}
    if "snaive" in names:
        ref = summary["baselines"]["snaive"]
        key = "mase" if math.isfinite(summary["mase"]) and math.isfinite(ref["mase"]) and ref["mase"] > 0 else "mae"
        summary["skill"] = 1 - summary[key] / ref[key] if ref[key] > 0 else math.nan
        summary["skill_on"] = key
        scored = [(r["mae"], r["baselines"]["snaive"]["mae"]) for r in rows]  # both finite: a case with a score
        scored = [mine < theirs for mine, theirs in scored if math.isfinite(mine) and math.isfinite(theirs)]
        summary["beats_snaive"] = float(np.mean(scored)) if scored else math.nan
    if levels:
        summary["intervals"] = {
            level_name(v): mean_metrics([r["intervals"][level_name(v)] for r in rows],
                                        INTERVAL_METRICS + ("snaive_coverage",)) for v in check_levels(levels)}
    return summary


def _warn_no_mase(short: list[dict], total: int, intervals: bool) -> None:
    """One warning that MASE is undefined (NaN; null in JSON) where the history is no longer than the season."""
    what, they = ("MASE and MSIS are", "they are") if intervals else ("MASE is", "it is")
    which = "" if total == 1 else f" for all {total} forecasts scored" if len(short) == total else \
        f" for {len(short)} of the {total} forecasts scored (the means leave {agrees(len(short), 'it', 'them')} out)"
    first = short[0]
    warn(f"{what} undefined{which}: {they} scaled by the error of forecasting each value of the history from the one "
         f"a season ({first['season']}) before it, and the {counted(first['origin'], 'value')} before the values to "
         f"score hold no such pair; "
         + (f"give a {{season}} below {first['origin']}, or a longer history." if first["origin"] > 1
            else "give a longer history (a season needs two values or more before the values to score)."),
         params=["season"])


def evaluate(model, data, holdout=None, *, one_step=False, season=None, baselines=(), levels=(), actuals=None,
             fill=None) -> dict:
    """Scores of the last ``holdout`` values of each series (or of ``actuals``), with baselines and intervals."""
    names = base.available(base.parse(baselines))[0]
    cases, skipped = holdout_cases(model, data, holdout, actuals, fill)
    seen = seen_in_training(model, cases)
    if seen:
        warn(seen)
    rows = score_cases(model, cases, season=season, names=names, levels=levels, one_step=one_step)
    summary = summarize(rows, names, levels)
    summary.update(holdout=max(c[3] for c in cases), mode="one_step" if one_step else "rollout")
    if model.settings.series.id is not None:
        summary.update(series=len(rows), skipped=skipped, results=rows)
    elif "baselines" in summary or levels:
        summary["results"] = rows
    return summary


def seen_in_training(model, cases) -> str | None:
    """What to say when the model was trained on values it is asked to score (an honest score needs a model
    trained without them), or None."""
    seen = [(k, last) for k, t, o, _ in cases if (last := model.seen_in_training(t, o, k))]
    if not seen:
        return None
    (first, last), honest = seen[0], "train it without them for an honest score"
    return f"the model was trained on values up to {last}, so it has seen the held-out values; {honest}" \
        if first is None else f"the model was trained on the held-out values of {len(seen)} of the " \
        f"{len(cases)} series (series {first}'s up to {last}); {honest}"


def backtest_cases(model, data, start=None, steps=None, stride: int = 1, fill=None) -> tuple[list, int]:
    """Rolling-origin cases: origins from ``start`` (default: the middle of each series, at least a window in)
    to the last one with ``steps`` values after it, every ``stride`` rows; an origin whose values ``fill`` made
    up, every one, is left out (with a warning)."""
    cfg = model.settings.series
    steps = cfg.horizon if steps is None else whole_number("steps", steps)
    stride = whole_number("stride", stride)
    start = None if start is None else whole_number("start", start, minimum=0)  # 20.7 or "20" was cut to 20
    cases, short = [], []
    items = infer.read(model, _given(data), allow_future=False, fill=infer.check_fill(fill))
    for key, table in items:
        n = table.n
        first = max(cfg.window, n // 2) if start is None else start
        last = n - steps
        if first < cfg.window or first > last:
            if key is not None and (start is None or cfg.window <= first):
                short.append(key)  # a series of many too short to backtest (from ``start``)
                continue
            if start is None or last < cfg.window:
                message, params = _too_short("the series has", n, cfg.window, steps, start is None)
                raise DataError(message, params=params)
            raise DataError(f"backtest origins must lie between {cfg.window} (one window in) and {last} (leaving "
                            f"{steps} values to compare), got {{start}} {first}; choose another {{start}} or fewer "
                            "{steps}.", params=["start", "steps"])
        cases += [(key, table, o, steps) for o in range(first, last + 1, stride)]
    peeking = [c for c in cases if _after_made_up(c)]
    if cases and len(peeking) == len(cases):
        raise DataError("every origin follows a value made up by {fill} from the values after it; give the "
                        "missing values, or choose another {start} or {stride}.", params=["fill", "start", "stride"])
    if peeking:  # interpolated from the values after the origin: a forecast from it would read them
        warn(f"at {len(peeking)} of the {len(cases)} origins a value just before (the target's or a past-only "
             f"covariate's) was made up by {{fill}} from "
             "the values after it, which a forecast from there must not read; those origins are left out.",
             params=["fill"])
        cases = [c for c in cases if not _after_made_up(c)]
    scored = [c for c in cases if c[1].known(c[2], c[2] + steps).any()]
    if scored and len(scored) < len(cases):
        warn(f"at {len(cases) - len(scored)} of the {len(cases)} origins every value to score is missing in the "
             "data (filled by {fill}); those origins are left out.", params=["fill"])
        cases = scored
    elif cases and not scored:
        raise DataError("every value to score is missing in the data (filled by {fill}, which makes up values to "
                        "forecast from, not to score); give the known values.", params=["fill"])
    if not cases:
        longest = max(t.n for _, t in items)
        if start is not None and longest - steps >= cfg.window:
            raise DataError(f"no series is long enough to backtest from {{start}} {start} (the longest has "
                            f"{counted(longest, 'value')}, so origins end at {longest - steps}); choose an earlier "
                            "{start} or fewer {steps}.", params=["start", "steps"])
        message, params = _too_short("no series is long enough to backtest: the longest has", longest, cfg.window,
                                     steps, start is None)
        raise DataError(message, params=params)
    if short:
        need = f"a window of {cfg.window}" if start is None else f"{counted(start, 'value')} before the first origin"
        are = agrees(len(short), "is", "are")
        warn(f"{len(short)} of the {len(items)} series {are} too short to backtest ({need} and "
             f"{counted(steps, 'value')} after it) and {are} left out: {some(short)}.")
    _warn_made_up(cases)
    return cases, steps


def _too_short(what: str, n: int, window: int, steps: int, default_start: bool) -> tuple[str, list[str]]:
    """The sentence for a history too short for any backtest origin: ``what`` N values, against a window and
    ``steps`` values after it; by default the origins start halfway (``default_start``), so an earlier
    ``start`` leaves room for more steps."""
    need = f"{what} {counted(n, 'value')}, but each origin needs a window of {window} before it and {steps} after it"
    if n - window < 1:
        return f"{need}, so it cannot be backtested; give a series of more than {counted(window, 'value')}.", []
    first = max(window, n // 2) if default_start else window
    if first > window:  # origins from the middle: fewer steps fit, or more from an earlier start
        return (f"{need} (and origins start halfway, at {first}); give fewer {{steps}} (at most {n - first}), or "
                f"{{start}} {window} for up to {n - window}.", ["steps", "start"])
    return f"{need}; give fewer {{steps}} (at most {n - window}).", ["steps"]


def backtest(model, data, start=None, steps=None, stride=1, season=None, *, baselines=(), levels=(),
             fill=None) -> dict:
    """Forecasts of ``steps`` values from rolling origins, fitting nothing; means over the origins and the rows."""
    names = base.available(base.parse(baselines))[0]
    cases, steps = backtest_cases(model, data, start, steps, stride, fill)
    rows = score_cases(model, cases, season=season, names=names, levels=levels)
    summary = summarize(rows, names, levels)
    summary.update(origins=len(rows), steps=steps, results=rows)
    return summary


__all__ = ["METRICS", "backtest", "evaluate", "holdout_cases", "model_forecasts", "score_cases", "summarize"]

"""Scoring on actual values given apart from the history (``evaluate(..., actuals=...)``; ``seqtext forecast
evaluate --actuals FILE``): each series' history and the rows of its actual values joined into one table, whose
rows after the history are the values to score."""

from __future__ import annotations

import numpy as np

from seqtext.errors import DataError, agrees, some, warn
from seqtext.series import static
from seqtext.series.dates import check_dates, future_dates, within
from seqtext.series.table import Table


def actual_cases(items, later_items) -> list:
    """One case ``(id, joined table, origin, h)`` per series of the history ``items`` that the actual values
    ``later_items`` (both ``[(id, Table)]``) hold rows of: those rows, forecast from the whole history."""
    later = dict(later_items)
    unknown = [k for k in later if k not in dict(items)]
    if unknown:
        raise DataError(f"the actual values name a series {unknown[0]!r} that the history does not have; give "
                        "the history of every series in the actual values.")
    cases = [(key, _join(table, later[key]), table.n, later[key].n) for key, table in items if key in later]
    _warn_not_following([(key, joined, n) for key, joined, n, _ in cases])
    absent = [key for key, _ in items if key not in later]
    if absent and cases:
        warn(f"the actual values hold no rows of {len(absent)} of the {len(items)} series, which "
             f"{agrees(len(absent), 'is', 'are')} not scored: {some(absent)}.")
    return cases


def _warn_not_following(cases) -> None:
    """One warning for actual values whose first date does not follow their history's last at its spacing (a
    forecast of the next steps is then scored against later values)."""
    from seqtext.series.dates import uneven

    late = [(key, joined, n) for key, joined, n in cases if joined.dates is not None and n in uneven(joined.dates)]
    if late:
        key, joined, n = late[0]
        where = f"it ends at {joined.dates[n - 1]}, they start at {joined.dates[n]}"
        whose = f"the actual values do not follow the history ({where})" if key is None else \
            f"the actual values of {len(late)} series ({some([k for k, _, _ in late])}) do not follow their " \
            f"history (series {key}'s: {where})"
        warn(f"{whose}, so the forecast of the next steps is scored against later values; give the actual values "
             "from the step after the history.")


def _join(history: Table, later: Table) -> Table:
    """A series' history followed by the rows of its actual values."""
    if later.plain and later.dates is None:  # values alone (a list): the steps after the history, dated on from it
        dates = None
        if history.dates is not None:
            more = future_dates(history.dates[: history.n], later.n)
            if more is None:
                raise DataError(f"the dates of {history.source} are unevenly spaced, so the dates of actual values "
                                "given alone are not known; give them as a table with their dates.")
            dates = history.dates[: history.n] + more
    elif (history.dates is None) != (later.dates is None):  # joined, the dates of one would be dropped
        dated, undated = (history.source, later.source) if later.dates is None else (later.source, history.source)
        raise DataError(f"{dated} has dates (column {history.names[2] or later.names[2]!r}) and {undated} has none, "
                        "so the actual values cannot be placed after the history by date; give both with their "
                        "dates, or neither.")
    else:
        dates = history.dates + later.dates if history.dates is not None else None
    if later.dates is not None and dates is not None and later.n and history.n and \
            within(later.dates[0], history.dates[history.n - 1]):
        line = f" (line {later.first_line if isinstance(later.first_line, int) else later.first_line[0]})" \
            if later.first_line is not None else ""
        raise DataError(f"the actual values in {later.source} start at {later.dates[0]}{line}, not after the "
                        f"history's last date, {history.dates[history.n - 1]}; give the values that come after the "
                        "history.")
    static.check_same(history, later)
    joined = Table(np.concatenate([history.target, later.target]),
                   np.vstack([history.features[: history.n], later.features[: later.n]]), dates, history.names,
                   f"{history.source} and its actual values", None, history.static,
                   filled=_joined_mask(history.filled, later.filled, history.n, later.n),
                   past_filled=_joined_mask(history.past_filled, later.past_filled, history.n, later.n),
                   plain=history.plain)
    if dates is not None:
        check_dates(joined, history.names[2])  # the actual values must come after the history
    return joined


def _joined_mask(first, second, n1: int, n2: int) -> np.ndarray | None:
    """Two tables' row masks (None: no row marked) as one over their rows joined."""
    if first is None and second is None:
        return None
    return np.concatenate([np.zeros(n1, bool) if first is None else first[:n1],
                           np.zeros(n2, bool) if second is None else second[:n2]])

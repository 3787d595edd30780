"""Many series in one long table: the rows of each value of an id column are one series.

    id,month,value            M1 -> Table(month, value)
    M1,2000-01,112            M2 -> Table(month, value)
    M1,2000-02,118            ...
    M2,2000-01,30

:func:`read_series` returns the series of a source as ``(id, Table)`` pairs,
in the order of their first row; a model without an id column reads one
pair, ``(None, table)``.  Each series is checked like a single one (numeric
cells, increasing dates), with messages that name its id and, when its rows
are contiguous, the CSV line; its static covariates, when the model reads
any, are checked to be one number per series (:mod:`seqtext.series.static`).
"""

from __future__ import annotations

from seqtext.errors import DataError, some
from seqtext.series.static import read_static
from seqtext.series.dates import check_same_form
from seqtext.series.table import Table, _columns, from_columns, is_table, it_has, pick_target


class ReadSeries(list):
    """Series read already, as ``(id, Table)`` pairs: :func:`read_series` gives them back as they are (a
    backtest's refit trains on the first values of each series it read)."""


def columns_of(series) -> list:
    """The covariate columns a model reads, known-ahead ones first (``series``: its SeriesConfig)."""
    return list(series.features) + list(series.past_features)


def read_series(data, series, *, fill: bool | None = None, allow_future: bool = False,
                need_date: bool = True, fitted: bool = False,
                name: str | None = None, values_only: bool = False) -> list[tuple[str | None, Table]]:
    """The series of ``data`` as (id, Table) pairs (``series``: the SeriesConfig naming the columns; ``fitted``:
    those of a trained model, read to forecast or score; ``name``: what messages call data given in Python, such
    as "the history", where a file is named by its path; ``values_only``: the target column is a plain sequence
    of values given with its series' id, named by ``name`` rather than as a column)."""
    if isinstance(data, ReadSeries):
        return list(data)
    fill = series.fill if fill is None else fill
    features = columns_of(series)
    ahead_dates = bool(getattr(series, "calendar", False))  # a calendar model reads the dates of the steps ahead
    statics = list(getattr(series, "static_features", []))
    if series.id is None:
        if (features or statics) and not is_table(data):
            raise DataError(f"this model also reads the covariates {', '.join(map(str, features + statics))}; "
                            "give a table with those columns, not a plain series.")
        if isinstance(data, Table):
            return [(None, data)]
        columns, order, source, first_line = _columns(data, name)
        target = series.target  # of a plain sequence, the name it is trained or forecast as
        kept = [c for c in order if c not in statics] if columns is not None else order
        table = from_columns(columns, kept, source, first_line, target, features, series.date, fill=fill,
                             allow_future=allow_future, need_date=need_date, past=len(series.past_features),
                             fitted=fitted, ahead_dates=ahead_dates)
        table.static = read_static(columns, order, table, statics, fitted=fitted) if statics else None
        _warn_uneven([(None, table)], series)
        return [(None, table)]
    if isinstance(data, Table) or not is_table(data):
        raise DataError(f"this model forecasts many series; give a table with its id column {series.id!r}, not a "
                        "single series.")
    columns, order, source, first_line = _columns(data, name)
    if series.id not in columns:
        raise DataError(f"{source} has no column {series.id!r} ({it_has(order)}); check {{id}}.",
                        params=["id"])
    labels = columns.pop(series.id)
    if not labels:
        raise DataError(f"{source} has no rows; give a series with values.")
    order = [c for c in order if c != series.id]
    target = series.target if series.target is not None else pick_target(
        [c for c in order if c not in statics], series.date, features, source, columns)
    groups: dict[str, list[int]] = {}  # id -> its rows, ids in the order of their first row
    for i, label in enumerate(labels):
        key = "" if label is None else str(label).strip()
        where = f"line {_line(first_line, i)}" if first_line is not None else f"row {i}"
        if not key or key.lower() == "nan":
            raise DataError(f"column {series.id!r} is blank at {where} of {source}; name the series of every row.")
        if len(key.splitlines()) > 1 or any(ord(c) < 32 or ord(c) == 127 for c in key):  # no name a message shows
            raise DataError(f"column {series.id!r} at {where} of {source} holds {key!r}, with a line break or another "
                            "control character (a quote closed lines later?); write each id as text on one line.")
        groups.setdefault(key, []).append(i)
    out = []
    for key, rows in groups.items():
        contiguous = rows[-1] - rows[0] + 1 == len(rows)
        line = None if first_line is None else first_line + rows[0] if contiguous and isinstance(first_line, int) \
            else [_line(first_line, r) for r in rows]
        cols = {c: [columns[c][i] for i in rows] for c in order}
        table = from_columns(cols, [c for c in order if c not in statics], f"{source} (series {key})", line,
                             target, features, series.date, fill=fill, allow_future=allow_future,
                             need_date=need_date, past=len(series.past_features), fitted=fitted,
                             ahead_dates=ahead_dates,
                             positions=rows if first_line is None else None,  # in memory: the table's row
                             values_only=values_only)
        table.static = read_static(cols, order, table, statics, key, file=source, fitted=fitted) if statics else None
        out.append((key, table))
    check_same_form(out, series.date)
    _warn_uneven(out, series)
    return out


def _warn_uneven(items, series) -> None:
    """One warning for dates with a gap: windows would read the values on each side of it as neighbours."""
    from seqtext.errors import warn
    from seqtext.series.dates import uneven

    found = [(key, table, rows) for key, table in items if (rows := uneven(table.dates))]
    if not found:
        return
    key, table, rows = found[0]
    i = rows[0]
    place = f"{table.dates[i - 1]} is followed by {table.dates[i]} at {table.where(i)}"
    more = f" (and at {len(rows) - 1} more place{'s' if len(rows) > 2 else ''})" if len(rows) > 1 else ""
    whose = f"the dates in column {series.date!r}" if key is None else \
        f"the dates of {len(found)} of the {len(items)} series ({some([k for k, _, _ in found])}) in column " \
        f"{series.date!r}"
    warn(f"{whose} are not evenly spaced: {place}{more}; the windows read the values on each side of a gap as "
         "neighbours, so add the missing dates as rows with blank values and {fill}, unless the spacing is meant.",
         params=["fill"])


def describe(items) -> str:
    """'series M1' or 'the series' for messages."""
    return "the series" if len(items) == 1 and items[0][0] is None else f"{len(items)} series"


def _line(first_line: int | list, row: int) -> int:
    """The file line of a row of the whole table (``first_line``: that of row 0, or of each row)."""
    return first_line[row] if isinstance(first_line, list) else first_line + row

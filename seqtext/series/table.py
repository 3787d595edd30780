"""Reading a series: CSV files, pandas tables, dicts of columns, arrays and lists, checked and numeric.

:func:`read_table` turns any supported source into a :class:`Table`: the
target's known values, the covariate columns (which may run past the target:
rows known ahead of it) and the date labels, with every cell checked.  A bad
cell is one sentence naming its line (CSV) or row; NaN and infinities are
refused unless ``fill`` interpolates them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from seqtext.errors import DataError, is_missing, printable
from seqtext.series.csvfile import read_csv
from seqtext.series.dates import check_dates, date_labels


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
    first_line: int | list | None  # CSV line of row 0, or of each row (a series spread over the file); None in memory
    static: np.ndarray | None = None  # (S,) the series' static covariates, when the model reads them
    filled: np.ndarray | None = None  # (n,) True where {fill} made up a missing target value; None: none was
    # (n,) True where {fill} made up a past-only covariate's value (interpolated, maybe from later rows); None: none
    past_filled: np.ndarray | None = None
    plain: bool = False  # a plain sequence of values: its target has no column name of the user's to be called by
    positions: list | None = None  # each row's place in the whole table given in memory (a series of many), or None

    @property
    def n(self) -> int:
        return len(self.target)

    def line(self, i: int) -> int | None:
        """The file line of row ``i`` (None for an in-memory table, or a row past the file's)."""
        if isinstance(self.first_line, list):
            return self.first_line[i] if i < len(self.first_line) else None
        return None if self.first_line is None else i + self.first_line

    def at(self, i: int) -> str:
        """'line 5' of a file, or 'row 3' of data given in memory: counted from 0 over the whole table, as Python
        indexes it (for a series of many, its row among every series' rows)."""
        line = self.line(i)
        if line is not None:
            return f"line {line}"
        return f"row {self.positions[i] if self.positions is not None and i < len(self.positions) else i}"

    def where(self, i: int) -> str:
        return f"{self.at(i)} of {self.source}"

    def subject(self, name) -> str:
        """A column as a message names it: "column 'y'"; a plain sequence's values by its source ("the history")."""
        return self.source if self.plain and name == self.names[0] else f"column {name!r}"

    def place(self, i: int, name) -> str:
        """Where row ``i`` of column ``name`` is, after :meth:`subject`: "row 3 of the table", "line 5 of a.csv";
        a plain sequence's "row 3" (its subject named the source)."""
        return f"row {i}" if self.plain and name == self.names[0] else self.where(i)

    def whole(self, name) -> str:
        """A whole column as a message names it: "column 'y' of the table"; a plain sequence's source."""
        return self.source if self.plain and name == self.names[0] else f"column {name!r} of {self.source}"

    def head(self, n: int) -> "Table":
        """The first ``n`` known values, keeping every covariate row as future rows."""
        return replace(self, target=self.target[:n], filled=None if self.filled is None else self.filled[:n],
                       past_filled=None if self.past_filled is None else self.past_filled[:n])

    def since(self, k: int) -> "Table":
        """The table from row ``k`` on: its first ``k`` rows left out (a sliding training window)."""
        first = self.first_line[k:] if isinstance(self.first_line, list) else \
            None if self.first_line is None else self.first_line + k
        cut = lambda a: None if a is None else a[k:]  # noqa: E731
        return replace(self, target=self.target[k:], features=self.features[k:], dates=cut(self.dates),
                       filled=cut(self.filled), past_filled=cut(self.past_filled), first_line=first,
                       positions=cut(self.positions))

    def made_up(self, i: int) -> bool:
        """Whether {fill} made up row ``i``'s target or a past-only covariate's value there: interpolated from the
        rows after it, which a forecast from row ``i + 1`` must not read."""
        return any(mask is not None and bool(mask[i]) for mask in (self.filled, self.past_filled))

    def known(self, start: int, stop: int) -> np.ndarray:
        """True for each target value of rows start..stop-1 that the source gave (False: one {fill} made up)."""
        return np.ones(stop - start, bool) if self.filled is None else ~self.filled[start:stop]

    def actual(self, start: int, stop: int) -> np.ndarray:
        """The target values of rows start..stop-1 as the source gave them: NaN where {fill} made one up."""
        return np.where(self.known(start, stop), self.target[start:stop], np.nan)


def is_table(data) -> bool:
    """A source with named columns (CSV path, pandas table, dict) or a 2-D array."""
    return (
        isinstance(data, (str, os.PathLike, Mapping, Table))
        or (hasattr(data, "columns") and hasattr(data, "iloc"))
        or (isinstance(data, np.ndarray) and data.ndim == 2)
    )


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
    name: str | None = None,
    fitted: bool = False,
) -> Table:
    """Read a series from a CSV path, a pandas table or series, a dict of columns, an array or a list.

    ``target`` and ``features`` name columns (positions for a 2-D array).
    NaN and infinite values are an error naming the first bad row, unless
    ``fill`` interpolates them.  With ``allow_future``, blank target values at
    the end are not gaps but rows whose covariates are known in advance.
    ``features_only`` reads just the covariates (future values of them).
    ``name`` names a table given in Python in messages (a file is named by its path).
    ``fitted``: the columns are a trained model's, and a missing one is named by what the model reads it as.
    """
    if isinstance(data, Table):
        return data
    columns, order, source, first_line = _columns(data, name)
    return from_columns(columns, order, source, first_line, target, features, date, fill=fill,
                        allow_future=allow_future, need_date=need_date, features_only=features_only, fitted=fitted)


def pick_target(order, date, features, source, columns=None) -> str:
    """The one column of ``order`` that is neither the date nor a feature: the target when none is named
    (``columns``: the cells, so a column of text, such as dates not named as such, is said to be no candidate)."""
    candidates = [c for c in order if c != date and c not in features]
    texts = [c for c in candidates if columns is not None and _text_column(columns[c])]
    if len(candidates) != 1:
        numbers = [c for c in candidates if c not in texts]
        which = f"several columns that could be forecast ({', '.join(map(printable, numbers))})" if len(numbers) > 1 \
            else f"one column of numbers ({printable(numbers[0])}) beside text" if numbers else \
            f"no column of numbers to forecast ({', '.join(map(printable, order))})" if texts else \
            f"no column to forecast besides the date and the covariates ({', '.join(map(printable, order))})"
        hold, which_is = ("holds", "it is") if len(texts) == 1 else ("hold", "one is")
        hint = f" ({', '.join(map(repr, texts))} {hold} text: if {which_is} the date, give it with {{date}})" \
            if texts else ""
        raise DataError(f"{source} has {which}; name the one to forecast with {{target}}{hint}.",
                        params=["target", "date"] if texts else ["target"])
    return candidates[0]


def _text_column(cells) -> bool:
    """Whether a column's first value that is not blank is text, not a number (a date, a name)."""
    for cell in cells:
        try:
            if not math.isnan(_cell(cell)):
                return False
        except (TypeError, ValueError, OverflowError):
            return True
    return False


_ROLES = {"target": ("as the series it forecasts", "as the series it forecasts"),
          "date": ("as its date column", "as its date column"),
          "past": ("as a past-only covariate", "as past-only covariates"),
          "ahead": ("as a covariate known ahead (needed in every row, the steps to forecast included)",
                    "as covariates known ahead (needed in every row, the steps to forecast included)")}


def _roles(missing, target, features, date, past: int) -> str:
    """What a trained model reads each of the ``missing`` columns as: "'a' and 'b' as covariates known ahead"."""
    past_only = features[len(features) - past:] if past else []
    groups: dict[str, list] = {}
    for column in missing:
        role = ("target" if column == target else "date" if column == date else
                "past" if column in past_only else "ahead")
        groups.setdefault(role, []).append(column)
    return " and ".join(f"{' and '.join(map(repr, cols))} {_ROLES[role][len(cols) > 1]}"
                        for role, cols in groups.items())


def from_columns(columns, order, source, first_line, target=None, features=None, date=None, *, fill=False,
                 allow_future=False, need_date=True, features_only=False, past: int = 0, fitted=False,
                 ahead_dates: bool = False, positions: list | None = None, values_only: bool = False) -> Table:
    """:func:`read_table` on columns already read (``columns`` None: ``order`` is a plain sequence of values).

    The last ``past`` features are past-only covariates: in rows after the
    target's last value they may be blank (read as 0, and never read ahead).
    ``fitted``: the columns are a trained model's (a missing one is named by
    what the model reads it as).  ``ahead_dates``: the model reads the dates of the steps it forecasts (calendar
    inputs), so rows after the target's last value may carry just a date.  ``positions``: each row's place in
    the table given in memory that these columns are one series of (messages name that row).  ``values_only``: the
    target column holds a plain sequence of values, put in a table only to carry its series' id (messages name
    the source, as for a plain sequence, not that column)."""
    features = list(features or [])
    if columns is None:  # a plain sequence of values
        if features:
            raise DataError(
                f"covariates {', '.join(map(str, features))} were asked for but {source} is a single series; "
                "give a table with those columns."
            )
        if date is not None and need_date and not fitted:  # training: a date column asked of values alone
            raise DataError(f"a date column {date!r} was asked for but {source} is a single sequence of values; "
                            "give a table with that column, or leave {date} out.", params=["date"])
        target_name = "value" if target is None else target  # messages name the source, not this column
        columns, order, plain = {target_name: order}, [target_name], True
        date = None  # a model trained with dates forecasts from values alone too
    else:
        plain = values_only
    if features_only:
        target = None
    elif target is None:
        target = pick_target(order, date, features, source, columns)
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
        has = f"{source} has no {what} {', '.join(map(repr, missing))} ({it_has(order)})"
        if fitted:  # the columns are the model's, not the user's choice: say what each one is for
            roles = _roles(missing, target, features, date, past)
            raise DataError(f"{has}; the model reads {roles}; add {'it' if len(missing) == 1 else 'them'} to the "
                            "table.")
        raise DataError(f"{has}; check {{target}}, {{features}} and {{date}}.", params=["target", "features", "date"])
    table = Table(np.empty(0), np.empty((0, 0)), None, (target, features, date), source, first_line, plain=plain,
                  positions=positions)
    rows = len(columns[wanted[0]]) if wanted else 0
    if rows == 0:
        raise DataError(f"{source} has no rows; give a series with values.")
    values = np.empty(0) if features_only else _numeric(table, target, columns[target])
    n = 0 if features_only else rows
    if allow_future and not features_only:
        while n > 0 and np.isnan(values[n - 1]):
            n -= 1  # trailing blanks: rows whose covariates are known ahead of the target
        if n == 0:
            raise DataError(f"{table.whole(target)} has no values; give the series' history.")
        if n < rows and not (features[: len(features) - past] or ahead_dates):  # undated: the calendar says so
            raise DataError(f"{table.subject(target)} is blank from {table.place(n, target)} to the end, but this "
                            "model reads no covariates or dates ahead, so those rows are no steps to forecast (and "
                            "{fill} fills gaps between known values, not the end); leave them out, as the forecast "
                            "starts after the last value, or give their values.", params=["fill"])
    elif not features_only and np.isnan(values[-1]) and not np.isnan(values).all():
        last = int(np.flatnonzero(~np.isnan(values))[-1]) + 1  # training: a blank end is no gap to fill; named
        if fill or np.isfinite(values[:last]).all():  # unless a gap before it is the first thing to fix
            raise DataError(f"{table.subject(target)} is blank from {table.place(last, target)} to the end; the values "
                            "to train on or to score must be known, so leave those rows out (rows of future covariates "
                            "belong in the history that predict reads).")
    if fill and n and np.isinf(values[n - 1]):  # a blank end is refused above; an infinite one is no gap either
        raise DataError(f"{table.subject(target)} ends in an infinite value at {table.place(n - 1, target)}, which "
                        "{fill} does not fill (it fills gaps between known values); fix it, or leave that row out.",
                        params=["fill"])
    table.target = _finite(table, target, values[:n], fill)
    if fill and not np.isfinite(values[:n]).all():
        table.filled = ~np.isfinite(values[:n])
    feats = np.empty((rows, len(features)))
    for j, name in enumerate(features):
        cells = _numeric(table, name, columns[name])
        past_only = j >= len(features) - past
        if fill and past_only and not np.isfinite(cells[:n]).all():  # made up, maybe from rows after a gap
            gaps = ~np.isfinite(cells[:n])
            table.past_filled = gaps if table.past_filled is None else table.past_filled | gaps
        if past_only and n < rows:  # a past-only covariate: its future rows are never read
            cells[n:] = np.where(np.isfinite(cells[n:]), cells[n:], 0.0)
        elif fill and n < rows and not np.isfinite(cells[-1]):  # known ahead: a gap may be filled, an end not
            i = int(np.flatnonzero(np.isfinite(cells))[-1]) + 1 if np.isfinite(cells).any() else 0
            raise DataError(f"column {name!r} is known ahead, but its value for a forecast step is blank "
                            f"({table.where(max(i, n))}); give it for every forecast step ({{fill}} fills gaps "
                            "between known values, not the future).", params=["fill"])
        feats[:, j] = _finite(table, name, cells, fill)
    table.features = feats
    if date is not None:
        table.dates = date_labels(columns[date])
        check_dates(table, date)
    return table


def it_has(order) -> str:
    """A table's columns as a message lists them: "it has 'a', 'b'", or "it has no columns"."""
    return f"it has {', '.join(map(repr, order))}" if order else "it has no columns"


def _columns(data, name: str | None = None):
    """(columns by name, column order, source description, CSV line of row 0, or of each row when they are not
    one a line: blank lines, quoted line breaks); columns None for 1-D data.
    ``name``: the source description of data given in memory (a file is named by its path)."""
    columns, order, source, first_line = _read_columns(data)
    return columns, order, source if name is None or first_line is not None else name, first_line


def _read_columns(data):
    if isinstance(data, (str, os.PathLike)):
        columns, order, lines = read_csv(Path(data))
        return columns, order, str(data), lines
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


# what spreadsheets, R and pandas write for a missing value (pandas' own list of NA markers, as read_csv reads them)
NA_MARKERS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                        "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def _cell(value) -> float:
    """A cell as a float; blanks and NA markers are NaN; text raises ValueError (Python's 1_000 too: it is no
    number a table writes)."""
    if is_missing(value):
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        if text in NA_MARKERS:
            return math.nan
        if "_" in text:
            raise ValueError(text)
        return float(text)
    if isinstance(value, (bytes, bytearray)):
        raise ValueError(value)
    try:
        return float(value)
    except OverflowError:  # an integer past a float's range (JSON's 1 and 400 zeros): infinite, as the text "1e400"
        return math.inf if value > 0 else -math.inf


def _numeric(table: Table, name, cells) -> np.ndarray:
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        try:
            out[i] = _cell(cell)
        except (TypeError, ValueError, OverflowError):
            raise DataError(
                f"{table.subject(name)} has a non-numeric value {cell!r} at {table.place(i, name)}; "
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
        gap = np.isfinite(values[i + 1:]).any()  # a known value after it: {fill} can interpolate, not at the end
        raise DataError(f"{table.subject(name)} has a missing or non-finite value at {table.place(i, name)}; fix it"
                        + (", or turn on {fill} to interpolate gaps." if gap else "."), params=["fill"])
    good = np.flatnonzero(~bad)
    if good.size == 0:
        raise DataError(f"{table.whole(name)} has no finite values; nothing can be interpolated.")
    values = values.copy()
    values[bad] = np.interp(np.flatnonzero(bad), good, values[good])  # linear inside, held flat at the ends
    return values

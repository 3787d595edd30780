"""Static covariates: one number per series (a store's size, a region code given as a number).

A static column holds the same value on every row of a series; blank cells
are allowed (rows of future covariates need not repeat it), a second,
different value is an error naming the series and the column.  The values
are z-scored per column over the training series (one value per series; a
column equal in every series, or that of a single series, scales to 0), and
joined to every step of a window after the target and the covariates,
before the calendar inputs::

    step input = [target, features, past_features, static (scaled), calendar]

They are the series' own, so they are known for every forecast step:
``predict`` reads them off each series' history rows (a new id brings its
own) and never needs them in a future table; the end of each training
series that a model directory keeps (``tail``) carries them too.
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.errors import DataError, warn
from seqtext.series.scaling import Scaler
from seqtext.series.table import Table, _cell


def read_static(columns: dict, order, table: Table, names, key=None, *, file: str | None = None,
                fitted: bool = False) -> np.ndarray | None:
    """The (S,) static values of one series from its raw ``columns`` (None when ``names`` is empty), checked.

    ``key`` and ``file``: the series' id and the table it came from (default: the table's source), for messages;
    ``fitted``: read for a trained model, whose static columns are fixed (the advice differs)."""
    if not names:
        return None
    file = table.source if file is None else file
    of = table.source if key is None else f"series {key} of {file}"
    where = table.at  # 'line 5', or 'row 3' of the whole table given in memory
    values = []
    for name in names:
        if name not in columns:
            if fitted:
                raise DataError(f"this model reads the static column {name!r}, which {file} lacks (it has "
                                f"{', '.join(map(repr, order))}); give it, one value per series.")
            raise DataError(f"{file} has no static column {name!r} ({_others(order, table, key)}); "
                            "check {static_features}.", params=["static_features"])
        first = None  # (value, row) of the first non-blank cell
        for i, cell in enumerate(columns[name]):
            try:
                value = _cell(cell)
            except (TypeError, ValueError, OverflowError):
                raise DataError(f"static column {name!r} has a non-numeric value {cell!r} on {where(i)} of "
                                f"{table.source}; give it as a number (a category as a numeric code).") from None
            if math.isnan(value):
                continue
            if not math.isfinite(value):
                raise DataError(f"static column {name!r} is {value} on {where(i)} of {table.source}; give it a finite "
                                "value.")
            if first is None:
                first = (value, i)
            elif value != first[0]:
                advice = "one value per series, as in training" if fitted else \
                    "one value per series, or list it in {features} or {past_features} if it changes over time"
                raise DataError(f"static column {name!r} varies within {of} ({first[0]:g} on {where(first[1])}, "
                                f"{value:g} on {where(i)}); give it {advice}.",
                                params=[] if fitted else ["features", "past_features"])
        if first is None:
            raise DataError(f"static column {name!r} has no value for {of}; give it on at least one of the series' "
                            "rows.")
        values.append(first[0])
    return np.array(values)


def _others(order, table: Table, key) -> str:
    """The columns that could be static, as a refusal names them: none of the id, target, date and covariates."""
    target, features, date = table.names
    roles = ["id"] * (key is not None) + ["target"] + ["date"] * (date is not None) + ["covariates"] * bool(features)
    besides = f"besides the {', '.join(roles[:-1])} and {roles[-1]}" if len(roles) > 1 else "besides the target"
    left = [c for c in order if c not in (target, date) and c not in features]
    return f"it has {', '.join(map(repr, left))} {besides}" if left else f"it has no column {besides}"


def fit(tables, names=()) -> Scaler:
    """A z-score of each static column over the training series (one row per series); a column with one value
    over them all (or a single series') is warned of: it scales to 0 and tells the model nothing."""
    values = np.stack([table.static for table in tables])  # (series, S)
    for name, column in zip(names, values.T):
        if np.all(column == column[0]):
            among = "with one training series it has one value" if len(column) == 1 else \
                f"all {len(column)} training series have the same value"
            warn(f"static column {name!r} tells the model nothing: {among} ({column[0]:g}), which scales to 0; "
                 "static covariates tell series of many ({id}) apart, so leave it out of {static_features}.",
                 params=["id", "static_features"])
    return Scaler("zscore").fit(values)


def inputs(scaler: Scaler, table: Table, rows: int, names) -> np.ndarray:
    """The scaled static values of ``table``'s series repeated for ``rows`` steps: (rows, S)."""
    if table.static is None:
        raise DataError(f"this model also reads the static covariates {', '.join(map(str, names))}; give a table "
                        "with those columns.")
    return np.broadcast_to(scaler.transform(table.static[None, :]), (rows, len(names)))


def check_same(history: Table, later: Table) -> None:
    """The actual values of a series, given in a second table, carry the history's static values (when any)."""
    if history.static is not None and later.static is not None and not np.array_equal(history.static, later.static):
        raise DataError(f"the static values of {later.source} ({', '.join(f'{v:g}' for v in later.static)}) differ "
                        f"from those of its history ({', '.join(f'{v:g}' for v in history.static)}); give each series "
                        "one value per static column.")

"""The /v1/forecast request as a model reads it: a history of numbers or a request's rows (checked for JSON types
the table reader would convert), the series id of a many-series model, and the default interval levels."""

from __future__ import annotations

import json

from seqtext.errors import DataError

DEFAULT_LEVELS = [80.0, 95.0]  # the intervals a calibrated model's forecasts carry unless a request names others


def forecast(model, steps, history, levels, series_id=None, fill=None, from_rows=False):
    """(levels, forecast rows): when none are asked for, the default levels if the model's intervals were
    calibrated that many steps ahead, else none.  ``series_id`` names the series of a many-series model;
    ``fill`` interpolates gaps in the history; ``from_rows``: the history is a request's rows, whose numbers
    must be JSON numbers.  Its warnings (series too short to forecast, left out; dates spaced unevenly) are
    issued as the library issues them; the server gathers each request's own for its answer."""
    if from_rows:
        _json_types(model.settings.series, history)
    values_only = not isinstance(history, dict)  # numbers: named as 'history', with an id column or not
    if series_id is not None:
        history = _with_id(model.settings.series, history, series_id)
    elif model.settings.series.id is not None and not isinstance(history, dict):
        raise DataError("this model forecasts many series; name the series of this history with 'id' (or send "
                        f"'rows' with its column {model.settings.series.id!r}).")
    if levels is None:
        calibrated = model.task.intervals
        wanted = steps if steps is not None else model.settings.series.horizon
        levels = DEFAULT_LEVELS if calibrated is not None and wanted <= calibrated.steps else []
    from seqtext.series import infer

    # read here to name the request's field in messages, not "the table"
    items = infer.read(model, history, fill=fill, name="'rows'" if from_rows else "'history'", values_only=values_only)
    return levels, infer.as_rows(*infer.predict(model, steps, None, None, levels, items=items, fill=fill))


def _with_id(series, history, series_id: str):
    """The history (numbers, or a table of columns) with the id column of a many-series model filled in."""
    if series.id is None:
        raise DataError("this model forecasts one series and has no id column; leave 'id' out.")
    if not series_id.strip():
        raise DataError("'id' is blank; give the name of the series.")
    if isinstance(history, dict):
        given = {str(v) for v in history.get(series.id, []) if v is not None}
        if given - {series_id}:
            raise DataError(f"'id' is {series_id!r} but the rows' {series.id!r} column says "
                            f"{', '.join(sorted(given))}; give one of them, or the same.")
        n = max(len(column) for column in history.values())
        return {**history, series.id: [series_id] * n}
    if series.target is None or isinstance(series.target, int):
        raise DataError("this model's target column has no name, so give the series as 'rows' with the id column.")
    return {series.target: list(history), series.id: [series_id] * len(history)}


def _json_types(series, columns: dict) -> None:
    """Refuse a JSON value the table reader would convert rather than read: a string or boolean in a column the
    model reads as numbers ("5" and true, as it reads a CSV file's text), and a list, an object or a boolean in
    any of the model's columns (the id column would name the series "['M1']").  The date and id columns hold
    strings (or numbers: integer steps, numbered series), and a blank string or a missing-value marker ("NA",
    "nan", as a CSV file may hold) is a missing value, as null is.  Rows are numbered from 0, as the library and
    pydantic's own errors ("field 'rows.3'") number them."""
    from seqtext.series.table import NA_MARKERS

    if isinstance(series.target, str):
        numeric = [series.target, *series.features, *getattr(series, "past_features", []),
                   *getattr(series, "static_features", [])]
    else:  # the target unnamed: every column but the date and the id is the target or a covariate
        numeric = [name for name in columns if name not in (series.date, series.id)]
    for name in numeric:
        for i, value in enumerate(columns.get(name, ())):
            if isinstance(value, (bool, list, dict)) or isinstance(value, str) and value.strip() not in NA_MARKERS:
                raise DataError(f"row {i} of 'rows': column {name!r} holds {_shown(value)}, not a number; "
                                "give its numbers as JSON numbers (null for a missing value).")
    for name, what in ((series.date, "date"), (series.id, "series name")):
        for i, value in enumerate(columns.get(name, ()) if name is not None else ()):
            if isinstance(value, (bool, list, dict)):
                raise DataError(f"row {i} of 'rows': column {name!r} holds {_shown(value)}, not a {what}; "
                                f"give each row's {what} as a JSON string.")


def _shown(value) -> str:
    """A request's JSON value as an error quotes it, cut short (lists or objects nested too deep to write: their
    start, walked down the first item of each)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:
        text = ""
        while isinstance(value, (list, dict)) and value and len(text) <= 60:
            key = next(iter(value)) if isinstance(value, dict) else None
            text += "[" if key is None else "{" + json.dumps(key, ensure_ascii=False) + ": "
            value = value[0] if key is None else value[key]
    return text if len(text) <= 60 else text[:57] + "..."


def row_columns(rows: list[dict]) -> dict:
    """Row objects as a table of columns (a column a row leaves out is blank there: a future row's target)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}

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
    must be JSON numbers."""
    if from_rows:
        _json_numbers(model.settings.series, history)
    if series_id is not None:
        history = _with_id(model.settings.series, history, series_id)
    elif model.settings.series.id is not None and not isinstance(history, dict):
        raise DataError("this model forecasts many series; name the series of this history with 'id' (or send "
                        f"'rows' with its column {model.settings.series.id!r}).")
    if levels is None:
        calibrated = model.task.intervals
        wanted = steps if steps is not None else model.settings.series.horizon
        levels = DEFAULT_LEVELS if calibrated is not None and wanted <= calibrated.steps else []
    return levels, model.forecast(steps, history=history, levels=levels, fill=fill)


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


def _json_numbers(series, columns: dict) -> None:
    """Refuse a JSON string or boolean in a column the model reads as numbers (the table reader would convert
    "5" and true, as it reads a CSV file's text); the date and id columns may hold strings, and a blank string
    or a missing-value marker ("NA", "nan", as a CSV file may hold) is a missing value, as null is."""
    from seqtext.series.table import NA_MARKERS

    if isinstance(series.target, str):
        numeric = [series.target, *series.features, *getattr(series, "past_features", []),
                   *getattr(series, "static_features", [])]
    else:  # the target unnamed: every column but the date and the id is the target or a covariate
        numeric = [name for name in columns if name not in (series.date, series.id)]
    for name in numeric:
        for i, value in enumerate(columns.get(name, ())):
            if isinstance(value, bool) or isinstance(value, str) and value.strip() not in NA_MARKERS:
                raise DataError(f"row {i + 1} of 'rows': column {name!r} holds {json.dumps(value)}, not a number; "
                                "give its numbers as JSON numbers (null for a missing value).")


def row_columns(rows: list[dict]) -> dict:
    """Row objects as a table of columns (a column a row leaves out is blank there: a future row's target)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}

"""Calendar inputs read off the date labels: known for every future step, so a roll-out never lacks them.

Six columns, each a point on a circle so that December sits next to
January: month of year (sin, cos), day of week (sin, cos) and hour of day
(sin, cos).  A part the dates do not carry (the day of a ``YYYY-MM`` label,
the hour of a plain date) is 0.  They are joined to the scaled inputs as
they are (already within [-1, 1]).
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.errors import DataError
from seqtext.series.dates import future_dates, parse_date

WIDTH = 6


def calendar_columns(labels) -> np.ndarray:
    """(len(labels), 6) calendar inputs of date labels (YYYY-MM, ISO dates or date-times)."""
    out = np.zeros((len(labels), WIDTH))
    for i, label in enumerate(labels):
        kind, value = parse_date(label)
        if kind in ("year", "step"):
            what = "years" if kind == "year" else "integer steps"
            raise DataError(f"calendar inputs need monthly or finer dates, but the dates are {what}; drop "
                            "{calendar}.", params=["calendar"])
        month = value % 12 if kind == "month" else value.month - 1
        out[i, 0:2] = math.sin(2 * math.pi * month / 12), math.cos(2 * math.pi * month / 12)
        if kind == "time":
            day = value.weekday()
            out[i, 2:4] = math.sin(2 * math.pi * day / 7), math.cos(2 * math.pi * day / 7)
            if len(label.strip()) > 10:  # a date-time: the hour counts too
                hour = value.hour + value.minute / 60
                out[i, 4:6] = math.sin(2 * math.pi * hour / 24), math.cos(2 * math.pi * hour / 24)
    return out


def table_calendar(table, rows: int) -> np.ndarray:
    """The calendar inputs of the first ``rows`` rows of a table (``table``: a series Table), dates extended
    past its end when forecasting."""
    if table.dates is None:
        raise DataError("calendar inputs are read off the dates, but the series has no date column; name it with "
                        "{date} or drop {calendar}.", params=["date", "calendar"])
    labels = list(table.dates[:rows])
    if len(labels) < rows:
        more = future_dates(labels, rows - len(labels))
        if more is None:
            raise DataError("the dates are unevenly spaced, so the calendar inputs of the forecast steps are not "
                            "known; give the future dates as rows after the last value.")
        labels += more
    return calendar_columns(labels)

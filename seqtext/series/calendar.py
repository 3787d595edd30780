"""Calendar inputs read off the date labels: known for every future step, so a roll-out never lacks them.

Each part is a point on a circle (sin, cos), so that December sits next to
January: month of year, day of week, day of month, day of year and hour of
day, in that order of columns (``seqtext.config.CALENDAR_PARTS``).  A model
names the parts it reads; ``auto`` takes those the dates carry of month, day
of week and hour.  Models saved with ``calendar: true`` read month, day of
week and hour, with 0 where the dates do not carry a part (the day of a
``YYYY-MM`` label, the hour of a plain date).  The columns are joined to the
scaled inputs as they are (already within [-1, 1]).
"""

from __future__ import annotations

import calendar as _days
import math

import numpy as np

from seqtext.config import CALENDAR_PARTS
from seqtext.errors import DataError
from seqtext.series.dates import future_dates, parse_date

LEGACY = ("month", "dayofweek", "hour")  # calendar: true, the six columns before the parts were named
AUTO = ("month", "dayofweek", "hour")  # what ``auto`` takes, of those the dates carry
NEEDS = {"month": "monthly or finer", "dayofweek": "daily or finer", "dayofmonth": "daily or finer",
         "dayofyear": "daily or finer", "hour": "date-time"}


def _no_dates() -> DataError:
    return DataError("calendar inputs are read off the dates, but the series has no date column; name it with "
                     "{date} or drop {calendar}.", params=["date", "calendar"])


def _too_coarse(kind: str) -> DataError:
    what = "years" if kind == "year" else "integer steps"
    return DataError(f"calendar inputs need monthly or finer dates, but the dates are {what}; drop {{calendar}}.",
                     params=["calendar"])


def parts(setting) -> list[str]:
    """The parts a model reads, in column order: a list as named, true the legacy three, none for false or []."""
    if setting is True:
        return list(LEGACY)
    if not setting or setting == "auto":  # "auto" is resolved from the dates before any column is read
        return []
    return [p for p in CALENDAR_PARTS if p in setting]


def width(setting) -> int:
    """Input columns of the calendar: two per part."""
    return 2 * len(parts(setting))


def carried(label: str) -> list[str]:
    """The parts a date label carries: month for YYYY-MM, the days for dates, the hour for date-times."""
    kind, _ = parse_date(label)
    if kind in ("year", "step"):
        return []
    if kind == "month":
        return ["month"]
    days = ["month", "dayofweek", "dayofmonth", "dayofyear"]
    return days + ["hour"] if len(label.strip()) > 10 else days


def resolve(setting, table) -> list | bool:
    """The setting as the model keeps it: ``auto`` becomes the parts the dates carry; named parts the dates do not
    carry are refused (``table``: the first training series).  True (older models) and none are kept."""
    if setting is True or not setting:
        return setting
    if table.dates is None:
        raise _no_dates()
    kind, _ = parse_date(table.dates[0])
    have = carried(table.dates[0])
    if not have:
        raise _too_coarse(kind)
    if setting == "auto":
        return [p for p in AUTO if p in have]
    for part in parts(setting):
        if part not in have:
            raise DataError(f"the calendar part {part} needs {NEEDS[part]} dates, but the dates are like "
                            f"{table.dates[0]!r}; leave it out of {{calendar}}.", params=["calendar"])
    return parts(setting)


def _position(part: str, kind: str, value, label: str) -> tuple[float, int] | None:
    """(where a date falls, the length of the cycle) for one part; None when the label lacks the part."""
    if part == "month":
        return (value % 12 if kind == "month" else value.month - 1), 12
    if kind != "time":
        return None
    if part == "dayofweek":
        return value.weekday(), 7
    if part == "dayofmonth":
        return value.day - 1, _days.monthrange(value.year, value.month)[1]
    if part == "dayofyear":
        return value.timetuple().tm_yday - 1, 366 if _days.isleap(value.year) else 365
    if len(label.strip()) > 10:  # hour: a date-time's
        return value.hour + value.minute / 60, 24
    return None


def calendar_columns(labels, setting=True) -> np.ndarray:
    """(len(labels), 2 x parts) calendar inputs of date labels (YYYY-MM, ISO dates or date-times)."""
    names = parts(setting)
    out = np.zeros((len(labels), 2 * len(names)))
    for i, label in enumerate(labels):
        kind, value = parse_date(label)
        if kind in ("year", "step"):
            raise _too_coarse(kind)
        for j, part in enumerate(names):
            position = _position(part, kind, value, label)
            if position is not None:
                at, cycle = position
                out[i, 2 * j: 2 * j + 2] = math.sin(2 * math.pi * at / cycle), math.cos(2 * math.pi * at / cycle)
    return out


def table_calendar(table, rows: int, setting=True) -> np.ndarray:
    """The calendar inputs of the first ``rows`` rows of a table (``table``: a series Table), dates extended
    past its end when forecasting."""
    if table.dates is None:
        raise _no_dates()
    labels = list(table.dates[:rows])
    if len(labels) < rows:
        more = future_dates(labels, rows - len(labels))
        if more is None:
            raise DataError("the dates are unevenly spaced, so the calendar inputs of the forecast steps are not "
                            "known; give the future dates as rows after the last value.")
        labels += more
    return calendar_columns(labels, setting)

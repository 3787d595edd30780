"""Date labels of a series: parsing, the increasing-dates check, and the labels of forecast rows.

Dates label rows; they never enter the network.  Four forms are read:
``YYYY``, ``YYYY-MM``, ISO dates or date-times, and integer time steps
(``1, 2, 3, ...``, as the Tourism competition's ``t``; years are integers too).  A forecast is labelled
with the table's own dates beyond its last value, then by extending the
spacing that most of the last dates share (yearly, monthly, weekdays, or a
fixed time step).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from seqtext.errors import DataError, counted, is_missing

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_STEP = re.compile(r"^[+-]?\d+$")
_WEEK = re.compile(r"(\d{4})-?W(\d{2})(?:-?([1-7]))?")
_FORMS = {"year": "integer", "step": "integer", "month": "month", "time": "time"}  # comparable forms


def parse_date(text: str):
    """('year', n) | ('step', n) | ('month', months since year 0) | ('time', datetime); ValueError otherwise.

    Four digits are a year, any other integer a time step; both are integers that may share a column."""
    text = text.strip()
    if _YEAR.match(text):
        return "year", int(text)
    if _STEP.match(text):
        return "step", int(text)
    m = _MONTH.match(text)
    if m:
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(text)
        return "month", int(m.group(1)) * 12 + month - 1
    week = _WEEK.fullmatch(text)
    if week:  # ISO 8601 week dates (Python 3.11's fromisoformat reads them; 3.10's does not)
        return "time", datetime.strptime(f"{week[1]} {week[2]} {week[3] or 1}", "%G %V %u")
    return "time", datetime.fromisoformat(text)


def json_label(label: str):
    """A date label as a row carries it: a year or an integer time step as a number (as the table wrote it),
    any other date as its text."""
    text = label.strip() if isinstance(label, str) else label
    return int(text) if isinstance(text, str) and _STEP.match(text) else label


def check_dates(table, name) -> None:
    """Dates must parse and strictly increase, so windows follow time (``table``: a series Table)."""
    kind, prev = None, None
    for i, label in enumerate(table.dates):
        if not str(label).strip():
            raise DataError(f"column {name!r} is blank at {table.where(i)}; give every row its date.")
        try:
            k, value = parse_date(label)
        except (ValueError, TypeError):
            raise DataError(
                f"column {name!r} has {label!r} at {table.where(i)}, which is not a date "
                "(YYYY, YYYY-MM, YYYY-MM-DD, an ISO date-time or an integer step); fix it or leave out the date "
                "column."
            ) from None
        k = _FORMS[k]
        if kind is not None and (k != kind or (k == "time" and (value.tzinfo is None) != (prev.tzinfo is None))):
            zones = " (with and without a time zone)" if k == kind else ""
            raise DataError(f"column {name!r} mixes date formats{zones} at {table.where(i)}; write every date the "
                            "same way.")
        if prev is not None and not value > prev:
            raise DataError(
                f"the dates in column {name!r} do not increase at {table.where(i)}; sort the rows by date "
                "and remove duplicates."
            )
        kind, prev = k, value
    _refuse_packed_dates(table, name)


def check_same_form(items, name) -> None:
    """The series of one table write their dates one way (``items``: (id, Table) pairs): a series dated by
    months beside one numbered by steps would get seasons and forecast labels of different kinds."""
    seen: dict = {}
    for key, table in items:
        if table.dates:
            kind, value = parse_date(str(table.dates[0]))
            form = _FORMS[kind] + (" with a time zone" if kind == "time" and value.tzinfo is not None else "")
            seen.setdefault(form, (key, table.dates[0]))
    if len(seen) > 1:
        (_, (a, first)), (_, (b, second)) = list(seen.items())[:2]
        raise DataError(f"column {name!r} writes the dates of different series differently (series {a}: {first!r}, "
                        f"series {b}: {second!r}); write every series' dates the same way.")


def _refuse_packed_dates(table, name) -> None:
    """Integer dates written as YYYYMM (194901, ..., 194912, 195001) or YYYYMMDD (20210131, 20210201): read as
    steps they would be uneven, seasonless labels continued past the month's end (20210132), so they are
    refused, saying how to write them.  Integer steps that all read as such dates of the years 1800-2199 are
    not plausible steps."""
    labels = [str(label).strip() for label in table.dates]
    if len(labels) < 2 or not all(re.fullmatch(r"\d{6}|\d{8}", t) for t in labels):
        return
    if all(len(t) == 6 and 1800 <= int(t[:4]) < 2200 and 1 <= int(t[4:]) <= 12 for t in labels):
        form, example = "months written YYYYMM", f"YYYY-MM ({labels[0][:4]}-{labels[0][4:]})"
    elif all(len(t) == 8 and 1800 <= int(t[:4]) < 2200 and _is_day(t) for t in labels):
        form, example = "days written YYYYMMDD", f"YYYY-MM-DD ({labels[0][:4]}-{labels[0][4:6]}-{labels[0][6:]})"
    else:
        return
    raise DataError(f"the dates in column {name!r} look like {form} ({labels[0]}, {labels[1]}, ...), which would "
                    f"be read as integer steps; write them as {example}, or, if they are step numbers, number the "
                    "steps from 1.")


def _is_day(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return False
    return True


def date_labels(column) -> list[str]:
    """A date column's cells as labels: text as written; datetime objects (pandas Timestamps, numpy datetime64)
    in ISO form, as dates alone when every one of them is at midnight without a time zone."""
    times = [_as_datetime(c) for c in column]
    if all(isinstance(t, datetime) and t.tzinfo is None and t.time() == datetime.min.time() for t in times):
        return [t.date().isoformat() for t in times]
    return [t.isoformat() if isinstance(t, datetime) else _label(t) for t in times]


def _label(cell) -> str:
    """A cell that is not a datetime as its label: blank for a missing one (None, NaN), a whole number written
    ``12.0`` (pandas' column of steps with a gap, a JSON float) as ``12``, anything else as written."""
    if is_missing(cell):  # None, pandas' NA, a float NaN of any width
        return ""
    text = str(cell)
    whole = re.fullmatch(r"\s*([+-]?\d+)\.0*\s*", text)
    return whole[1] if whole else text


def _as_datetime(cell):
    """A cell as a datetime; a missing one (pandas' NaT, numpy's) as the text "NaT", which is no date."""
    if type(cell).__name__ == "NaTType":
        return "NaT"
    if type(cell).__name__ == "datetime64":
        import numpy as np

        return "NaT" if np.isnat(cell) else datetime.fromisoformat(np.datetime_as_string(cell, unit="us"))
    return cell


def _spacing(parsed: list) -> tuple[str, list]:
    """(unit, the distance from each date to the next in it) for parsed labels of one form: ``integer`` for years
    and steps, ``month`` for YYYY-MM and for date-times on one day of each month (or each month's last day) at
    one time, ``busday`` (weekdays) for dates on weekdays only that step from a Friday to a Monday as from one
    day to the next, ``time`` (timedeltas) for other date-times."""
    kind, values = _FORMS[parsed[0][0]], [v for _, v in parsed]
    if kind == "time" and _monthly(values):
        kind, values = "month", [v.year * 12 + v.month - 1 for v in values]
    elif kind == "time" and _business_days(values):
        import numpy as np

        days = np.array([v.date() for v in values], dtype="datetime64[D]")
        return "busday", np.busday_count(days[:-1], days[1:]).tolist()
    return kind, [b - a for a, b in zip(values, values[1:])]


def _business_days(values: list) -> bool:
    """Dates on weekdays only, at one time of day, some of them a Friday followed by the next Monday."""
    return len(values) >= 3 and all(v.weekday() < 5 and v.time() == values[0].time() for v in values) and \
        any(a.weekday() == 4 and (b.date() - a.date()).days == 3 for a, b in zip(values, values[1:]))


SESSIONS_READ = 500  # the last dates read for sessions: the last few (one night among them) say the same as all


def _sessions(parsed: list) -> bool:
    """Whether parsed date-times less than a day apart break off about daily and open again at one time of day
    (trading hours opening at 09:00): a calendar of sessions, not missing rows, and no spacing to continue.
    Read over the last :data:`SESSIONS_READ` of them."""
    parsed = parsed[-SESSIONS_READ:]
    unit, diffs = _spacing(parsed)
    common = _common(diffs, 0.5)
    if unit != "time" or common is None or common >= timedelta(days=1):
        return False
    opens = [parsed[i + 1][1].time() for i, d in enumerate(diffs) if d != common]
    days = (parsed[-1][1] - parsed[0][1]) / timedelta(days=1)
    return len(opens) >= 2 and 3 * len(opens) >= days and 4 * max(map(opens.count, opens)) >= 3 * len(opens)


def _subdaily(unit: str, step) -> bool:
    """Date-times spaced less than a day apart: the only ones that may be trading sessions."""
    return unit == "time" and step is not None and step < timedelta(days=1)


def _recent(labels: list, n: int) -> tuple[list, str, object]:
    """(the last ``n`` labels parsed, their unit, the spacing at least three quarters of them share: None for
    none, and for sessions, whose next opening no spacing gives).  Sessions are looked for, over the last
    :data:`SESSIONS_READ` dates, only where the recent spacing is under a day."""
    parsed = [parse_date(s) for s in labels[-n:]]
    unit, diffs = _spacing(parsed)
    step = _common(diffs)
    if _subdaily(unit, step) and _sessions([parse_date(s) for s in labels[-SESSIONS_READ:]]):
        step = None
    return parsed, unit, step


def _common(diffs: list, share: float = 0.75):
    """The commonest distance between neighbouring dates when at least ``share`` of them are it, else None."""
    if not diffs:
        return None
    common = max(set(diffs), key=diffs.count)
    return common if diffs.count(common) >= share * len(diffs) else None


def uneven(labels: list | None) -> list[int]:
    """The rows whose date breaks the commonest spacing (a missing month, day or hour, a skipped step); [] for
    evenly spaced labels, too few, or date-times with no spacing that at least half of them share (times of
    events, not of a regular series).  Weekday-only dates are spaced in weekdays: a weekend is no gap."""
    if not labels or len(labels) < 3:
        return []
    try:
        parsed = [parse_date(s) for s in labels]
        unit, diffs = _spacing(parsed)
    except (ValueError, TypeError):
        return []
    common = _common(diffs, 0.5 if unit == "time" else 0.0)
    if common is None or _subdaily(unit, common) and _sessions(parsed):
        return []
    return [i + 1 for i, d in enumerate(diffs) if d != common]


def future_dates(labels: list | None, steps: int) -> list | None:
    """Labels for ``steps`` more rows after ``labels``, spaced as at least three quarters of the last 24 are
    (a gap among them is no reason to leave the forecasts undated), else None."""
    if not labels or len(labels) < 2:
        return None
    parsed, unit, step = _recent(labels, 24)
    kind, last = parsed[-1]
    if step is None:
        return None
    if kind in ("year", "step", "month"):
        end = last + step * steps  # the last label's year, or month count
        if (kind == "year" and end > 9999) or (kind == "month" and end // 12 > 9999):
            raise DataError(_past_9999(labels, steps))
        if kind != "month":  # years keep four digits; steps are plain integers
            return [f"{last + step * k:04d}" if kind == "year" else str(last + step * k) for k in range(1, steps + 1)]
        return [f"{(v := last + step * k) // 12:04d}-{v % 12 + 1:02d}" for k in range(1, steps + 1)]
    try:
        return _dated(labels, parsed, unit, step, steps)
    except (OverflowError, ValueError, TypeError):  # past datetime's year 9999 (numpy's days past it: ints)
        raise DataError(_past_9999(labels, steps)) from None


def _past_9999(labels: list, steps: int) -> str:
    return (f"a forecast of {counted(steps, 'step')} after {labels[-1].strip()} runs past the year 9999, the last a "
            "date can be written in; forecast fewer steps.")


def _dated(labels: list, parsed: list, unit: str, step, steps: int) -> list:
    """future_dates of dates (not months, years or steps counted as integers)."""
    last = parsed[-1][1]
    fmt = _writer(labels[-1].strip())
    if unit == "month":
        anchor = _monthly([v for _, v in parsed])
        months = last.year * 12 + last.month - 1
        out = []
        for k in range(1, steps + 1):
            m = months + step * k
            year, month = m // 12, m % 12 + 1
            days = _month_days(year, month)
            day = days if anchor == "end" else min(anchor, days)  # the 30th of each month: 29 February, 30 March
            out.append(fmt(last.replace(year=year, month=month, day=day)))
        return out
    if unit == "busday":  # on from the last date in weekdays, at its time of day
        import numpy as np

        days = np.busday_offset(np.datetime64(last.date(), "D"), np.arange(1, steps + 1) * step, roll="forward")
        return [fmt(datetime.combine(d.item(), last.timetz())) for d in days]
    return [fmt(last + step * k) for k in range(1, steps + 1)]


def _writer(label: str):
    """Dates written the way ``label`` is: an ISO week (``2021-W40``, with its day ``-3`` if given), a date alone,
    or a date-time with its separator, its precision and a Z for UTC."""
    week = _WEEK.fullmatch(label)
    if week:
        dash = "-" if "-W" in label else ""
        return lambda d: d.strftime(f"%G{dash}W%V") + (f"{dash}{d.isoweekday()}" if week[3] else "")
    if len(label) == 10:
        return lambda d: d.date().isoformat()
    sep = " " if " " in label else "T"
    spec = "minutes" if re.match(r"\d{2}:\d{2}(?!:)", label[11:]) else "auto"  # as given: 2024-03-30T00:00 stays so
    zulu = label.endswith(("Z", "z"))

    def write(d) -> str:
        text = d.isoformat(sep=sep, timespec=spec)
        return text[:-6] + "Z" if zulu and text.endswith("+00:00") else text

    return write


def _month_days(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


def _monthly(values: list):
    """"end" for increasing date-times on each month's last day (31 Jan, 28 Feb, ...) at one time; the day for
    ones on one day of each month, or on the month's last day where it has no such day (the 30th: 28 or 29
    February); None otherwise."""
    if len(values) < 2 or any(v.time() != values[-1].time() for v in values):
        return None
    months = [v.year * 12 + v.month - 1 for v in values]
    if any(b <= a for a, b in zip(months, months[1:])):
        return None
    if all(v.day == _month_days(v.year, v.month) for v in values) and len({v.day for v in values}) > 1:
        return "end"
    day = max(v.day for v in values)
    return day if all(v.day == min(day, _month_days(v.year, v.month)) for v in values) else None


def forecast_dates(table, steps: int) -> list | None:
    """Labels of the ``steps`` rows after a table's last value: its own dates there, then extended evenly.

    None when the table has no dates or they cannot be extended (uneven spacing).
    """
    if table.dates is None:
        return None
    own = table.dates[table.n : table.n + steps]
    if len(own) == steps:
        return own
    more = future_dates(table.dates[: table.n + len(own)], steps - len(own))
    return own + more if more is not None else None


def within(label: str, last: str) -> bool:
    """Whether date ``label`` is at or before ``last`` (both of one form); False when they cannot be compared."""
    try:
        (k1, first), (k2, end) = parse_date(label), parse_date(last)
    except ValueError:
        return False
    return _FORMS[k1] == _FORMS[k2] and first <= end


# seasonal periods by spacing: months -> a year of them, quarters -> 4, days -> a week, hours -> a day
_MONTHLY_SEASONS = {1: 12, 3: 4, 6: 2}
_TIME_SEASONS = {timedelta(days=1): 7, timedelta(hours=1): 24, timedelta(days=7): 52}


def season_of(labels) -> int:
    """The seasonal period the dates suggest: 12 for months, 4 for quarters, 7 for days, 5 for weekdays, 24 for
    hours, 52 for weeks; 1 when there are no dates, they are years or integer steps, or at least three quarters
    of the last 25 are not spaced alike (a gap or two among them does not change the season)."""
    if not labels or len(labels) < 3:
        return 1
    try:
        _, unit, step = _recent(labels, 25)
    except (ValueError, TypeError):
        return 1
    if unit == "month":  # YYYY-MM, or ISO dates a month apart (the 1st, the 15th or the last day of each month)
        return _MONTHLY_SEASONS.get(step, 1)
    if unit == "busday":
        return 5 if step == 1 else 1
    return _TIME_SEASONS.get(step, 1) if unit == "time" else 1

"""Date labels of a series: parsing, the increasing-dates check, and the labels of forecast rows.

Dates label rows; they never enter the network.  Four forms are read:
``YYYY``, ``YYYY-MM``, ISO dates or date-times, and integer time steps
(``1, 2, 3, ...``, as the Tourism competition's ``t``; years are integers too).  A forecast is labelled
with the table's own dates beyond its last value, then by extending the
spacing of the last dates when it is even (yearly, monthly, or a fixed
time step).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from seqtext.errors import DataError

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_STEP = re.compile(r"^[+-]?\d+$")
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
        try:
            k, value = parse_date(label)
        except (ValueError, TypeError):
            raise DataError(
                f"column {name!r} has {label!r} at {table.where(i)}, which is not a date "
                "(YYYY, YYYY-MM, YYYY-MM-DD, an ISO date-time or an integer step); fix it or leave out the date "
                "column."
            ) from None
        k = _FORMS[k]
        if kind is not None and k != kind:
            raise DataError(f"column {name!r} mixes date formats at {table.where(i)}; write every date the same way.")
        if prev is not None and not value > prev:
            raise DataError(
                f"the dates in column {name!r} do not increase at {table.where(i)}; sort the rows by date "
                "and remove duplicates."
            )
        kind, prev = k, value
    _refuse_packed_months(table, name)


def _refuse_packed_months(table, name) -> None:
    """Integer dates written as YYYYMM (194901, ..., 194912, 195001): read as steps they would be uneven,
    seasonless labels, so they are refused, saying how to write them.  Thirteen or more increasing six-digit
    integers whose last two digits all lie in 01-12 cannot be steps one apart: they skip at least one."""
    labels = [str(label).strip() for label in table.dates]
    if len(labels) >= 13 and all(re.fullmatch(r"\d{6}", t) and 1 <= int(t[4:]) <= 12 for t in labels):
        raise DataError(f"the dates in column {name!r} look like months written YYYYMM ({labels[0]}, {labels[1]}, "
                        f"...), which would be read as integer steps; write them as YYYY-MM ({labels[0][:4]}-"
                        f"{labels[0][4:]}).")


def uneven(labels: list | None) -> list[int]:
    """The rows whose date breaks the commonest spacing of years, months or integer steps (a missing month, a
    skipped step); [] for evenly spaced labels, date-times (trading days are uneven on purpose) or too few."""
    if not labels or len(labels) < 3:
        return []
    try:
        parsed = [parse_date(s) for s in labels]
    except (ValueError, TypeError):
        return []
    if _FORMS[parsed[0][0]] == "time":
        return []
    diffs = [b[1] - a[1] for a, b in zip(parsed, parsed[1:])]
    common = max(set(diffs), key=diffs.count)
    return [i + 1 for i, d in enumerate(diffs) if d != common]


def future_dates(labels: list | None, steps: int) -> list | None:
    """Labels for ``steps`` more rows after ``labels`` when they are evenly spaced, else None."""
    if not labels or len(labels) < 2:
        return None
    parsed = [parse_date(s) for s in labels[-24:]]
    kind = parsed[-1][0]
    values = [v for _, v in parsed]
    if kind in ("year", "step", "month"):
        step = values[-1] - values[-2]
        if step <= 0 or any(b - a != step for a, b in zip(values, values[1:])):
            return None
        if kind != "month":  # years keep four digits; steps are plain integers
            return [f"{values[-1] + step * k:04d}" if kind == "year" else str(values[-1] + step * k)
                    for k in range(1, steps + 1)]
        return [f"{(v := values[-1] + step * k) // 12:04d}-{v % 12 + 1:02d}" for k in range(1, steps + 1)]
    last = values[-1]
    date_only = len(labels[-1].strip()) == 10
    sep = " " if " " in labels[-1].strip() else "T"
    spec = "minutes" if len(labels[-1].strip()) == 16 else "auto"  # written as given: 2024-03-30T00:00 stays so
    fmt = (lambda d: d.date().isoformat()) if date_only else (lambda d: d.isoformat(sep=sep, timespec=spec))
    monthly = _monthly(values)
    if monthly is not None:
        mstep, month_end = monthly
        months = values[-1].year * 12 + values[-1].month - 1
        out = []
        for k in range(1, steps + 1):
            m = months + mstep * k
            year, month = m // 12, m % 12 + 1
            day = _month_days(year, month) if month_end else last.day
            try:
                out.append(fmt(last.replace(year=year, month=month, day=day)))
            except ValueError:  # e.g. day 30 in February
                return None
        return out
    step = values[-1] - values[-2]
    if step <= timedelta(0) or any(b - a != step for a, b in zip(values, values[1:])):
        return None
    return [fmt(last + step * k) for k in range(1, steps + 1)]


def _month_days(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


def _monthly(values: list) -> tuple[int, bool] | None:
    """(months between dates, whether they are month ends) for date-times a whole number of months apart, on the
    same day and time of each month or on each month's last day (31 Jan, 28 Feb, ...); None otherwise."""
    if len(values) < 2:
        return None
    months = [v.year * 12 + v.month - 1 for v in values]
    mstep = months[-1] - months[-2]
    if mstep <= 0 or any(b - a != mstep for a, b in zip(months, months[1:])):
        return None
    if any(v.time() != values[-1].time() for v in values):
        return None
    if all(v.day == values[-1].day for v in values):
        return mstep, False
    if all(v.day == _month_days(v.year, v.month) for v in values):
        return mstep, True
    return None


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
    """The seasonal period the dates suggest: 12 for months, 4 for quarters, 7 for days, 24 for hours, 52 for
    weeks; 1 when there are no dates, they are years or integer steps, or their spacing is uneven or another
    one."""
    if not labels or len(labels) < 3:
        return 1
    try:
        parsed = [parse_date(s) for s in labels[-25:]]
    except ValueError:
        return 1
    values = [v for _, v in parsed]
    kind = parsed[0][0]
    monthly = _monthly(values) if kind == "time" else None
    if monthly is not None:  # ISO dates a month apart (the 1st, the 15th or the last day of each month)
        return _MONTHLY_SEASONS.get(monthly[0], 1)
    steps = {b - a for a, b in zip(values, values[1:])}
    if len(steps) != 1:
        return 1
    step = steps.pop()
    if kind == "month":
        return _MONTHLY_SEASONS.get(step, 1)
    if kind == "time":
        return _TIME_SEASONS.get(step, 1)
    return 1

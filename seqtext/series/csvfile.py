"""A series CSV file read into columns, each row with the file line it starts on.

Blank lines are skipped and a quoted value may hold line breaks, so a row's
line is read off the CSV reader, never counted from the header: a message
about a bad cell names the line the user sees it on.  A quote that is opened
and never closed (which would swallow the rest of the file into one value)
is refused naming the line it opens on.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from seqtext.bundled import shipped
from seqtext.errors import DataError


def read_csv(path: Path) -> tuple[dict, list, int | list[int]]:
    """(columns by name, column order, the file line of each row: the header's next line, an int, when the rows
    are one a line from there on, else one line per row)."""
    if str(path) == "-":
        raise DataError("the series is read from a CSV file, not from stdin ('-'); save it to a file and give its "
                        "path.")
    path = shipped(path)
    if not path.exists():
        raise DataError(f"the file {path} does not exist; check the path.")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file; give a CSV file.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file.") from None
    except PermissionError:
        raise DataError(f"{path} cannot be read (permission denied); check its permissions.") from None
    if "\x00" in text:  # valid UTF-8, but no text holds it: a binary file, or UTF-16 without a byte-order mark
        raise DataError(f"{path} holds NUL bytes, so it is a binary file or UTF-16 text; save it as a UTF-8 CSV file.")
    rows, lines = _records(path, text)
    if not rows:
        raise DataError(f"{path} is empty; give a CSV file with a header line and values.")
    header, body, lines = [h.strip() for h in rows[0]], rows[1:], lines[1:]
    for sep, name in ((";", "semicolons"), ("\t", "tabs")):  # the header one column, it and the first row split by
        if len(header) == 1 and sep in header[0] and all(sep in r[0] for r in body[:1]):  # one of them
            raise DataError(f"{path} is separated by {name}, not commas (its header is one column, {header[0]!r}); "
                            "save it as a comma-separated file.")
    for row, line in zip(body, lines):
        if any(cell.strip() for cell in row[len(header):]):  # empty cells past the header: a spreadsheet's
            raise DataError(f"{path} line {line} has {len(row)} values, more than the {len(header)} columns of its "
                            "header; quote a value that holds a comma (and write decimals with a point: 1.5, not "
                            "1,5).")
    # a column without a name cannot be asked for: a pandas index, a spreadsheet's empty trailing columns
    keep = [j for j, h in enumerate(header) if h]
    header, body = [header[j] for j in keep], [[r[j] if j < len(r) else "" for j in keep] for r in body]
    if len(set(header)) != len(header):
        raise DataError(f"{path} has a repeated column name in its header; make the names unique.")
    columns = {h: [r[j] if j < len(r) else "" for r in body] for j, h in enumerate(header)}
    first = lines[0] if lines else 2
    return columns, header, first if lines == list(range(first, first + len(lines))) else lines


def _records(path: Path, text: str) -> tuple[list[list[str]], list[int]]:
    """The non-blank rows and the line each starts on."""
    reader, rows, lines = csv.reader(io.StringIO(text, newline="")), [], []
    try:
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(start)
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc}); check its format.") from None
    if rows and any("\n" in cell or "\r" in cell for cell in rows[-1]) and _unclosed(text):
        raise DataError(f"{path} line {lines[-1]}: a quote opened on this line is never closed; close it, or remove "
                        "it.")
    return rows, lines


def _unclosed(text: str) -> bool:
    """Whether the text ends inside a quoted value (the lenient reader takes the rest of the file into it)."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False

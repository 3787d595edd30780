"""Labelled texts from TSV, CSV or JSON Lines files.

- TSV (``.tsv``, ``.txt`` and anything else): ``text<TAB>label``; the first
  row is a header only when its label field is a column name (``label``, as
  in GLUE's files, or the ``label_column`` asked for), or both its fields
  are (``label<TAB>sentence``), never when it is a label (``text`` too).
  With a header, the columns are found by name; without one, the column
  names a model was trained on are not needed.
- CSV (``.csv``): a header row naming the columns.
- JSON Lines (``.jsonl``, ``.json``): one object a line.

The text column is ``text_column``, else ``text`` or ``sentence``; the label
column is ``label_column``, else ``label``.  Every problem is a DataError
naming the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

from seqtext.errors import (ConfigError, DataError, as_list, beyond_reading, counted, is_listlike, is_missing, is_pair,
                            is_table, printable, warn)
from seqtext.bundled import shipped

TEXT_NAMES = ("text", "sentence")
LABEL_NAMES = ("label",)
_QUOTED = re.compile(r'"(?:[^"]|"")*"')  # a field as a CSV writer quotes it


def read_labelled(path, text_column: str | None = None, label_column: str | None = None,
                  need_labels: bool = True, recorded: bool = False) -> tuple[list[str], list[str], list[int]]:
    """(texts, labels, the line number of each) of a file; labels are strings (a JSON 1 is "1").  ``recorded``:
    the columns are the ones training read (another file's names), used where this file names its columns."""
    path, text = read_data_file(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows = _jsonl_rows(path, text)
    else:
        rows = _table_rows(path, text, "," if suffix == ".csv" else "\t", text_column, label_column, need_labels,
                           recorded)
    texts, labels, lines = [], [], []
    for line, row in rows:
        t = _field(path, line, row, text_column, TEXT_NAMES, "text")
        if not isinstance(t, str):
            raise DataError(f"{path} line {line}: the text is {_json_kind(t)}, not a string; give every row its text "
                            "as a string.")
        if not t.strip():
            raise DataError(f"{path} line {line}: the text is empty; give every row some text.")
        texts.append(t.strip())
        lines.append(line)
        if need_labels:
            label = _field(path, line, row, label_column, LABEL_NAMES, "label")
            if isinstance(label, (dict, list)):
                raise DataError(f"{path} line {line}: the label is {_json_kind(label)}; give a string or a number.")
            if _missing(label):
                raise DataError(f"{path} line {line}: the label is missing; give every row a label.")
            labels.append(label_text(label))
    if not texts:
        raise DataError(f"{path} holds no examples; give one labelled text a line.")
    return texts, labels, lines


def read_pairs(source, name: str, text_column: str | None = None,
               label_column: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """(texts, labels, where each is: "NAME example N") of ``(text, label)`` pairs given in Python, or of a pandas
    DataFrame's text and label columns (found as a file's are: ``text_column``, else text or sentence, ...)."""
    if is_table(source):
        text, label = (_table_column(source, name, asked, usual, what) for asked, usual, what in
                       ((text_column, TEXT_NAMES, "text"), (label_column, LABEL_NAMES, "label")))
        source = list(zip(source[text].tolist(), source[label].tolist()))
    elif text_column is not None or label_column is not None:
        raise ConfigError("{text_column} and {label_column} name the columns of a file or a table; these examples "
                          "are (text, label) pairs already.", params=["text_column", "label_column"])
    if not is_listlike(source):
        raise DataError(f"the {name} data must be a file or a list of (text, label) pairs, got "
                        f"{type(source).__name__}.")
    pairs = list(source)
    if not pairs:
        raise DataError(f"the {name} examples are empty; give (text, label) pairs.")
    texts, labels = [], []
    for i, pair in enumerate(pairs, 1):
        if not is_pair(pair):
            raise DataError(f"{name} example {i} is not a (text, label) pair.")
        text, label = pair
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{name} example {i} has an empty text; give every example some words.")
        if _missing(label):
            raise DataError(f"{name} example {i} has no label; give every example one.")
        texts.append(text.strip())
        labels.append(label_text(label))
    return texts, labels, [f"{name} example {i}" for i in range(1, len(pairs) + 1)]


def label_text(label) -> str:
    """A label as text, the same however JSON wrote it: 1, 1.0 and "1" are "1"; true is "true"."""
    if isinstance(label, bool):
        return "true" if label else "false"
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label).strip()


def whole_label(label: str) -> str | None:
    """A label written as a whole number (``1``, ``1.0``, ``-2.00``) as that number's digits, else None."""
    match = re.fullmatch(r"(-?\d+)(?:\.0+)?", label)
    return match and str(int(match[1]))


def _json_kind(value) -> str:
    return {dict: "a JSON object", list: "a JSON list", bool: "true or false", type(None): "null"}.get(
        type(value), "a number")


def read_data_file(path) -> tuple[Path, str]:
    """(path, its text) of a data file (a regular file or a pipe), refused in one sentence when it cannot be."""
    path = shipped(path)
    if str(path) == "-":
        raise DataError("this data is read from a file, not from stdin ('-'); save it to a file and give its path.")
    if not path.exists():
        raise DataError(f"the data file {path} does not exist; check the path.")
    if path.is_dir():
        raise DataError(f"{path} is a directory; give the data file itself.")
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            raise DataError(f"{path} is gzip-compressed; decompress it first (gunzip).")
        if b"\x00" in data:  # valid UTF-8, but no text holds it: a binary file, or UTF-16 without a byte-order mark
            raise DataError(f"{path} holds NUL bytes, so it is a binary file or UTF-16 text; give UTF-8 text.")
        return path, data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; convert it to UTF-8.") from None
    except PermissionError:
        raise DataError(f"{path} cannot be read (permission denied); check its permissions.") from None


def file_lines(text: str) -> list[str]:
    """The lines of a file's text, broken at \\n, \\r\\n or \\r only (``str.splitlines`` also breaks at
    U+2028, U+0085 and form feeds, which can stand inside a line of text), each without the byte-order mark that
    a file joined on with cat brings to the start of its first line."""
    lines = [line.lstrip("\ufeff") for line in re.split(r"\r\n|\r|\n", text)]
    return lines[:-1] if lines and not lines[-1] else lines


def read_input_lines(file) -> tuple[Path, list[str]]:
    """(its name, its lines) of a file of inputs to predict on: a path, or stdin for None or "-".  Read as bytes
    and decoded as UTF-8, so that bytes that are not UTF-8 are refused in one sentence whatever the locale; its
    lines are those :func:`file_lines` breaks, as training reads a file (no byte-order mark at any line's start)."""
    import sys

    if file is not None and file != "-":
        path, text = read_data_file(file)
    else:
        path = Path("stdin")
        try:
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError("stdin is not UTF-8 text; convert it to UTF-8.") from None
    if "\x00" in text[:1 << 20]:  # NUL decodes as UTF-8, but no text holds it
        raise DataError(f"{path} looks like a binary file, not text; give UTF-8 text, one input a line.")
    return path, file_lines(text)  # as training reads its files: \\r alone ends a line too


def _jsonl_rows(path: Path, text: str):
    rows = []
    if text.lstrip().startswith("["):
        raise DataError(f"{path} holds a JSON list; give JSON Lines, one object a line.")
    for number, line in enumerate(file_lines(text), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            comma = " (without a comma after it)" if line.rstrip().endswith(",") else ""
            raise DataError(f"{path} line {number} is not a JSON object; give one object a line{comma}.") from None
        except (ValueError, RecursionError) as exc:  # valid JSON that Python cannot read: too deep, too many digits
            raise DataError(f"{path} line {number} {beyond_reading(exc)}; fix that line.") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path} line {number} is not a JSON object; give one object a line.")
        rows.append((number, obj))
    return rows


def _table_rows(path: Path, text: str, delimiter: str, text_column, label_column, need_labels: bool = True,
                recorded: bool = False):
    """(line number, row dict) pairs: a file with a header keyed by its names, one without by the columns asked
    for (else ``text`` and ``label``), so that ``_field`` finds both the same way.  A column missing from the
    header is named at the header's line.  ``recorded``: the columns are those a model was trained on, not asked
    for this file, so a file without a header reads its two fields instead of being refused."""
    records = _tsv_records(path, text) if delimiter == "\t" else _csv_records(path, text)
    if not records:
        return []
    # the byte-order mark a file joined on with cat brings to the start of its first row
    records = [(n, [row[0].lstrip("\ufeff"), *row[1:]]) for n, row in records]
    first = [cell.strip() for cell in records[0][1]]
    if delimiter == "," and len(first) == 1 and ";" in first[0]:
        raise DataError(f"{path} line {records[0][0]} looks separated by semicolons ({printable(first[0][:60])}); "
                        "save it with commas.")
    names = {n.lower() for n in (*LABEL_NAMES, *TEXT_NAMES, text_column or "", label_column or "") if n}
    labels = {n.lower() for n in (*LABEL_NAMES, label_column or "") if n}
    # two fields: a header when the label field is a column name for labels, or when both fields are column names
    # (label<TAB>sentence); "text" or "sentence" alone in the label field is a label (classes such as code / text)
    header = delimiter == "," or (len(first) >= 2 and (first[-1].lower() in labels or
                                                       all(cell.lower() in names for cell in first))) or \
        (len(first) > 2 and any(cell.lower() in names for cell in first))
    for number, row in records[1:]:  # two files joined (cat): their second header is no example
        cells = [cell.strip() for cell in row]
        if cells == first if header else len(cells) >= 2 and all(cell.lower() in names for cell in cells):
            raise DataError(f"{path} line {number} is a header row inside the data (two files joined?); remove it.")
    if not header:
        if (text_column or label_column) and not recorded:
            raise DataError(f"{path} has no header row, so its columns have no names; drop {{text_column}} and "
                            "{label_column} (the text is column 1, the label column 2) or add a header.",
                            params=["text_column", "label_column"])
        for number, row in records:
            if len(row) != 2:
                raise DataError(f"{path} line {number} has {counted(len(row), 'tab-separated field')}, expected 2 "
                                "(text<TAB>label); fix that line.")
        if len(first) == 2 and all(re.fullmatch(r"[A-Za-z_][\w-]*", c) for c in first) and \
                not any(row[-1].strip() == first[-1] for _, row in records[1:]):
            warn(f"{path} line {records[0][0]} ({first[0]}, {first[1]}) is read as an example, but it may be a "
                 "header: its label appears on no other line; if it is, name the columns with {text_column} and "
                 "{label_column}.", params=["text_column", "label_column"])
        # the text is the first field, the label the second, under the names the columns are looked up by
        return [(n, {text_column or "text": row[0], label_column or "label": row[1]}) for n, row in records]
    twice = sorted({name for name in first if name.lower() in names and first.count(name) > 1})  # a column read
    if twice:
        raise DataError(f"{path} line {records[0][0]} names the column {twice[0]!r} twice; rename one of them.")
    named = dict.fromkeys(first)  # the header's names, looked up as a row's are
    _field(path, records[0][0], named, text_column, TEXT_NAMES, "text")
    if need_labels:
        _field(path, records[0][0], named, label_column, LABEL_NAMES, "label")
    rows = []
    for number, row in records[1:]:
        if len(row) != len(first):
            raise DataError(f"{path} line {number} has {len(row)} fields but the header names {len(first)}; "
                            "fix that line.")
        rows.append((number, dict(zip(first, row))))
    if not rows:
        raise DataError(f"{path} has a header but no examples; add rows below it.")
    return rows


def _tsv_records(path: Path, text: str) -> list:
    """(line number, fields) of each non-blank line.  When a field in double quotes holds a doubled quote, the
    file was written by a CSV writer (pandas, Python's csv), and its quoted fields are read without their
    quotes; so too when its lines split into different numbers of fields but its rows read as CSV with tabs
    (a quoted tab or line break) all have one.  Otherwise every field is as written, quotes and all."""
    records = [(n, line.split("\t")) for n, line in enumerate(file_lines(text), 1) if line.strip()]
    if len({len(row) for _, row in records}) > 1 and '"' in text:  # refused as it is: a CSV writer's quotes?
        quoted = _written_by_csv(path, text)
        if quoted is not None:
            return quoted
    if any(_QUOTED.fullmatch(f) and '""' in f[1:-1] for _, row in records for f in row):
        records = [(n, [f[1:-1].replace('""', '"') if _QUOTED.fullmatch(f) else f for f in row]) for n, row in records]
    return records


def _written_by_csv(path: Path, text: str) -> list | None:
    """The records of a TSV that a CSV writer wrote (its quoted fields holding tabs or line breaks), when the
    rows, all of one width, write back as exactly this text; None for any other file (a stray quote in a
    hand-made TSV must not join its lines into one text)."""
    try:
        records = _csv_records(path, text, "\t", strict=True)
    except DataError:
        return None
    if len({len(row) for _, row in records}) != 1:
        return None
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(row for _, row in records)

    def lines(t):
        return [line for line in t.replace("\r\n", "\n").split("\n") if line.strip()]

    return records if lines(out.getvalue()) == lines(text) else None


def _csv_records(path: Path, text: str, delimiter: str = ",", strict: bool = False) -> list:
    """(line number where it starts, fields) of each non-blank row; a quoted field may hold commas and line breaks."""
    reader, records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict), []
    try:
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                return records
            if any(cell.strip() for cell in row):
                records.append((start, row))
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV file ({exc}, near line {reader.line_num}); check its "
                        "quotes.") from None


def _missing(label) -> bool:
    """Whether a label is missing (None, NaN, pandas' NA: :func:`~seqtext.errors.is_missing`) or blank."""
    return is_missing(label) or not str(label).strip()


def _table_column(table, name: str, asked: str | None, usual: tuple, what: str):
    """A DataFrame's column named ``asked``, else the first of ``usual`` (any case), as the files' ``_field``
    finds it; one missing or named twice is refused."""
    columns = {str(c): c for c in table.columns}
    lowered = {key.lower(): column for key, column in columns.items()}
    found = columns.get(asked) if asked is not None else next((lowered[u] for u in usual if u in lowered), None)
    if found is None:
        looked = repr(asked) if asked else f"(looked for {' or '.join(usual)})"
        raise DataError(f"the {name} table has no {what} column {looked} among {', '.join(columns)}; name it with "
                        f"{{{what}_column}}.", params=[f"{what}_column"])
    if list(table.columns).count(found) > 1:
        raise DataError(f"the {name} table names the column {str(found)!r} twice; rename one of them.")
    return found


def _field(path: Path, line: int, row: dict, asked: str | None, usual: tuple, what: str):
    if asked is not None:
        if asked not in row:
            raise DataError(f"{path} line {line} has no {what} column {asked!r} (columns: "
                            f"{', '.join(map(printable, row))}); name one with {{{what}_column}}.",
                            params=[f"{what}_column"])
        return row[asked]
    lowered = {str(k).lower(): k for k in row}
    for name in usual:
        if name in lowered:
            return row[lowered[name]]
    raise DataError(f"{path} line {line} has no {what} column (looked for {' or '.join(usual)} among "
                    f"{', '.join(map(printable, row))}); name it with {{{what}_column}}.", params=[f"{what}_column"])


def read_texts(lines) -> list[str]:
    """Texts to classify, one a line; an empty one is refused with its number."""
    texts = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            raise DataError(f"text {number} is empty; give some words to classify.")
        texts.append(text)
    if not texts:
        raise DataError("there are no texts to classify; give at least one.")
    return texts


def check_texts(texts) -> list[str]:
    """Texts given to a classifier (a string is one text), each a non-empty string; an empty list is no texts."""
    texts = as_list(texts, "the texts to classify")
    for i, text in enumerate(texts, 1):
        if not isinstance(text, str):
            raise DataError(f"text {i} is not a string; give texts as strings.")
    return read_texts(texts) if texts else []


MAX_TOKENS = 100_000  # tokens (words) of one text or sentence: a 10 MB line would take gigabytes to read


def encode_texts(tokenizer, texts: list[str], unk_id: int, places: list[str] | None = None) -> list[list[int]]:
    """Token ids of each text (at least one: a text of nothing the tokenizer keeps reads as ``unk_id``);
    ``places`` ("FILE line N") name a text too long, else its number."""
    places = check_places(places, len(texts))
    encoded = [enc.ids or [unk_id] for enc in tokenizer.encode_batch(texts, add_special_tokens=False)]
    for i, ids in enumerate(encoded):
        check_length(len(ids), f"the text at {places[i]}" if places else f"text {i + 1}", "tokens")
    return encoded


def check_places(places, n: int) -> list[str] | None:
    """``places`` as a list of ``n`` strings (None stays None), refused in one sentence otherwise."""
    if places is None:
        return None
    places = [str(p) for p in places] if is_listlike(places) else places
    if not isinstance(places, list) or len(places) != n:
        got = counted(len(places), "place") if isinstance(places, list) else type(places).__name__
        raise ConfigError(f"{{places}} names each text, one a text; got {got} for {counted(n, 'text')}.",
                          params=["places"])
    return places


def check_length(n: int, what: str, unit: str) -> None:
    """Refuse a text (or sentence) of more than ``MAX_TOKENS`` tokens (words) in one sentence."""
    if n > MAX_TOKENS:
        raise DataError(f"{what} is {n:,} {unit} long, more than the {MAX_TOKENS:,} one may have; split it.")


def source_path(source) -> str | None:
    """The absolute path of a data file given as a path (recorded for resume), None for examples in Python."""
    if isinstance(source, (str, os.PathLike)):
        try:
            return os.path.realpath(source)  # a link loop is then "does not exist"
        except ValueError:  # a NUL in the path: the reader refuses it as a file that does not exist
            return os.fspath(source)
    return None

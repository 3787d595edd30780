"""Corpus loading and batching.

Corpora are local text files read through HuggingFace ``datasets`` (offline),
one sentence a line, or streamed line by line (``iter_lines``) for a corpus of
any size; ``detect_mode`` tells running text from a corpus of sentences.  Before ``datasets`` sees a file, it is checked here so
a missing path, a binary file or a non-UTF-8 file ends in one clear sentence.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from seqtext.errors import DataError, is_listlike, one_column
from seqtext.bundled import exists, shipped
from seqtext.text.chars import iter_chunks

_SNIFF_BYTES = 1 << 20  # enough to tell text from binary without reading it all
# A "sentence" longer than this many characters is cut at white space into
# pieces of at most this size, so a 10 MB single-line file trains in bounded
# memory (each piece is one padded row, not one 2-million-token row).
MAX_LINE_CHARS = 2000
VALID = "validation text"  # what messages call the text validated on, where the training text is the corpus

# A corpus this large is running text for modelling purposes: padding it into
# per-sentence rows and resetting the state at every line throws away the
# cross-sentence context that a corpus of this size has enough data to learn.
STREAM_MIN_BYTES = 1_000_000
# Lines this long on average are paragraphs, not sentences, whatever the size.
STREAM_MIN_LINE_CHARS = 400
_MODE_SNIFF_CHARS = 1 << 20  # how much of a corpus detect_mode reads to measure lines


def corpus_source(source, name: str = "corpus"):
    """A corpus argument as ``load_lines`` and ``corpus_files`` take it: a path, or a list of paths or sentences.

    Any other iterable of strings (a generator, a numpy array, a pandas Series) becomes a list; an empty path
    (``""`` would read the current directory) and anything else are refused in one sentence naming ``name``."""
    if isinstance(source, os.PathLike) or isinstance(source, (list, tuple)):
        return source
    if isinstance(source, str):
        if not source.strip():
            raise DataError(f"the {name} is an empty path; give a text file, a directory of .txt files or a list "
                            "of sentences.")
        if any(c.isspace() for c in source.strip()) and not exists(shipped(source)):  # a sentence, or a path not there
            raise DataError(f"the {name} {source!r} is not a file or directory; check the path, or give sentences "
                            "as a list of strings (one string is read as a path).")
        return source
    source = one_column(source, f"the {name}")
    if not is_listlike(source):
        raise DataError(f"the {name} must be a path, a list of paths or a list of sentences (str), got "
                        f"{type(source).__name__}.")
    return [str(item) if isinstance(item, str) else item for item in source]  # numpy's str_ as plain str


def corpus_files(source: str | os.PathLike | Sequence, name: str = "corpus") -> list[Path]:
    """Resolve a file, a directory of ``.txt`` files, or several of those (``name``: what messages call them)."""
    if isinstance(source, (str, os.PathLike)):
        source = [source]
    files: list[Path] = []
    for item in source:
        if str(item) == "-":
            raise DataError(f"the {name} is read from files, not from stdin ('-'); save it to a file and give its path.")
        if not isinstance(item, (str, os.PathLike)) or not str(item).strip():
            raise DataError(f"the {name} holds {item!r}, which is not a path; give text files, directories of .txt "
                            "files or sentences (str).")
        path = shipped(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".txt" and p.is_file())  # .TXT too
            if not found:
                raise DataError(f"the directory {path} holds no .txt files; give text files.")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise DataError(f"{path} is not a regular file; give a text file or a directory of .txt files.")
        else:
            raise DataError(f"the {name} {path} does not exist; check the path.")
    if not files:
        raise DataError(f"no {name} was given; pass a text file or a directory of .txt files.")
    for path in files:
        check_text_file(path)
    return files


def check_text_file(path: Path) -> None:
    """Refuse binary and non-UTF-8 files before anything is trained on them."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            first = True
            while chunk := fh.read(_SNIFF_BYTES):
                if first and chunk[:2] == b"\x1f\x8b":
                    raise DataError(f"{path} is gzip-compressed; decompress it first (gunzip).")
                if first and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    raise DataError(f"{path} is UTF-16 text; convert it to UTF-8.")
                if first and b"\x00" in chunk:
                    raise DataError(f"{path} looks like a binary file, not text; give a UTF-8 text file.")
                first = False
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not valid UTF-8 text (bad byte at offset {exc.start}); convert it to UTF-8."
        ) from None
    except PermissionError:
        raise DataError(f"{path} cannot be read (permission denied); check its permissions.") from None


def load_lines(source, split_long: bool = True, name: str = "corpus") -> list[str]:
    """Non-blank lines of a corpus, stripped; a line longer than ``MAX_LINE_CHARS`` cut at white space into pieces
    (as training reads it) unless not ``split_long`` (as ``score`` reads it: whole).

    ``source`` is a path (file or directory of ``.txt`` files), a list of
    paths (``pathlib.Path``, or strings that all name existing files), or a
    list of sentences given as plain strings.  Files are read through
    ``datasets`` offline.
    """
    if isinstance(source, (list, tuple)) and not is_path_list(source):
        odd = next((i for i, s in enumerate(source) if not isinstance(s, str)), None)
        if odd is not None:
            raise DataError(f"a corpus list must hold sentences (str) or paths (pathlib.Path), but item {odd + 1} is "
                            f"{type(source[odd]).__name__}; give one kind.")
        lines = [line.strip() for s in source for line in s.splitlines() if line.strip()]
        where = "the given sentences"
    else:
        files = corpus_files(source, name)
        lines = _read_with_datasets(files)
        where = ", ".join(str(f) for f in files)
    if not lines:
        raise DataError(f"{where}: no text (empty or only white space); add sentences, one a line.")
    if split_long and any(len(line) > MAX_LINE_CHARS for line in lines):
        lines = [piece for line in lines for piece in split_long_line(line)]
    return lines


def stripped_lines(files: list[Path]) -> Iterator[str]:
    """Non-blank lines of the files in order, stripped (the rule of ``seqtext.data.load_lines``)."""
    for path in files:
        with open(path, encoding="utf-8-sig") as fh:  # a byte-order mark is no text
            for line in fh:
                line = line.strip()
                if line:
                    yield line


def iter_lines(source) -> Iterator[str]:
    """Stream a corpus's non-blank lines, stripped, with over-long lines cut at white space.

    ``source`` is a file, a directory of ``.txt`` files or a list of those.
    Nothing is kept in memory, so ``train_tokenizer(iter_lines(files), ...)``
    trains on a corpus of any size.
    """
    files = corpus_files(source)
    for line in stripped_lines(files):
        if len(line) > MAX_LINE_CHARS:
            yield from split_long_line(line)
        else:
            yield line


def iter_text(source, raw: bool = False) -> Iterator[str]:
    """``iter_lines``, or with ``raw`` the text as stored in chunks (a character tokenizer's training text)."""
    return iter_chunks(corpus_files(source)) if raw else iter_lines(source)


def detect_mode(source) -> str:
    """``"stream"`` for running text, ``"sentence"`` for a corpus of separate sentences.

    The rule: stream mode when the files add up to at least
    ``STREAM_MIN_BYTES`` (1 MB, about 200k words), or when their lines average
    at least ``STREAM_MIN_LINE_CHARS`` (400) characters, so that a line is a
    paragraph rather than a sentence (measured on the first 1 MB).  Otherwise
    sentence mode.  Size decides because a corpus that large holds enough
    text to learn context across sentence boundaries, which sentence mode
    throws away by padding each line into its own row from a fresh state;
    Penn Treebank (one sentence a line, 5 MB) is therefore "stream", and a
    few thousand short sentences (``corpora/pronouns.txt``, 0.3 MB) are
    "sentence".
    """
    files = corpus_files(source)
    if sum(f.stat().st_size for f in files) >= STREAM_MIN_BYTES:
        return "stream"
    chars = lines = 0
    for line in stripped_lines(files):
        chars += len(line)
        lines += 1
        if chars >= _MODE_SNIFF_CHARS:
            break
    if lines and chars / lines >= STREAM_MIN_LINE_CHARS:
        return "stream"
    return "sentence"


def split_long_line(line: str, limit: int = MAX_LINE_CHARS) -> list[str]:
    """Cut a line into pieces of at most ``limit`` characters, at white space where possible."""
    pieces = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(line[:cut].strip())
        line = line[cut:].strip()
    if line:
        pieces.append(line)
    return [p for p in pieces if p]


def is_path_list(source) -> bool:
    """A list that names files: pathlib.Path items, or strings that all name existing files or directories."""
    if not source:
        return False
    if all(isinstance(item, os.PathLike) for item in source):
        return True
    return all(isinstance(item, str) and "\n" not in item and exists(shipped(item)) for item in source)


def _read_with_datasets(files: list[Path]) -> list[str]:
    files = [f for f in files if f.stat().st_size > 0]  # datasets cannot build a table from nothing
    if not files:
        return []
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        ds = datasets.load_dataset(
            "text", data_files=[str(f) for f in files], split="train", keep_in_memory=True
        )
    except (datasets.exceptions.DatasetsError, OSError, ValueError) as exc:  # datasets wraps reader errors in its
        # own types; anything else (an import cut short by Ctrl-C) is not the corpus's fault and goes on up
        raise DataError(f"could not read the corpus {files[0]} ({exc}); check that it is UTF-8 text.") from None
    lines = (line.lstrip("\ufeff").strip() for line in ds["text"] if line)  # a file's byte-order mark is no text
    return [line for line in lines if line]


def split_lines(lines: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded held-out fraction of lines (at least one each side when possible)."""
    if fraction <= 0 or len(lines) < 2:
        return list(lines), []
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    n_valid = min(max(1, round(len(lines) * fraction)), len(lines) - 1)
    held = set(order[:n_valid])
    train = [line for i, line in enumerate(lines) if i not in held]
    valid = [line for i, line in enumerate(lines) if i in held]
    return train, valid


def sentence_batches(sequences: list[list[int]], batch_size: int, pad_id: int, shuffle: bool, generator=None):
    """Yield (inputs, targets) LongTensors of shape (B, T), padded with ``pad_id``.

    Each sequence is ``<s> w1 ... wn </s>``; inputs drop the last token and
    targets drop the first, so position t predicts token t+1.  Padding only
    trails, so a causal core never sees it before a real token.
    """
    import torch

    order = torch.randperm(len(sequences), generator=generator).tolist() if shuffle else range(len(sequences))
    order = list(order)
    for start in range(0, len(order), batch_size):
        chunk = [sequences[i] for i in order[start : start + batch_size]]
        width = max(len(s) for s in chunk) - 1
        x = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        y = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        for row, seq in enumerate(chunk):
            n = len(seq) - 1
            x[row, :n] = torch.as_tensor(seq[:-1])
            y[row, :n] = torch.as_tensor(seq[1:])
        yield x, y

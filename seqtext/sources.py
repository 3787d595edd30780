"""The data files a training read, recorded so that a resume reads the same: their paths and SHA-256 digests.

A model directory's ``config.json`` keeps ``data``: the paths under the
task's keys (``corpus`` and ``valid`` for text, ``train`` and ``dev`` for
the classifier and the tagger) and, since digests were recorded, ``sha256``:
each path's digest when the training began.  A resume given other files, or
files whose content changed since (a line cut or appended moves every batch
after it, and a checkpoint taken inside an epoch would resume at the wrong
place), is refused; files that are gone may be stood in for (moved data).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from seqtext.errors import DataError

SHA256 = "sha256"  # the key of the digests in a task's recorded sources


def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(path) -> str | None:
    """A file's SHA-256; a directory's is that of its ``.txt`` files (as a corpus directory is read), by name;
    None for a path that is neither."""
    path = Path(path)
    if path.is_file():
        return sha256_of(path)
    if not path.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.suffix.lower() == ".txt" and p.is_file()):
        digest.update(str(file.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(sha256_of(file).encode() + b"\n")
    return digest.hexdigest()


def _paths(value) -> list[str]:
    return [] if not value else [value] if isinstance(value, str) else list(value)


def with_digests(sources: dict, keys) -> dict:
    """``sources`` (paths under ``keys``, None for data given in Python) with the digest of each path."""
    digests = {p: fingerprint(p) for key in keys for p in _paths(sources.get(key))}
    return {**sources, SHA256: {p: d for p, d in digests.items() if d is not None}}


def check_same_data(recorded: dict, given: dict, names: dict) -> dict:
    """Refuse a resume on other data than its training began on; returns the sources to record (the given paths,
    with their digests).  ``names``: each key, how it is said and the parameter that gives it (("dev file", "dev")).

    The same paths must be given, their content unchanged since.  Files that are gone may be stood in for by
    files of the same content (moved data), compared by digest when digests were recorded; a recorded file that
    is gone with nothing given in its place is refused, never replaced by a held-out share."""
    keys = list(names)
    if not any(recorded.get(key) for key in keys):  # trained on data given in Python: nothing to compare
        return given
    digests = recorded.get(SHA256) or {}  # directories trained before digests were recorded: not compared
    result = with_digests(given, keys)  # each given file read once: compared here, recorded after
    current = result[SHA256]
    for key in keys:
        before, now = _paths(recorded.get(key)), _paths(given.get(key))
        if before and not all(Path(p).exists() for p in before):  # moved: the files given stand in for them
            if not now or sorted(now) == sorted(before):  # nothing given in their place (a resume reads the record)
                raise DataError(f"the {names[key][0]} of this training, {', '.join(before)}, is gone; give its "
                                f"new path with {{{names[key][1]}}} to resume.", params=[names[key][1]])
            if all(p in digests for p in before) and \
                    sorted(digests[p] for p in before) != sorted(current.get(p, "") for p in now):
                raise DataError(f"{', '.join(now)} does not hold the {names[key][0]} this training started on "
                                f"({', '.join(before)}, which is gone); give those files, or train afresh.")
            continue
        if sorted(before) != sorted(now):
            raise DataError(f"this training started on {', '.join(before or ['a held-out share'])} as its "
                            f"{names[key][0]}, not {', '.join(now or ['a held-out share'])}; resume it on the same "
                            "data, or train afresh on the new one.")
    for path, digest in digests.items():
        if path in current and current[path] != digest:  # the same paths as recorded (checked above)
            raise DataError(f"{path} has changed since this training started on it; restore it to resume, or "
                            "train afresh on the new data.")
    return result

"""The data shipped with seqtext, found by its name from any directory.

The pronoun corpus (``corpora/pronouns.txt`` and ``corpora/pronouns_test.txt``)
and two monthly series (``corpora/series/airline.csv``,
``corpora/series/energy.csv``) are installed with the package, in
``seqtext/corpora/``.  A path ``corpora/...`` that does not exist where it is
given names the shipped file of that name, so the README's commands run from
any directory, in a checkout or not; a file of the user's own at that path
always comes first.
"""

from __future__ import annotations

import os
from pathlib import Path

CORPORA = Path(__file__).resolve().parent / "corpora"


def shipped(path: str | os.PathLike) -> Path:
    """``path`` itself, unless it is a relative ``corpora/...`` path that does not exist here but names a file
    (or folder) shipped with seqtext, below ``corpora/``: then that one."""
    if not isinstance(path, (str, os.PathLike)):
        from seqtext.errors import DataError

        raise DataError(f"shipped() takes a path such as 'corpora/pronouns.txt', got {type(path).__name__}.")
    given = Path(path)
    parts = given.parts
    if given.is_absolute() or len(parts) < 2 or parts[0] != "corpora" or ".." in parts or exists(given):
        return given
    found = CORPORA.joinpath(*parts[1:])
    return found if exists(found) else given


def exists(path: Path) -> bool:
    """Whether ``path`` exists; False for a string no file system takes as a path (a sentence of 300 bytes is
    "File name too long", not a missing file)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False

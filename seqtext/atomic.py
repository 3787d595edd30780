"""Output files that appear whole or not at all, with the permissions a plain new file gets."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path


def write_file(path, write: Callable[[str], None], then: Callable[[], object] | None = None) -> Path:
    """Write ``path`` through ``write(temporary_name)`` into a temporary sibling, then rename it into place.

    ``then``, when given, runs between the two: when it raises, the temporary file is removed and whatever was
    at ``path`` before stays as it was (so that two outputs appear both or neither).

    The file keeps the mode of the one it replaces, or gets a new file's (0666 less the umask; the temporary
    file's own 0600 would leave it readable by its owner alone).  An OSError is the caller's to word.
    """
    path, tmp = Path(path), None
    for folder in path.parents:  # a file where a folder should be: mkdir would only say "File exists"
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(20, f"{folder} is a file, not a folder", str(folder))
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.is_file() else None
        while tmp is None:  # made 0666 less the umask by the kernel itself (mkstemp's files are 0600)
            name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
            try:
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                tmp = str(name)
            except FileExistsError:
                continue
        write(tmp)
        if then is not None:
            then()
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path

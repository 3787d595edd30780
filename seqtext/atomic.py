"""Output files that appear whole or not at all, with the permissions a plain new file gets."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_file(path, write: Callable[[str], None]) -> Path:
    """Write ``path`` through ``write(temporary_name)`` into a temporary sibling, then rename it into place.

    The file keeps the mode of the one it replaces, or gets a new file's (0666 less the umask; the temporary
    file's own 0600 would leave it readable by its owner alone).  An OSError is the caller's to word.
    """
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.is_file() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

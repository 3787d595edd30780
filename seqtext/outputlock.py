"""One writer per model directory: the advisory lock a training holds on ``.NAME.lock`` beside its output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from seqtext.errors import CheckpointError

_HELD: set = set()  # the lock files this process holds, for drop_held_locks


def drop_held_locks() -> None:
    """Remove the lock files this process holds: an exit that skips ``__exit__`` (os._exit on a Ctrl-C inside an
    import) leaves no ``.NAME.lock`` behind."""
    for file in list(_HELD):
        try:
            file.unlink()
        except OSError:
            pass
    _HELD.clear()


class OutputLock:
    """One writer per model directory: an advisory lock on a sibling file.

    The kernel drops the lock when the process dies, so a crashed run never
    leaves it stuck; a clean exit removes the file.
    """

    def __init__(self, path: str | Path):
        path = Path(path)
        self.target = path
        self.file = path.parent / f".{path.name}.lock"
        self.fh = None

    def __enter__(self):
        import fcntl

        self.file.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fh = open(self.file, "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                owner = fh.read().strip() or "another process"
                fh.close()
                raise CheckpointError(
                    f"{self.target} is being written by another training (pid {owner}); "
                    "wait for it to finish or choose another output directory."
                ) from None
            # The previous holder may have removed the file between our open and flock:
            # then we hold a lock on a dead inode and must take the new file instead.
            try:
                if os.stat(self.file).st_ino == os.fstat(fh.fileno()).st_ino:
                    break
            except FileNotFoundError:
                pass
            fh.close()
        self.fh = fh
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        _HELD.add(self.file)
        # Holding the lock, any temporary sibling of this directory is a crashed writer's leftover.
        for stale in self.file.parent.glob(f".{self.target.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        return self

    def __exit__(self, *exc):
        import fcntl

        _HELD.discard(self.file)
        try:
            self.file.unlink()  # while still locked, so no one else can be holding this inode
        except FileNotFoundError:
            pass
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()
        return False

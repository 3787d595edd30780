"""``python -m seqtext`` runs the command line (and ``main`` is the ``seqtext`` console script)."""

from __future__ import annotations


def main() -> None:
    """The ``seqtext`` console script: the command line, with a Ctrl-C during an import ending it cleanly (the
    guard is set before the command line's own imports)."""
    _guard_imports()
    from seqtext.cli import cli

    cli(prog_name="seqtext")


def _guard_imports() -> None:
    """Ctrl-C while a library is being imported (numpy and torch take a second or more as a command starts) would
    leave it half-initialised, and what runs next fails in its own way: a traceback, or an abort inside C++.  So an
    interrupt that lands inside an import ends the process at once ("interrupted", status 130, as a shell
    expects); anywhere else it is Python's KeyboardInterrupt, as ever (a training then saves what it has)."""
    import os
    import signal
    import sys

    def handle(signum, frame):
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib"):
                os.write(2, b"interrupted\n")
                held = sys.modules.get("seqtext.outputlock")  # a training's output lock, taken before its imports
                if held is not None:
                    held.drop_held_locks()
                os._exit(130)  # nothing is written yet: an import comes before a command's work
            frame = frame.f_back
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where Ctrl-C was set to be ignored
        signal.signal(signal.SIGINT, handle)


if __name__ == "__main__":
    main()

"""What the series commands check before any work (output paths, the series to plot) and how they write two outputs:
both or neither."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from seqtext.cli.options import refuse_empty
from seqtext.errors import install_hint

PLOT_MISSING = f"--plot needs matplotlib; install it with {install_hint('matplotlib')}"


def check_plot(plot: str | None, series_id: str | None = None) -> None:
    """Refuse --plot before any work when it cannot be written, and --series without it."""
    if plot is None:
        if series_id is not None:
            raise click.UsageError("--series picks the series to plot; give --plot FILE.png too (the other output "
                                   "covers every series).")
        return
    refuse_empty("--plot", plot, "the image file to draw (.png, .svg or .pdf)")
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise click.ClickException(PLOT_MISSING)
    nameless("--plot", plot, (".png", ".svg", ".pdf"))
    if Path(plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.UsageError(f"--plot {plot} must end in .png, .svg or .pdf.")


def nameless(flag: str, path: str, suffixes) -> None:
    """Refuse a file name that is one of ``suffixes`` alone (``.csv``: a hidden file with no suffix, to pathlib)."""
    name = Path(path).name
    if name.lower() in suffixes:
        raise click.UsageError(f"{flag} {path} has no name before {name}; give one, e.g. forecast{name.lower()}.")


def check_out(out: str | None, suffix: str = ".csv") -> None:
    refuse_empty("--out", out, f"the {suffix} file to write")
    if out is not None:
        nameless("--out", out, (suffix,))
        if Path(out).suffix.lower() != suffix:
            raise click.UsageError(f"--out {out} must end in {suffix}.")


def check_outputs(outputs: dict, inputs: dict) -> None:
    """Refuse, before any work, an output that cannot be written: a path that is a folder, lies under a file or
    an unwritable folder, or names one of the command's input files (which it would replace).  ``outputs`` and
    ``inputs``: {flag: path or None}."""
    given = {flag: Path(value) for flag, value in inputs.items() if value}
    for flag, value in outputs.items():
        if value is None:
            continue
        path = Path(value)
        if path.is_dir():
            raise click.UsageError(f"{flag} {value} is a folder; give the path of a file to write.")
        for folder in path.parents:  # the nearest one that exists: the rest are made when the file is written
            if folder.exists():
                if not folder.is_dir():
                    raise click.UsageError(f"{flag} {value} cannot be written: {folder} is a file, not a folder; "
                                           "choose another path.")
                if not os.access(folder, os.W_OK | os.X_OK):
                    raise click.UsageError(f"{flag} {value} cannot be written: the folder {folder} is not writable; "
                                           "choose another path.")
                break
        for source_flag, source in given.items():
            if _same_file(path, source):
                raise click.UsageError(f"{flag} {value} is the {source_flag} file this command reads, which it "
                                       "would replace; write to another path.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # a link that loops: reading or writing it says what is wrong
        return False


def write_both(write_out, write_plot, plot=None) -> None:
    """Write the --out file and the --plot image (drawn already, to be written at ``plot``; None: none asked) so
    that both or neither are written.  ``write_out(then)`` writes the --out file beside its place and calls
    ``then`` before moving it there; ``then`` writes the image.  When the --out file cannot be moved into place
    after all, the image written is taken back: the one that was at ``plot`` before returns, or none is left."""
    if write_out is None:
        if write_plot is not None:
            write_plot()
        return
    if write_plot is None:
        write_out(None)
        return
    import secrets

    plot = Path(plot)
    backup = plot.parent / f".{plot.name}.{secrets.token_hex(6)}.tmp"
    state = {"kept": False, "writing": False}

    def then():
        if os.path.lexists(plot):  # a file or a link, the link itself kept
            try:
                try:
                    os.link(plot, backup, follow_symlinks=False)
                except OSError:
                    shutil.copy2(plot, backup, follow_symlinks=False)
            except OSError as exc:
                raise click.ClickException(f"cannot keep the earlier {plot} while the new one is written "
                                           f"({exc.strerror or exc}); choose another --plot path.") from None
            state["kept"] = True
        state["writing"] = True  # from here, the image at plot may be the new one
        write_plot()

    try:
        write_out(then)
    except BaseException:
        if state["writing"]:
            if state["kept"]:
                os.replace(backup, plot)
            else:
                plot.unlink(missing_ok=True)
        raise
    finally:
        if os.path.lexists(backup):
            backup.unlink()


def pick(items, series_id, left_out=None):
    """The (id, table) to plot: the one named by --series, or the first.  ``left_out``: {id: why} for series of the
    table given that are not among ``items`` ("was left out as too short to score")."""
    if series_id is None:
        return items[0]
    for key, table in items:
        if key == series_id:
            return key, table
    why = (left_out or {}).get(series_id)
    if why:
        raise click.UsageError(f"--series {series_id} {why}, so it has no plot; name another series.")
    raise click.UsageError(f"--series {series_id} is not one of the series given.")

"""Drawing a forecast: history, forecast and (when known) the actual values, to an image file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from seqtext.atomic import write_file
from seqtext.errors import ConfigError, install_hint


def _figure(path):
    """(path, format, figure, axes) on matplotlib's Agg canvas: no display and no global backend."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(f"plotting needs matplotlib; install it with {install_hint('matplotlib')}.") from None
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ConfigError(f"the plot file {path} must end in .png, .svg or .pdf.")
    fig = Figure(figsize=(9, 4.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return path, fmt, fig, fig.add_subplot()


def _bands(ax, xs, bands) -> None:
    """Shaded intervals, widest first: ``bands`` is [(level, lower, upper)]."""
    for i, (level, lower, upper) in enumerate(sorted(bands, key=lambda b: -float(b[0]))):
        ax.fill_between(xs, lower, upper, color="tab:orange", alpha=0.15 + 0.15 * i, lw=0,
                        label=f"{level} % interval")


def plot_forecast(path, history, forecast, *, actual=None, dates=None, title: str | None = None,
                  bands=(), deferred: bool = False):
    """Draw history, forecast, its intervals and (when known) the actual values to an image file, atomically.

    ``dates`` labels the history then the forecast positions; ``bands`` is a
    list of (level, lower, upper) drawn as shaded intervals.  ``deferred``:
    draw it now, but return a function that writes the file (so that a
    command writes it only once its other outputs are written).
    """
    path, fmt, fig, ax = _figure(path)
    history = np.asarray(history, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    n, k = len(history), len(forecast)
    xs = np.arange(n + k)
    _bands(ax, xs[n : n + k], bands)
    ax.plot(xs[:n], history, color="0.25", lw=1.4, label="history")
    if actual is not None:
        actual = np.asarray(actual, dtype=np.float64)
        ax.plot(xs[n - 1 : n + len(actual)], np.r_[history[-1], actual], color="tab:green", lw=1.4, label="actual")
    # join the forecast to the last known value so the line does not float
    ax.plot(xs[n - 1 : n + k], np.r_[history[-1], forecast], color="tab:orange", lw=1.8, ls="--", label="forecast")
    ax.axvline(n - 0.5, color="0.6", lw=0.8, ls=":")
    if dates is not None and len(dates) >= n + k:
        ticks = np.unique(np.linspace(0, n + k - 1, min(10, n + k)).round().astype(int))
        ax.set_xticks(ticks, [str(dates[i]) for i in ticks], rotation=30, ha="right")
    else:
        ax.set_xlabel("step")
    return _save(path, fmt, fig, ax, title, deferred)


def plot_backtest(path, values, results: list[dict], *, dates=None, title: str | None = None,
                  deferred: bool = False):
    """Draw a series and the forecast of every backtest origin over it (with its intervals, when scored).

    ``results`` are backtest rows (``origin``, ``forecast`` and optionally
    ``intervals``) of this one series; ``deferred`` as in :func:`plot_forecast`.
    """
    path, fmt, fig, ax = _figure(path)
    values = np.asarray(values, dtype=np.float64)
    ax.plot(np.arange(len(values)), values, color="0.25", lw=1.4, label="actual")
    for i, r in enumerate(results):
        xs = r["origin"] + np.arange(len(r["forecast"]))
        intervals = r.get("intervals", {})
        if intervals:  # the widest level's band only: many origins overlap
            level = max(intervals, key=float)
            ax.fill_between(xs, intervals[level]["lower"], intervals[level]["upper"], color="tab:orange", alpha=0.08,
                            lw=0, label=f"{level} % intervals" if i == 0 else None)
        ax.plot(xs, r["forecast"], color="tab:orange", lw=1.0, alpha=0.8, label="forecasts" if i == 0 else None)
        ax.plot(xs[:1], r["forecast"][:1], "o", color="tab:orange", ms=2.5)
    if dates is not None and len(dates) >= len(values):
        ticks = np.unique(np.linspace(0, len(values) - 1, min(10, len(values))).round().astype(int))
        ax.set_xticks(ticks, [str(dates[i]) for i in ticks], rotation=30, ha="right")
    else:
        ax.set_xlabel("step")
    return _save(path, fmt, fig, ax, title, deferred)


def _save(path: Path, fmt: str, fig, ax, title, deferred: bool = False):
    """Write the figure to ``path`` (the path returned), or with ``deferred`` return a function that does."""
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    if title:
        ax.set_title(title)
    image = io.BytesIO()
    fig.savefig(image, format=fmt)

    def write() -> Path:
        try:  # the file appears whole or not at all
            return write_file(path, lambda tmp: Path(tmp).write_bytes(image.getvalue()))
        except OSError as exc:
            raise ConfigError(f"cannot write the plot to {path} ({exc.strerror or exc}); choose another "
                              "path.") from None

    return write if deferred else write()

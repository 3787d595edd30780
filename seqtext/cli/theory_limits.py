"""The sizes and learning rates ``seqtext theory`` refuses: a by-hand demonstration runs in seconds and prints what
a person can read (click and the standard library only, for ``seqtext --help``)."""

from __future__ import annotations

from seqtext.errors import ConfigError

DEFAULT_LR = 0.1
WORK = 100_000_000  # steps x hidden^2 at most: a by-hand demonstration in seconds, not hours
JSON_MATRIX = 1_000_000  # numbers in one matrix --json writes in full (hidden^2): tens of MB, not gigabytes
BLOWN_UP = 100  # a worked example whose loss ends this many times above its start has diverged


def too_much(name: str, steps: int, hidden: int, cubed: bool = False) -> None:
    """Refuse sizes a view takes minutes over: steps x hidden^2, and hidden^3 (W_h's spectral radius) if ``cubed``."""
    if steps * hidden * hidden > WORK:
        raise ConfigError(f"{name} {steps} with --hidden {hidden} is more than a by-hand demonstration runs in "
                          f"seconds ({name[2:]} x hidden^2 is {steps * hidden * hidden:,}, at most {WORK:,}); "
                          f"give a smaller {name} or --hidden.")
    if cubed and hidden ** 3 > WORK:
        raise ConfigError(f"--hidden {hidden} is more than a by-hand demonstration runs in seconds (W_h's spectral "
                          f"radius takes hidden^3, {hidden ** 3:,}, at most {WORK:,}); give --hidden "
                          f"{int(round(WORK ** (1 / 3)))} or less.")


def too_much_json(hidden: int) -> None:
    """Refuse a one-step --json whose weights and gradients, written in full, would run to gigabytes (the text view
    summarises large arrays, as NumPy prints them)."""
    if hidden * hidden > JSON_MATRIX:
        raise ConfigError(f"--json writes every weight and gradient in full, and --hidden {hidden} makes "
                          f"{hidden * hidden:,} numbers a matrix (at most {JSON_MATRIX:,}); give --hidden "
                          f"{int(JSON_MATRIX ** 0.5)} or less, or leave out --json for the summarised view.")


def diverged(what: str, lr: float, *values: float, start: float | None = None) -> None:
    """Refuse a run whose ``values`` overflowed (nan, inf) or whose loss (the first value) ended ``BLOWN_UP``
    times above ``start`` (a loss that rises for a few epochs and comes down is not refused)."""
    import math

    if not all(math.isfinite(v) for v in values) or (start is not None and values[0] > BLOWN_UP * start):
        raise ConfigError(f"gradient descent with --lr {lr:g} diverged ({what}); give a smaller --lr, e.g. "
                          f"{DEFAULT_LR:g}.")

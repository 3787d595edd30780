"""What the machine offers a training: CPU cores, bf16 arithmetic, and the thread count that is fastest.

``threads="auto"`` times a few training steps with one thread and with two
and keeps two only when they are clearly faster (:data:`AUTO_MARGIN`).  On
two cores one thread is often as fast (the model is small; the second
thread mostly waits), and when the other core is busy a second thread can
make every step tens of times slower (measured: 40x, OpenMP waiting for a
core it does not get), so the rule falls back to one thread unless two
measured faster at the start.

``precision="bf16"`` on a CPU needs bf16 dot products in hardware (x86:
AVX-512 BF16 or AMX; Arm: the BF16 extension).  Without them oneDNN
emulates bf16, slower than fp32, so the session trains in fp32 instead and
warns (:func:`bf16_missing` names what is missing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from seqtext.errors import warn

AUTO_MARGIN = 0.9  # two threads are kept when a step takes at most this share of one thread's time
AUTO_STEPS = 4  # timed steps per candidate, after one untimed step


def cpu_count() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags (Linux /proc/cpuinfo), or None when they cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):  # x86, Arm
                    return set(value.split())
    except OSError:
        pass
    return None


def bf16_missing(device_type: str, flags: set[str] | None = None) -> str | None:
    """None when ``device_type`` has bf16 arithmetic in hardware, else what is missing, in words."""
    if device_type == "cuda":
        import torch

        return None if torch.cuda.is_bf16_supported() else "bf16 support on this GPU (compute capability 8.0)"
    if device_type != "cpu":
        return None  # mps and others: torch's autocast decides
    flags = cpu_flags() if flags is None else flags
    if flags is None:  # no /proc/cpuinfo (macOS, Windows): ask oneDNN
        import torch

        return None if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "bf16 instructions"
    if "avx512_bf16" in flags or "amx_bf16" in flags or "bf16" in flags:  # x86 (either), Arm
        return None
    if "asimd" in flags or "fp" in flags:  # an Arm CPU
        return "the Arm BF16 extension (bf16)"
    return "AVX-512 BF16 (avx512_bf16) or AMX (amx_bf16)"


def pick_threads(step: Callable[[], None], candidates=(1, 2), steps: int = AUTO_STEPS) -> tuple[int, dict]:
    """The thread count among ``candidates`` (ascending) whose ``step()`` is fastest, by the rule above.

    Returns the count and the seconds a step took with each.  ``step`` runs
    one training step that leaves nothing behind; the caller restores
    threads and random state.
    """
    import torch

    seconds = {}
    for count in candidates:
        torch.set_num_threads(count)
        step()  # untimed: allocations, oneDNN primitives, thread start-up
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds[count] = (time.perf_counter() - start) / steps
    best = candidates[0]
    for count in candidates[1:]:
        if seconds[count] <= AUTO_MARGIN * seconds[best]:
            best = count
    return best, seconds


def resolve_precision(asked: str, device_type: str, doing: str = "training") -> str:
    """The precision a training (or what ``doing`` names) runs in: ``asked``, or fp32 (with a warning) for bf16
    without bf16 units."""
    if asked != "bf16":
        return asked
    missing = bf16_missing(device_type)
    if missing is None:
        return "bf16"
    warn(f"{{precision}} bf16 needs {missing}, which this {device_type.upper()} lacks (bf16 would be emulated, "
         f"slower than fp32); {doing} in fp32.", params=["precision"])
    return "fp32"


def resolve_threads(asked, device_type: str, probe: Callable[[], Callable[[], None]]) -> int:
    """The {threads} option as a count: capped at the cores available, or measured for "auto".

    ``probe()`` returns a step to time (called only for "auto" on a CPU with two cores or more);
    the torch random state is restored after the measurement.
    """
    cores = cpu_count()
    if asked != "auto":
        if asked > cores:
            warn(f"{{threads}} {asked} is more than the {cores} CPU cores this process may use; training with "
                 f"{cores}.", params=["threads"])
        return min(asked, cores)
    if device_type != "cpu" or cores < 2:
        return 1
    import torch

    rng = torch.get_rng_state()
    try:
        count, _ = pick_threads(probe(), (1, 2))
    finally:
        torch.set_rng_state(rng)  # the probe's dropout leaves no trace in the training
    return count

"""Export figures: cold start of `seqtext complete` (torch model vs exported) and one-step latency.

    python scripts/bench_export.py runs/ptb-lstm-3 [--runs 5]

Exports MODEL_DIR to a temporary directory, then prints the median wall time
of a fresh `seqtext complete` process for each (model load, prompt, output),
and the median time of one generation step: torch's fused ``TextNet.step``
against the exported graph's step through onnxruntime (``prefix.onnx`` over
one token, bitwise what ``step.onnx`` computes; batch 1, 1 thread).
scripts/bench_parity.py compares every kind call by call, interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cold_start(model: Path, prompt: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "seqtext", "complete", "--model", str(model), "--no-stream", prompt],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_latency(model_dir: Path, exported: Path, steps: int = 500) -> tuple[float, float]:
    import numpy as np
    import torch

    from seqtext import load
    from seqtext.export.runtime import load as load_exported

    torch.set_num_threads(1)
    lm, onnx = load(model_dir), load_exported(exported)
    token = torch.tensor([5])
    with torch.inference_mode():
        _, hidden = lm.net.step(token, None)
        start = time.perf_counter()
        for _ in range(steps):
            _, hidden = lm.net.step(token, hidden)
        torch_ms = (time.perf_counter() - start) / steps * 1e3
    state = onnx.net.zeros(1)
    ids = np.array([5])
    onnx.net.step(ids, state)
    start = time.perf_counter()
    for _ in range(steps):
        _, state = onnx.net.step(ids, state)
    return torch_ms, (time.perf_counter() - start) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompt", default="the company said it expects ___")
    args = parser.parse_args()
    from seqtext.export.onnx import export

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        exported = export(args.model_dir, Path(tmp) / "onnx")
        print(f"export: {time.perf_counter() - start:.2f} s")
        t_torch = cold_start(args.model_dir, args.prompt, args.runs)
        t_onnx = cold_start(exported, args.prompt, args.runs)
        print(f"cold start `seqtext complete` (median of {args.runs}): torch {t_torch:.3f} s, "
              f"exported {t_onnx:.3f} s ({t_onnx / t_torch:.2f}x)")
        torch_ms, onnx_ms = step_latency(args.model_dir, exported)
        print(f"one step, batch 1, 1 thread: torch fused step {torch_ms:.3f} ms, onnxruntime {onnx_ms:.3f} ms")


if __name__ == "__main__":
    main()

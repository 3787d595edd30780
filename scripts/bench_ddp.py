"""Data-parallel check: 1 process vs 2 (torchrun, gloo, CPU) at the same global batch.

    python scripts/bench_ddp.py [--ptb ../shared/data/ptb] [--epochs 8] [--ptb-lines 4000]

For the pronoun corpus (sentence mode) and a slice of Penn Treebank (stream
mode) it trains the same configuration with 1 and with 2 processes and prints
the validation perplexity of each (the issue asks for them within 2 % of each
other) and the training steps per second (median over epochs; the timing
includes validation).  On a 2-core machine two processes share the cores, so
steps/s shows the overhead of the gradient all-reduce, not a speed-up.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(nproc: int, corpus: Path, valid: Path | None, out: Path, options: list[str]) -> list[dict]:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    cmd = [*launcher, "-m", "seqtext", "train", "--corpus", str(corpus), "--out", str(out), "--quiet",
           "--device", "cpu", *options]
    if valid:
        cmd += ["--valid", str(valid)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def report(name: str, steps_per_epoch: int, runs: dict[int, list[dict]]) -> None:
    ppl = {n: min(row["valid_perplexity"] for row in hist) for n, hist in runs.items()}
    for n, hist in runs.items():
        seconds = [b["seconds"] - a["seconds"] for a, b in zip([{"seconds": 0.0}] + hist[:-1], hist)]
        rate = steps_per_epoch / statistics.median(seconds)
        print(f"{name}: {n} process(es): best validation perplexity {ppl[n]:.3f}, "
              f"{rate:.1f} steps/s (median over {len(hist)} epochs)")
    gap = abs(ppl[2] - ppl[1]) / ppl[1]
    print(f"{name}: 2-process vs 1-process validation perplexity differ by {100 * gap:.2f} %")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ptb", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--ptb-lines", type=int, default=4000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-ddp-"))

    pronouns = ROOT / "seqtext" / "corpora" / "pronouns.txt"
    options = ["--epochs", str(args.epochs), "--patience", str(args.epochs), "--batch-size", "16"]
    runs = {n: train(n, pronouns, None, work / f"pronouns-{n}", options) for n in (1, 2)}
    n_train = len(pronouns.read_text().splitlines()) * 0.9
    report("pronouns (sentence mode, global batch 16)", math.ceil(n_train / 16), runs)

    ptb = Path(args.ptb)
    if (ptb / "ptb.train.txt").is_file():
        lines = (ptb / "ptb.train.txt").read_text().splitlines()[: args.ptb_lines]
        vlines = (ptb / "ptb.valid.txt").read_text().splitlines()[: args.ptb_lines // 4]
        (work / "slice.txt").write_text("\n".join(lines) + "\n")
        (work / "slice-valid.txt").write_text("\n".join(vlines) + "\n")
        options = ["--mode", "stream", "--no-split-punctuation", "--epochs", str(args.epochs), "--patience",
                   str(args.epochs), "--batch-size", "20", "--bptt", "35", "--embed", "200", "--hidden", "200",
                   "--embed-dropout", "0.2", "--output-dropout", "0.2", "--lr", "0.002"]
        runs = {n: train(n, work / "slice.txt", work / "slice-valid.txt", work / f"ptb-{n}", options) for n in (1, 2)}
        tokens = sum(len(line.split()) + 1 for line in lines)
        report(f"PTB slice ({args.ptb_lines} lines, stream mode, global batch 20)", tokens // 20 // 35, runs)


if __name__ == "__main__":
    main()

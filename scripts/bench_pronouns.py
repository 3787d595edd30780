"""Benchmark the README's main job: train on the pronoun corpus, then complete.

Prints, for each seed: wall time of `seqtext train --corpus corpora/pronouns.txt`
with its defaults (a fresh process, as a user runs it), the Mary completion,
and last-word accuracy on corpora/pronouns_test.txt, whose (subject, verb,
object) combinations never occur in the training file.  Then start-up figures:
`seqtext --help`, `python -c "import torch"`, `seqtext complete` in a fresh
process, and the median in-process `.complete()` latency.

    python scripts/bench_pronouns.py [--seeds 0 1 2] [--extra --hidden 256 ...]   # --extra: train options, last

Targets: train <= 90 s, Mary -> hers, last-word accuracy >= 99 %, --help <= 0.5 s,
complete <= import torch + 1.0 s, in-process complete <= 2 ms median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARY = "Mary rides the bicycle, the bicycle is ___"


def timed(cmd: list[str], repeat: int = 1) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        out = proc.stdout
    return best, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more options for train")
    args = parser.parse_args(argv)
    seqtext = [sys.executable, "-m", "seqtext"]
    work = Path(tempfile.mkdtemp(prefix="bench-pronouns-"))
    model_dir = None
    accs = []
    for seed in args.seeds:
        model_dir = work / f"seed{seed}"
        wall, out = timed([*seqtext, "train", "--corpus", "corpora/pronouns.txt", "--out", str(model_dir),
                           "--quiet", "--seed", str(seed), *args.extra])
        _, answer = timed([*seqtext, "complete", "--model", str(model_dir), MARY])
        _, metrics = timed([*seqtext, "evaluate", "--model", str(model_dir), "--corpus",
                            "corpora/pronouns_test.txt", "--json"])
        m = json.loads(metrics)
        accs.append(m["last_word_accuracy"])
        summary = out.strip().splitlines()[-1]
        print(f"seed {seed}: train {wall:.1f} s wall | {summary}")
        print(f"  complete: {answer.strip()}")
        print(f"  unseen combinations (pronouns_test.txt): last-word accuracy {100 * m['last_word_accuracy']:.2f}%, "
              f"perplexity {m['perplexity']:.3f}, next-word accuracy {100 * m['accuracy']:.2f}%")
    if len(accs) > 1:
        print(f"last-word accuracy over {len(accs)} seeds: mean {100 * statistics.mean(accs):.2f}%, "
              f"min {100 * min(accs):.2f}%, max {100 * max(accs):.2f}%")

    help_s, _ = timed([*seqtext, "--help"], repeat=5)
    print(f"seqtext --help: {help_s:.3f} s (best of 5)")
    torch_s, _ = timed([sys.executable, "-c", "import torch"], repeat=5)
    complete_s, _ = timed([*seqtext, "complete", "--model", str(model_dir), MARY], repeat=5)
    print(f"python -c 'import torch': {torch_s:.3f} s; seqtext complete (fresh process): {complete_s:.3f} s "
          f"(budget {torch_s + 1.0:.3f} s)")

    import torch

    from seqtext import load

    torch.set_num_threads(1)
    model = load(model_dir)
    for _ in range(20):
        model.complete(MARY)
    times = []
    for _ in range(500):
        start = time.perf_counter()
        model.complete(MARY)
        times.append(time.perf_counter() - start)
    print(f"in-process .complete(): median {1000 * statistics.median(times):.3f} ms, "
          f"p90 {1000 * sorted(times)[int(0.9 * len(times))]:.3f} ms over 500 calls")


if __name__ == "__main__":
    main()

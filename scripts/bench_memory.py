"""Peak memory of stream-mode training on PTB and on a corpus N times its size.

    python scripts/bench_memory.py [--data ../shared/data/ptb] [--config configs/ptb-rnn.toml] [--copies 10]

Each run is a fresh process: it trains the tokenizer, encodes the corpus into
the memory-mapped id cache (a fresh cache directory), then trains for
--seconds and is stopped the way Ctrl-C stops it (after the current batch),
and reports its peak resident memory (ru_maxrss, which includes the Python
interpreter and torch).  Memory should not grow with the corpus: the ids stay
on disk and only one BPTT window at a time becomes a tensor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, resource, signal, sys, threading, time
from seqtext import TextModel
from seqtext.optionfiles import read_options_file
from seqtext.session import TrainingInterrupted

corpus, valid, config, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
options = {k: v for k, v in read_options_file(config).items() if k not in ("corpus", "valid", "out")}
start = time.perf_counter()
model = TextModel(**options)
original = model._train
def timed_train(*args, **kwargs):  # the clock starts when the batches do
    threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    return original(*args, **kwargs)
model._train = timed_train
try:
    model.fit(corpus, valid=valid)
except TrainingInterrupted:
    pass
state = model.trainer_state or {}
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tokens": model.summary.get("train_tokens"), "batches": state.get("batches_done"),
                  "wall": time.perf_counter() - start}))
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--config", default=str(ROOT / "configs" / "ptb-rnn.toml"))
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=45.0, help="training time after the data is ready")
    args = parser.parse_args(argv)

    data = Path(args.data)
    train, valid = data / "ptb.train.txt", data / "ptb.valid.txt"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / f"ptb.train.x{args.copies}.txt"
        text = train.read_text(encoding="utf-8")
        with open(big, "w", encoding="utf-8") as fh:
            for _ in range(args.copies):
                fh.write(text)
        for label, corpus in (("PTB", train), (f"{args.copies} x PTB", big)):
            env = dict(os.environ, SEQTEXT_CACHE=str(Path(tmp) / f"cache-{label.replace(' ', '')}"))
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(corpus), str(valid), args.config,
                                  str(args.seconds)], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{label}: the training process failed:\n{out.stderr[-2000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results[label] = row
            print(f"{label:10s} {corpus.stat().st_size / 1e6:6.1f} MB text, {row['tokens']:>10,} tokens: "
                  f"peak RSS {row['peak_rss_mb']:7.1f} MB after {row['batches']} batches "
                  f"({time.perf_counter() - t0:.0f} s wall)", flush=True)
    small, large = (results[k]["peak_rss_mb"] for k in results)
    print(f"growth from PTB to {args.copies} x PTB: {100 * (large - small) / small:+.1f} % (limit +25 %); "
          f"PTB peak {small:.0f} MB (limit 1,536 MB)")


if __name__ == "__main__":
    main()

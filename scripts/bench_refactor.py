"""An earlier checkout against this one, side by side: training speed, results and start-up.

    git worktree add /tmp/seqtext-old 8eefa21
    python scripts/bench_refactor.py --old /tmp/seqtext-old [--rounds 3] [--lines 6000]

Each figure runs both checkouts in turn, A B A B ..., in fresh processes with
PYTHONPATH pointing at the checkout, on the same input, one thread each:

- training speed: ``TextModel(...).fit`` for one epoch on the first --lines
  lines of PTB's training text in stream mode, at the PyTorch example's
  configuration (embedding 200, 2 x 200 tanh, batch 20, bptt 35, plain SGD at
  20, clip 0.25, dropout 0.2): training tokens per second of the epoch's wall
  time (validation on 200 lines included), and per second of the process's
  CPU time (steadier when other work shares the machine); best of --rounds
  for each side;
- the main job: ``seqtext train --corpus corpora/pronouns.txt`` with its
  defaults, the Mary completion and the held-out last-word accuracy (once each:
  training is deterministic on CPU, so both sides must agree exactly);
- the airline forecast (``Forecaster`` with the README's airline settings,
  seed 0): 24-step MAPE on the held-out 1959-60 (again deterministic);
- start-up: ``seqtext --help`` and ``import seqtext`` (best of 5 each, and
  whether torch was imported), and ``seqtext complete`` in a fresh process
  against ``python -c "import torch"``.
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
MARY = "Mary rides the bicycle, the bicycle is ___"

SPEED = r"""
import json, sys, time, torch
from seqtext import TextModel
train, valid = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
model = TextModel(mode="stream", embed=200, hidden=200, layers=2, cell="rnn", batch_size=20, bptt=35,
                  optimizer="sgd", lr=20.0, clip=0.25, dropout=0.2, embed_dropout=0.2, output_dropout=0.2,
                  split_punctuation=False, vocab_size=10100, epochs=1, seed=0, device="cpu", threads=1)
start, cpu = time.perf_counter(), time.process_time()
model.fit(train, valid=valid)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
s = model.summary
print(json.dumps({"tokens_per_s": s["train_tokens"] / s["seconds"], "valid_perplexity": s["valid_perplexity"],
                  "tokens_per_cpu_s": s["train_tokens"] / cpu, "fit_wall": wall}))
"""

AIRLINE = r"""
import json, sys, torch
import numpy as np
from seqtext import Forecaster
torch.set_num_threads(1)
import csv
rows = list(csv.DictReader(open(sys.argv[1])))
values = [float(r["passengers"]) for r in rows]
f = Forecaster(window=25, horizon=1, log=True, seed=0, device="cpu").fit(values[:-24])
forecast = f.predict(24, history=values[:-24])
actual = np.array(values[-24:])
print(json.dumps({"mape_24": float(100 * np.mean(np.abs(forecast - actual) / actual)),
                  "forecast_head": [round(float(v), 6) for v in forecast[:3]]}))
"""


def run(checkout: Path, args: list[str], **kw) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=checkout, env=env, **kw)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{checkout}: {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, type=Path, help="the earlier checkout (a git worktree)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ptb")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=6000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "pronouns", "airline", "startup"])
    parser.add_argument("--pronoun-rounds", type=int, default=1, help="interleaved trainings per side")
    args = parser.parse_args(argv)
    sides = {"old": args.old.resolve(), "new": ROOT}
    for name, path in sides.items():
        _, where = run(path, ["-c", "import seqtext; print(seqtext.__file__)"])
        print(f"{name}: {where.strip()}")
    work = Path(tempfile.mkdtemp(prefix="bench-refactor-"))

    if "speed" not in args.skip:
        train, valid = work / "train.txt", work / "valid.txt"
        train.write_text("".join((args.data / "ptb.train.txt").open().readlines()[: args.lines]))
        valid.write_text("".join((args.data / "ptb.valid.txt").open().readlines()[:200]))
        speed = {name: [] for name in sides}
        for r in range(args.rounds):
            for name, path in sides.items():
                _, out = run(path, ["-c", SPEED, str(train), str(valid)])
                result = json.loads(out)
                speed[name].append(result)
                print(f"  round {r + 1} {name}: {result['tokens_per_s']:,.0f} tokens/s "
                      f"({result['tokens_per_cpu_s']:,.0f} per CPU second), valid perplexity "
                      f"{result['valid_perplexity']:.3f}", flush=True)
        best = {name: max(r["tokens_per_s"] for r in rs) for name, rs in speed.items()}
        cpu = {name: max(r["tokens_per_cpu_s"] for r in rs) for name, rs in speed.items()}
        print(f"training speed, best of {args.rounds}: old {best['old']:,.0f}, new {best['new']:,.0f} tokens/s "
              f"(new/old {best['new'] / best['old']:.3f}); per CPU second: old {cpu['old']:,.0f}, new "
              f"{cpu['new']:,.0f} (new/old {cpu['new'] / cpu['old']:.3f}); same perplexity: "
              f"{speed['old'][0]['valid_perplexity'] == speed['new'][0]['valid_perplexity']}")

    if "pronouns" not in args.skip:
        results, walls = {}, {name: [] for name in sides}
        for name, path in [(n, p) for _ in range(args.pronoun_rounds) for n, p in sides.items()]:  # A B A B
            out_dir = work / f"pronouns-{name}"
            wall, out = run(path, ["-m", "seqtext", "train", "--corpus", "corpora/pronouns.txt", "--out", str(out_dir),
                                   "--quiet"])
            walls[name].append(wall)
            _, answer = run(path, ["-m", "seqtext", "complete", "--model", str(out_dir), MARY])
            _, metrics = run(path, ["-m", "seqtext", "evaluate", "--model", str(out_dir), "--corpus",
                                    "corpora/pronouns_test.txt", "--json"])
            results[name] = (out.strip().splitlines()[-1], answer.strip(), json.loads(metrics))
            print(f"pronouns {name}: train {wall:.1f} s | {results[name][0]}\n  {results[name][1]} | held-out "
                  f"last-word accuracy {100 * results[name][2]['last_word_accuracy']:.2f}%, perplexity "
                  f"{results[name][2]['perplexity']:.4f}", flush=True)
        print(f"pronouns: same answer and metrics: {results['old'][1:] == results['new'][1:]}; training wall, "
              f"best of {args.pronoun_rounds}: old {min(walls['old']):.1f} s, new {min(walls['new']):.1f} s")

    if "airline" not in args.skip:
        csv = ROOT / "seqtext" / "corpora" / "series" / "airline.csv"
        results = {name: json.loads(run(path, ["-c", AIRLINE, str(csv)])[1]) for name, path in sides.items()}
        for name, r in results.items():
            print(f"airline {name}: 24-step MAPE {r['mape_24']:.3f} % (first forecasts {r['forecast_head']})")
        print(f"airline: same forecasts: {results['old'] == results['new']}")

    if "startup" not in args.skip:
        for name, path in sides.items():
            model = work / f"pronouns-{name}"  # each side opens the model it wrote (the old one reads format 1 only)
            if not model.exists():
                run(path, ["-m", "seqtext", "train", "--corpus", "corpora/pronouns.txt", "--out", str(model),
                           "--epochs", "1", "--quiet"])
            help_s = min(run(path, ["-m", "seqtext", "--help"])[0] for _ in range(5))
            imp = [run(path, ["-c", "import seqtext, sys; print('torch' in sys.modules)"]) for _ in range(5)]
            torch_s = min(run(path, ["-c", "import torch"])[0] for _ in range(5))
            complete_s = min(run(path, ["-m", "seqtext", "complete", "--model", str(model), MARY])[0]
                             for _ in range(5))
            print(f"start-up {name}: seqtext --help {help_s:.3f} s; import seqtext {min(w for w, _ in imp):.3f} s "
                  f"(torch imported: {imp[0][1].strip()}); import torch {torch_s:.3f} s; seqtext complete "
                  f"{complete_s:.3f} s (torch + {complete_s - torch_s:.3f} s)")


if __name__ == "__main__":
    main()

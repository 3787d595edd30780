"""SST-2 dev accuracy of TextClassifier configurations (one line per configuration and seed).

    python scripts/bench_classify.py                                  # the defaults, seed 0
    python scripts/bench_classify.py pooling=mean cell=gru --seeds 0 1 2
    python scripts/bench_classify.py "pooling=last;bidirectional=false" "pooling=attention"

Each argument is one configuration: ``key=value`` pairs separated by ``;``
(several arguments of a single pair each are one configuration too, unless
any has a ``;``).  Prints dev accuracy, macro F1, epochs, training seconds and
prediction speed (dev sentences/s, one thread, batches of 256).
"""

from __future__ import annotations

import argparse
import ast
import statistics
import time
from pathlib import Path

import torch

from seqtext import TextClassifier

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sst2"


def parse(spec: str) -> dict:
    options = {}
    for pair in filter(None, (p.strip() for p in spec.split(";"))):
        key, value = pair.split("=", 1)
        low = value.lower()
        if low in ("true", "false"):
            options[key] = low == "true"
        else:
            try:
                options[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                options[key] = value
    return options


def run(options: dict, seed: int) -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    clf = TextClassifier(seed=seed, device="cpu", **options).fit(DATA / "train.tsv", dev=DATA / "dev.tsv")
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = clf.evaluate(DATA / "dev.tsv")
    speed = report["count"] / (time.perf_counter() - start)
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "epochs": clf.summary["epochs_run"],
            "best_epoch": clf.summary["epoch"], "seconds": seconds, "predict_per_s": speed,
            "curve": " ".join(f"{100 * h['valid_accuracy']:.1f}" for h in clf.history)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", default=[""])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--curve", action="store_true", help="also print dev accuracy after each epoch")
    args = parser.parse_args()
    configs = args.configs if any(";" in c for c in args.configs) or len(args.configs) <= 1 else [";".join(args.configs)]
    print("| configuration | seed | dev accuracy | macro F1 | epochs (best) | train s | predict sent/s |")
    print("|---|---|---|---|---|---|---|")
    for spec in configs:
        accs = []
        for seed in args.seeds:
            r = run(parse(spec), seed)
            accs.append(r["accuracy"])
            print(f"| {spec or 'defaults'} | {seed} | {100 * r['accuracy']:.2f} % | {100 * r['macro_f1']:.2f} | "
                  f"{r['epochs']} ({r['best_epoch']}) | {r['seconds']:.0f} | {r['predict_per_s']:.0f} |", flush=True)
            if args.curve:
                print(f"  dev accuracy by epoch: {r['curve']}", flush=True)
        if len(accs) > 1:
            print(f"| {spec or 'defaults'} | mean of {len(accs)} | {100 * statistics.mean(accs):.2f} % "
                  f"± {100 * statistics.stdev(accs):.2f} | | | | |", flush=True)


if __name__ == "__main__":
    main()

"""EWT UPOS dev accuracy of SequenceTagger configurations (one line per configuration and seed).

    python scripts/bench_tag.py                                     # the defaults, seed 0
    python scripts/bench_tag.py "chars=0" "layers=2;dropout=0.3" --seeds 0 1 2

Each argument is one configuration: ``key=value`` pairs separated by ``;``.
Prints dev token accuracy, accuracy on words unseen in training, epochs,
training seconds and prediction speed (dev sentences/s, one thread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import parse  # noqa: E402

from seqtext import SequenceTagger  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ud-ewt"


def run(options: dict, seed: int) -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    tagger = SequenceTagger(seed=seed, device="cpu", **options).fit(DATA / "train.conllu", dev=DATA / "dev.conllu")
    seconds = time.perf_counter() - start
    from seqtext.tag.data import read_tagged

    sentences = [w for w, _ in read_tagged(DATA / "dev.conllu")[0]]
    start = time.perf_counter()
    tagger.predict(sentences)
    speed = len(sentences) / (time.perf_counter() - start)
    report = tagger.evaluate(DATA / "dev.conllu")
    return {"accuracy": report["accuracy"], "unseen": report["unseen_accuracy"], "unseen_words": report["unseen_words"],
            "epochs": tagger.summary["epochs_run"], "best_epoch": tagger.summary["epoch"], "seconds": seconds,
            "predict_per_s": speed, "curve": " ".join(f"{100 * h['valid_accuracy']:.2f}" for h in tagger.history)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", default=[""])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--curve", action="store_true", help="also print dev accuracy after each epoch")
    args = parser.parse_args()
    print("| configuration | seed | dev UPOS accuracy | unseen words | epochs (best) | train s | predict sent/s |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.configs:
        accs = []
        for seed in args.seeds:
            r = run(parse(spec), seed)
            accs.append(r["accuracy"])
            print(f"| {spec or 'defaults'} | {seed} | {100 * r['accuracy']:.2f} % | {100 * r['unseen']:.2f} % "
                  f"({r['unseen_words']}) | {r['epochs']} ({r['best_epoch']}) | {r['seconds']:.0f} | "
                  f"{r['predict_per_s']:.0f} |", flush=True)
            if args.curve:
                print(f"  dev accuracy by epoch: {r['curve']}", flush=True)
        if len(accs) > 1:
            print(f"| {spec or 'defaults'} | mean of {len(accs)} | {100 * statistics.mean(accs):.2f} % "
                  f"± {100 * statistics.stdev(accs):.2f} | | | | |", flush=True)


if __name__ == "__main__":
    main()

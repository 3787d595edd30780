"""SST-2 dev accuracy of TextClassifier configurations (one line per configuration and seed).

    python scripts/bench_classify.py                                  # the defaults, seed 0
    python scripts/bench_classify.py pooling=mean cell=gru --seeds 0 1 2
    python scripts/bench_classify.py "pooling=last;bidirectional=false" "pooling=attention"
    python scripts/bench_classify.py "word_dropout=0|0.2;embed=128|300"   # a grid: 4 configurations

Each argument is one configuration: ``key=value`` pairs separated by ``;``
(several arguments of a single pair each are one configuration too, unless
any has a ``;``); a value ``a|b|c`` makes one configuration per value (the
grid of every such key).  Prints dev accuracy, macro F1, epochs (the one
kept), training seconds, prediction speed (dev sentences/s, one thread,
batches of 256) and, with ``--curve``, dev accuracy and loss after each epoch.

    python scripts/bench_classify.py --fractions 0.25 0.5 1       # a learning curve: seeded shares of train.tsv
    python scripts/bench_classify.py --seeds 0 1 2 3 4 5 6 7 --ensemble 3 5   # averaged seeds

``--ensemble K`` also scores every set of K of the seeds' models together:
the mean of their dev probabilities (a seed ensemble), as mean ± std over
the sets.

``--fractions`` trains each configuration on a share of the training
sentences (drawn with the run's seed), always scored on
the whole dev file: how far more sentences would move the figure.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import statistics
import time
from pathlib import Path

import torch

from seqtext import TextClassifier
from seqtext.classify.net import ClassifierNet

DEFAULT_EMBED_STD = ClassifierNet.embed_std

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sst2"
if not DATA.is_dir():  # a worktree one level deeper than the main checkout
    DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sst2"


def value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def expand(spec: str) -> list[str]:
    """``a=1|2;b=x`` -> ``["a=1;b=x", "a=2;b=x"]`` (the grid of every ``|``-separated value)."""
    pairs = [p.strip() for p in spec.split(";") if p.strip()]
    choices = [[f"{key}={v}" for v in values.split("|")] for key, values in (p.split("=", 1) for p in pairs)]
    return [";".join(combo) for combo in itertools.product(*choices)] or [""]


def parse(spec: str) -> dict:
    return {key: value(v) for key, v in (p.split("=", 1) for p in spec.split(";") if p.strip())}


def share(train: Path, fraction: float, seed: int, folder: Path) -> Path:
    """A TSV of a seeded ``fraction`` of ``train``'s rows (a ``...<TAB>label`` header kept), written into
    ``folder``."""
    import random

    rows = train.read_text(encoding="utf-8").splitlines()
    header = [rows.pop(0)] if rows and rows[0].split("\t")[-1] == "label" else []
    rows = random.Random(seed).sample(rows, round(fraction * len(rows)))
    out = folder / f"train-{fraction:g}-{seed}.tsv"
    out.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    return out


def run(options: dict, seed: int, data: Path, fraction: float = 1.0) -> dict:
    import tempfile

    torch.set_num_threads(1)
    options = dict(options)
    ClassifierNet.embed_std = options.pop("embed_std", DEFAULT_EMBED_STD)  # a constant of the net, not an option
    with tempfile.TemporaryDirectory() as folder:
        train = data / "train.tsv" if fraction == 1 else share(data / "train.tsv", fraction, seed, Path(folder))
        start = time.perf_counter()
        clf = TextClassifier(seed=seed, device="cpu", **options).fit(train, dev=data / "dev.tsv")
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = clf.evaluate(data / "dev.tsv")
    speed = report["count"] / (time.perf_counter() - start)
    texts = [t for t, _ in labelled_pairs(data / "dev.tsv")]
    probs = torch.tensor([list(p.values()) for p in clf.predict_proba(texts)])  # (N, labels), for ensembles
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "epochs": clf.summary["epochs_run"],
            "best_epoch": clf.summary["epoch"], "seconds": seconds, "predict_per_s": speed, "history": clf.history,
            "transfer": clf.task.transfer, "probs": probs, "labels": clf.labels}


def labelled_pairs(path: Path) -> list[tuple[str, str]]:
    from seqtext.classify.data import read_labelled

    texts, labels, _ = read_labelled(path)
    return list(zip(texts, labels))


def ensembles(results: list[dict], k: int, gold: list[str]) -> list[float]:
    """Dev accuracy of the mean probabilities of every set of ``k`` models."""
    accs = []
    for group in itertools.combinations(results, k):
        labels = group[0]["labels"]
        predicted = torch.stack([r["probs"] for r in group]).mean(0).argmax(-1).tolist()
        accs.append(sum(labels[p] == g for p, g in zip(predicted, gold)) / len(gold))
    return accs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", default=[""])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--curve", action="store_true", help="also print dev accuracy and loss after each epoch")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with train.tsv and dev.tsv")
    parser.add_argument("--fractions", nargs="+", type=float, default=[1.0],
                        help="shares of the training sentences to train on (a learning curve)")
    parser.add_argument("--ensemble", nargs="+", type=int, default=[],
                        help="also score every set of K seeds' models averaged (their mean dev probabilities)")
    args = parser.parse_args()
    configs = args.configs if any(";" in c for c in args.configs) or len(args.configs) <= 1 else [";".join(args.configs)]
    configs = [one for spec in configs for one in expand(spec)]
    print("| configuration | seed | dev accuracy | macro F1 | epochs (kept) | train s | predict sent/s |")
    print("|---|---|---|---|---|---|---|")
    for spec, fraction in itertools.product(configs, args.fractions):
        accs, results = [], []
        label = (spec or "defaults") + (f"; {fraction:g} of train" if fraction != 1 else "")
        for seed in args.seeds:
            r = run(parse(spec), seed, args.data, fraction)
            accs.append(r["accuracy"])
            results.append(r)
            print(f"| {label} | {seed} | {100 * r['accuracy']:.2f} % | {100 * r['macro_f1']:.2f} | "
                  f"{r['epochs']} ({r['best_epoch']}) | {r['seconds']:.0f} | {r['predict_per_s']:.0f} |", flush=True)
            if args.curve:
                h = r["history"]
                best = max(h, key=lambda m: m["valid_accuracy"])
                print("  dev accuracy/loss by epoch: " + " ".join(
                    f"{100 * m['valid_accuracy']:.1f}/{m['valid_loss']:.3f}" for m in h) +
                    f"; highest {100 * best['valid_accuracy']:.1f} at epoch {best['epoch']}"
                    + (f"; transfer {r['transfer']}" if r["transfer"] else ""), flush=True)
        if len(accs) > 1:
            print(f"| {label} | mean of {len(accs)} | {100 * statistics.mean(accs):.2f} % "
                  f"± {100 * statistics.stdev(accs):.2f} (min {100 * min(accs):.2f}, max {100 * max(accs):.2f}) "
                  f"| | | | |", flush=True)
        gold = [y for _, y in labelled_pairs(args.data / "dev.tsv")]
        for k in args.ensemble:
            if not 1 < k <= len(results):
                print(f"| {label} | --ensemble {k}: needs 2 to {len(results)} seeds | | | | | |", flush=True)
                continue
            e = ensembles(results, k, gold)
            spread = statistics.stdev(e) if len(e) > 1 else 0.0
            print(f"| {label} | {len(e)} sets of {k} seeds averaged | {100 * statistics.mean(e):.2f} % ± "
                  f"{100 * spread:.2f} (min {100 * min(e):.2f}, max {100 * max(e):.2f}) | | | | |", flush=True)


if __name__ == "__main__":
    main()

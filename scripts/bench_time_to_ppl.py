"""Time to validation perplexity 150 on full Penn Treebank: seqtext's fast settings beside the reference loop.

    python scripts/bench_time_to_ppl.py [--target 150] [--max-minutes 90] [--batch-size N | --batch-sizes 20,32,64]
        [--epochs 2] [--data ../shared/data/ptb] [--out time_to_ppl.json] [--only seqtext|reference]
        [--one-after-the-other] [--threads 1]

Both sides train the LSTM cell (the reference's tanh RNN at SGD 20 diverges and never gets there) on all of
ptb.train.txt and validate on all of ptb.valid.txt after every epoch; each stops at the first validation at
or below --target, or once its training time passes --max-minutes.  By default the two run at once, one
core each, so both see the same machine; --one-after-the-other runs seqtext first, then the reference.

- reference: scripts/reference_lm.py --cell lstm (the PyTorch example's way: 2 x 200, dropout 0.2, batch 20,
  bptt 35, SGD 20 annealed x1/4 when validation stalls, clip 0.25, fp32);
- seqtext: ``seqtext train`` (the command line) with its fast settings: the same 2 x 200 LSTM, bptt and
  clipping, plain SGD at 20, and an adaptive softmax, --precision bf16 (fp32 where the CPU has no bf16
  units), no dropout (regularisation pays only after the perplexities this aims at: one epoch reached 189
  without it against 217 with the example's 0.2), and a cosine rate over a budget of --epochs (2: validation
  144.5 after the second, where a constant rate left 159 and the third epoch 148).  The batch size is chosen
  by measurement first (each of --batch-sizes trains one epoch on the first 3,000 lines; the smallest
  within 10 % of the best tokens/s is kept, since a larger batch takes fewer steps an epoch) unless
  --batch-size is given.  It is stopped with Ctrl-C (SIGINT) once it reaches the target, which seqtext
  turns into a saved, resumable model.

Time is training time (the sum of the epochs' training loops, validation excluded: "train_seconds" in
seqtext's metrics.jsonl, "train_seconds" of the reference's JSON lines), so the two clocks count the same
thing; wall time with validation is logged as well, and the training loops' CPU time ("train_cpu_seconds"
on both sides), which a busy machine inflates far less than wall time.  The crossing of the target is also
interpolated between the two validations around it (perplexity log-linear in time).  Curves and times go to
--out (JSON) and both times are printed with their ratio.  Runs last tens of minutes: start it on an
otherwise idle machine with two cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_speed import PTB  # noqa: E402

COMMON = dict(embed=200, hidden=200, layers=2, bptt=35, lr=20.0, clip=0.25)  # the reference's dropout is 0.2


def crossing(curve: list[tuple[float, float]], target: float) -> dict:
    """The first evaluation at or below ``target``, and the crossing interpolated before it."""
    for i, (seconds, ppl) in enumerate(curve):
        if ppl <= target:
            estimate = seconds
            if i:
                (s0, p0), (s1, p1) = curve[i - 1], curve[i]
                if p0 > p1:
                    estimate = s0 + (s1 - s0) * (math.log(p0) - math.log(target)) / (math.log(p0) - math.log(p1))
            return {"reached": True, "seconds": seconds, "interpolated_seconds": round(estimate, 2)}
    return {"reached": False, "seconds": None, "interpolated_seconds": None}


def seqtext_command(train, valid, out: Path, batch: int, threads: str, epochs: int) -> list[str]:
    """``seqtext train`` with the fast settings: no dropout, SGD 20 under a cosine over ``epochs``."""
    return [sys.executable, "-m", "seqtext", "train", "--corpus", str(train), "--valid", str(valid), "--out", str(out),
            "--quiet", "--mode", "stream", "--tokenizer", "word", "--no-split-punctuation", "--vocab-size", "100000",
            "--cell", "lstm", "--softmax", "adaptive", "--precision", "bf16", "--optimizer", "sgd",
            "--embed", str(COMMON["embed"]), "--hidden", str(COMMON["hidden"]), "--layers", str(COMMON["layers"]),
            "--dropout", "0", "--embed-dropout", "0", "--output-dropout", "0", "--bptt", str(COMMON["bptt"]),
            "--lr", str(COMMON["lr"]), "--clip", str(COMMON["clip"]), "--lr-decay", "1.0", "--patience", "1000",
            "--schedule", "cosine",
            "--batch-size", str(batch), "--epochs", str(epochs), "--threads", threads, "--seed", "0"]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def choose_batch(args, work: Path) -> int:
    """The smallest candidate batch size within 10 % of the best training tokens/s (one epoch, 3,000 lines)."""
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    part = work / "part.txt"
    with open(Path(args.data) / "ptb.train.txt", encoding="utf-8") as fh:
        part.write_text("".join(line for _, line in zip(range(3000), fh)), encoding="utf-8")
    small_valid = work / "valid-part.txt"
    with open(Path(args.data) / "ptb.valid.txt", encoding="utf-8") as fh:
        small_valid.write_text("".join(line for _, line in zip(range(100), fh)), encoding="utf-8")
    rates = {}
    for size in sizes:
        out = work / f"batch{size}"
        subprocess.run(seqtext_command(part, small_valid, out, size, args.threads, 1), check=True, env=env(),
                       capture_output=True)
        row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
        tokens = json.loads((out / "config.json").read_text())["summary"]["train_tokens"]
        rates[size] = tokens / row["train_seconds"]
        print(f"  batch {size:4d}: {rates[size]:9,.0f} training tokens/s", flush=True)
    best = max(rates.values())
    chosen = min(size for size, rate in rates.items() if rate >= 0.9 * best)
    print(f"  chosen batch size: {chosen}", flush=True)
    return chosen


def run_seqtext(args, batch: int, work: Path) -> dict:
    data = Path(args.data)
    out = work / "seqtext"
    cap = args.max_minutes * 60
    proc = subprocess.Popen(seqtext_command(data / "ptb.train.txt", data / "ptb.valid.txt", out, batch,
                                            args.threads, args.epochs), env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    curve, wall, cpu_curve, trained, cpu, seen = [], [], [], 0.0, 0.0, 0
    metrics = out / "metrics.jsonl"
    while proc.poll() is None:
        time.sleep(2)
        if not metrics.is_file():
            continue
        rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
        for row in rows[seen:]:
            trained += row["train_seconds"]
            cpu += row["train_cpu_seconds"]
            curve.append((round(trained, 2), row["valid_perplexity"]))
            cpu_curve.append((round(cpu, 2), row["valid_perplexity"]))
            wall.append((row["seconds"], row["valid_perplexity"]))
            print(f"  seqtext   epoch {row['epoch']:3d}: {trained:8.1f} s training, valid perplexity "
                  f"{row['valid_perplexity']:8.2f}", flush=True)
        seen = len(rows)
        if curve and (curve[-1][1] <= args.target or trained >= cap):
            proc.send_signal(signal.SIGINT)  # seqtext saves a resumable model and exits 130
            proc.wait()
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode not in (0, 130):
        sys.exit(f"seqtext train failed:\n{output[-3000:]}")
    config = json.loads((out / "config.json").read_text())
    return {"curve": curve, "wall_curve": wall, "cpu_curve": cpu_curve, "cpu": crossing(cpu_curve, args.target),
            "batch_size": batch, **crossing(curve, args.target),
            "precision": config["summary"].get("precision"), "threads": config["summary"].get("threads")}


def run_reference(args) -> dict:
    data = Path(args.data)
    command = [sys.executable, str(ROOT / "scripts" / "reference_lm.py"), "--train", str(data / "ptb.train.txt"),
               "--lines", str(10 ** 9), "--valid", str(data / "ptb.valid.txt"), "--cell", "lstm", "--epochs", "10000",
               "--threads", str(int(args.threads) if args.threads.isdigit() else 1), "--json",
               "--stop-below", str(args.target), "--max-train-seconds", str(args.max_minutes * 60)]
    proc = subprocess.Popen(command, env=env(), stdout=subprocess.PIPE, text=True)
    curve, wall, cpu_curve, elapsed, cpu = [], [], [], 0.0, 0.0
    for line in proc.stdout:
        row = json.loads(line)
        elapsed += row["train_seconds"] + row["valid_seconds"]
        cpu += row["train_cpu_seconds"]
        curve.append((row["train_seconds_total"], row["valid_perplexity"]))
        cpu_curve.append((round(cpu, 2), row["valid_perplexity"]))
        wall.append((round(elapsed, 2), row["valid_perplexity"]))
        print(f"  reference epoch {row['epoch']:3d}: {row['train_seconds_total']:8.1f} s training, valid perplexity "
              f"{row['valid_perplexity']:8.2f}", flush=True)
    if proc.wait() != 0:
        sys.exit("the reference loop failed")
    return {"curve": curve, "wall_curve": wall, "cpu_curve": cpu_curve, "cpu": crossing(cpu_curve, args.target),
            "batch_size": 20, **crossing(curve, args.target),
            "precision": "fp32", "threads": int(args.threads) if args.threads.isdigit() else 1}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(PTB))
    ap.add_argument("--target", type=float, default=150.0)
    ap.add_argument("--max-minutes", type=float, default=90.0, help="training-time cap for each side")
    ap.add_argument("--batch-size", type=int, help="seqtext's batch size (skips the measurement)")
    ap.add_argument("--batch-sizes", default="20,32,64,128", help="candidates measured when --batch-size is not given")
    ap.add_argument("--threads", default="1", help="seqtext's --threads (the reference: this number, or 1)")
    ap.add_argument("--epochs", type=int, default=2, help="seqtext's budget: the cosine rate falls to 0 over it")
    ap.add_argument("--only", choices=["seqtext", "reference"])
    ap.add_argument("--one-after-the-other", action="store_true",
                    help="run seqtext, then the reference (default: both at once, one core each)")
    ap.add_argument("--out", default="time_to_ppl.json")
    args = ap.parse_args(argv)
    results = {"target": args.target, "max_minutes": args.max_minutes,
               "started": time.strftime("%Y-%m-%d %H:%M"), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="time-to-ppl-") as tmp:
        work = Path(tmp)
        os.environ["SEQTEXT_CACHE"] = str(work / "cache")
        batch = None
        if args.only != "reference":
            print("seqtext: batch size", flush=True)
            batch = args.batch_size or choose_batch(args, work)
            print(f"seqtext: lstm, adaptive softmax, bf16, no dropout, cosine over {args.epochs} epochs, "
                  f"batch {batch}", flush=True)
        if args.only is None and not args.one_after_the_other:
            print("reference: lstm, full softmax, fp32, batch 20 (at the same time)", flush=True)
            with ThreadPoolExecutor(1) as pool:
                reference = pool.submit(run_reference, args)
                results["seqtext"] = run_seqtext(args, batch, work)
                results["reference"] = reference.result()
        else:
            if args.only != "reference":
                results["seqtext"] = run_seqtext(args, batch, work)
            if args.only != "seqtext":
                print("reference: lstm, full softmax, fp32, batch 20", flush=True)
                results["reference"] = run_reference(args)
        results["together"] = args.only is None and not args.one_after_the_other
        results["load_after"] = os.getloadavg()[0]
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"time to validation perplexity {args.target:g} (training seconds; interpolated in brackets):")
    for side in ("reference", "seqtext"):
        if side in results:
            r = results[side]
            shown = f"{r['seconds']:.0f} s ({r['interpolated_seconds']:.0f} s)" if r["reached"] else \
                f"not reached in {args.max_minutes:g} min (best {min(p for _, p in r['curve']):.1f})"
            cpu = r["cpu"]
            shown += f"; CPU {cpu['seconds']:.0f} s ({cpu['interpolated_seconds']:.0f} s)" if cpu["reached"] else ""
            print(f"  {side:9s} {shown}")
    if all(side in results and results[side]["reached"] for side in ("reference", "seqtext")):
        a, b = results["reference"], results["seqtext"]
        print(f"  seqtext / reference time: {b['seconds'] / a['seconds']:.2f} "
              f"(interpolated {b['interpolated_seconds'] / a['interpolated_seconds']:.2f}); CPU time "
              f"{b['cpu']['seconds'] / a['cpu']['seconds']:.2f} "
              f"(interpolated {b['cpu']['interpolated_seconds'] / a['cpu']['interpolated_seconds']:.2f})")
    print(f"curves written to {args.out}")


if __name__ == "__main__":
    main()

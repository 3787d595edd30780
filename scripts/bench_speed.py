"""Training (and evaluation) speed of seqtext beside the reference loop, interleaved in one run.

    python scripts/bench_speed.py [--cell rnn|lstm] [--softmax full|adaptive] [--precision fp32|bf16]
        [--threads 1] [--lines 6000] [--pairs 3] [--embed 200 --hidden 200 --layers 2 --batch-size 20 --bptt 35]
        [--device cpu|cuda] [--data ../shared/data/ptb]
    python scripts/bench_speed.py --eval [...]     # evaluation speed and perplexity, fp32 and bf16

Training: each pair runs the reference loop (scripts/reference_lm.py, written the way PyTorch's
word_language_model example is, always fp32) and then ``seqtext train --mode stream`` (the command
line, in a fresh process), one epoch each on the same text: the first --lines lines of
ptb.train.txt, at the example's configuration (embedding 200, 2 x 200 tanh nn.RNN, batch 20, bptt 35,
full softmax, plain SGD at 20, dropout 0.2, clip 0.25, nothing else).  Both figures are measured the
same way: the targets trained on in the epoch divided by the wall time of the epoch's training loop.
Building the vocabulary (the reference) and the tokenizer and token cache (seqtext) are outside it, and
so is validation (200 lines of ptb.valid.txt, both sides).  Per CPU-second figures (the process's CPU
time over the same loop) are printed too: steadier when other work shares the machine.  The ratio of
each pair is seqtext / reference; best and median over --pairs.

--eval: one epoch of training each side first (the same slice, SGD at --lr 1), then pairs of the reference's
evaluation loop (batch 10, bptt 35, one loss.item() per window) and ``TextModel.evaluate`` (the
public API, timed around the call, the token cache already built) over ptb.valid.txt, in fp32 and
with precision="bf16"; prints tokens/s, the ratios and the perplexities.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data/ptb beside the checkout (a worktree one level deeper looks one more up)
PTB = next((p / "shared" / "data" / "ptb" for p in ROOT.parents[:2] if (p / "shared" / "data" / "ptb").is_dir()),
           ROOT.parent / "shared" / "data" / "ptb")

EVAL_CHILD = r"""
import json, sys, time, torch
from seqtext import TextModel
model_dir, corpus, precision, threads, device = sys.argv[1:6]
torch.set_num_threads(int(threads))
model = TextModel.load(model_dir, device=device)
model.evaluate(corpus, precision=precision)  # the token cache, and a warm-up like the reference's first window
start, cpu = time.perf_counter(), time.process_time()
m = model.evaluate(corpus, precision=precision)
if device.startswith("cuda"):
    torch.cuda.synchronize()
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"tokens": m["tokens"], "seconds": wall, "cpu_seconds": cpu, "perplexity": m["perplexity"]}))
"""


def run(args: list[str], env: dict | None = None) -> str:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(args[:3])} ...\n{proc.stderr[-3000:]}")
    return proc.stdout


def reference_args(a, train: Path, valid: Path) -> list[str]:
    return ["scripts/reference_lm.py", "--train", str(train), "--lines", str(a.lines), "--valid", str(valid),
            "--cell", a.cell, "--embed", str(a.embed), "--hidden", str(a.hidden), "--layers", str(a.layers),
            "--batch-size", str(a.batch_size), "--bptt", str(a.bptt), "--threads", str(a.ref_threads),
            "--device", a.device, "--lr", str(a.lr), "--json"]


def seqtext_args(a, train: Path, valid: Path, out: Path) -> list[str]:
    return ["-m", "seqtext", "train", "--corpus", str(train), "--valid", str(valid), "--out", str(out), "--quiet",
            "--mode", "stream", "--tokenizer", "word", "--no-split-punctuation", "--vocab-size", "100000",
            "--min-frequency", "1", "--embed", str(a.embed), "--hidden", str(a.hidden), "--layers", str(a.layers),
            "--cell", a.cell, "--softmax", a.softmax, "--optimizer", "sgd", "--lr", str(a.lr), "--clip", "0.25",
            "--dropout", "0.2", "--embed-dropout", "0.2", "--output-dropout", "0.2", "--weight-drop", "0",
            "--no-locked-dropout", "--no-tie-weights", "--weight-decay", "0", "--lr-decay", "1",
            "--schedule", "plateau", "--warmup", "0", "--batch-size", str(a.batch_size), "--bptt", str(a.bptt),
            "--epochs", "1", "--threads", str(a.threads), "--precision", a.precision, "--device", a.device,
            "--seed", "0"]


def reference_epoch(a, train, valid) -> dict:
    row = json.loads(run(reference_args(a, train, valid)).strip().splitlines()[-1])
    return {"tokens": row["train_tokens"], "seconds": row["train_seconds"], "cpu": row["train_cpu_seconds"],
            "loss": row["train_loss"], "valid_perplexity": row.get("valid_perplexity")}


def seqtext_epoch(a, train, valid, out: Path, env) -> dict:
    run(seqtext_args(a, train, valid, out), env)
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    config = json.loads((out / "config.json").read_text())
    n = config["summary"]["train_tokens"] // a.batch_size  # stream mode: batchify drops the remainder
    return {"tokens": a.batch_size * (n - 1), "seconds": row["train_seconds"], "cpu": row["train_cpu_seconds"],
            "loss": row["train_loss"], "valid_perplexity": row.get("valid_perplexity"),
            "threads": config["summary"].get("threads", config["train"]["threads"])}  # the count used


def summarise(name: str, runs: list[dict]) -> tuple[float, float]:
    rates = [r["tokens"] / r["seconds"] for r in runs]
    cpu_rates = [r["tokens"] / r["cpu"] for r in runs]
    print(f"  {name:9s} tokens/s best {max(rates):8,.0f}  median {statistics.median(rates):8,.0f}   "
          f"per CPU-second best {max(cpu_rates):8,.0f}  median {statistics.median(cpu_rates):8,.0f}")
    return max(rates), statistics.median(rates)


def ratios(label: str, ours: list[dict], ref: list[dict]) -> None:
    wall = [(o["tokens"] / o["seconds"]) / (r["tokens"] / r["seconds"]) for o, r in zip(ours, ref)]
    cpu = [(o["tokens"] / o["cpu"]) / (r["tokens"] / r["cpu"]) for o, r in zip(ours, ref)]
    print(f"  {label}: ratio per pair (wall) {', '.join(f'{x:.2f}' for x in wall)};  best {max(wall):.2f}x, "
          f"median {statistics.median(wall):.2f}x;  per CPU-second best {max(cpu):.2f}x, "
          f"median {statistics.median(cpu):.2f}x")


def training(a, train, valid, work: Path, env) -> None:
    ref, ours = [], []
    for pair in range(a.pairs):
        ref.append(reference_epoch(a, train, valid))
        ours.append(seqtext_epoch(a, train, valid, work / f"run{pair}", env))
        r, o = ref[-1], ours[-1]
        print(f"pair {pair + 1}: reference {r['tokens'] / r['seconds']:8,.0f} tokens/s ({r['tokens']} tokens, "
              f"loss {r['loss']:.3f})   seqtext {o['tokens'] / o['seconds']:8,.0f} tokens/s ({o['tokens']} tokens, "
              f"loss {o['loss']:.3f}, {o['threads']} thread(s))", flush=True)
    print(f"training, {a.cell} {a.layers} x {a.hidden}, {a.softmax} softmax, seqtext {a.precision} "
          f"(reference fp32), threads {a.threads}, {a.lines} lines, device {a.device}:")
    summarise("reference", ref)
    summarise("seqtext", ours)
    ratios("seqtext / reference", ours, ref)


def evaluation(a, train, valid, work: Path, env) -> None:
    full_valid = Path(a.data) / "ptb.valid.txt"
    model_dir = work / "model"
    run(seqtext_args(a, train, valid, model_dir), env)
    ref_model = work / "reference.pt"
    ref_eval = ["scripts/reference_lm.py", *reference_args(a, train, full_valid)[1:], "--save", str(ref_model)]
    run(ref_eval)
    ref_args = [*reference_args(a, train, full_valid), "--load", str(ref_model), "--epochs", "0"]
    rows = {"reference": [], "seqtext fp32": [], "seqtext bf16": []}
    for pair in range(a.pairs):
        r = json.loads(run(ref_args).strip().splitlines()[-1])
        rows["reference"].append({"tokens": r["valid_tokens"], "seconds": r["valid_seconds"],
                                  "cpu": r["valid_cpu_seconds"], "perplexity": r["valid_perplexity"]})
        for precision in ("fp32", "bf16"):
            out = run(["-c", EVAL_CHILD, str(model_dir), str(full_valid), precision, str(a.ref_threads), a.device],
                      env)
            o = json.loads(out.strip().splitlines()[-1])
            rows[f"seqtext {precision}"].append({"tokens": o["tokens"], "seconds": o["seconds"],
                                                 "cpu": o["cpu_seconds"], "perplexity": o["perplexity"]})
        print(f"pair {pair + 1}: " + "   ".join(
            f"{k} {v[-1]['tokens'] / v[-1]['seconds']:8,.0f} tokens/s (ppl {v[-1]['perplexity']:.3f})"
            for k, v in rows.items()), flush=True)
    print(f"evaluation of ptb.valid.txt, {a.cell} {a.layers} x {a.hidden}, {a.softmax} softmax, threads "
          f"{a.ref_threads}, device {a.device} (models trained one epoch on {a.lines} lines):")
    for name, runs in rows.items():
        summarise(name, runs)
    for precision in ("fp32", "bf16"):
        ratios(f"seqtext {precision} / reference", rows[f"seqtext {precision}"], rows["reference"])
    p32, p16 = rows["seqtext fp32"][0]["perplexity"], rows["seqtext bf16"][0]["perplexity"]
    print(f"  perplexity: seqtext fp32 {p32:.3f}, bf16 {p16:.3f} ({100 * (p16 / p32 - 1):+.3f} %); "
          f"reference (its own model) {rows['reference'][0]['perplexity']:.3f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(PTB), help="folder of ptb.train.txt and ptb.valid.txt")
    ap.add_argument("--lines", type=int, default=6000, help="lines of ptb.train.txt to train on")
    ap.add_argument("--valid-lines", type=int, default=200, help="lines of ptb.valid.txt validated on in training")
    ap.add_argument("--cell", choices=["rnn", "lstm"], default="rnn")
    ap.add_argument("--softmax", choices=["full", "adaptive"], default="full", help="seqtext's (the reference: full)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="seqtext's (the reference: fp32)")
    ap.add_argument("--threads", default="1", help="seqtext's --threads (a number or auto)")
    ap.add_argument("--ref-threads", type=int, default=None, help="the reference's threads (default: --threads, "
                                                                   "or 1 for auto)")
    ap.add_argument("--embed", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--lr", type=float, help="SGD rate of both sides (default 20, the example's; with --eval 1, "
                                             "since the tanh RNN at 20 diverges and its perplexity means nothing)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--eval", action="store_true", help="evaluation speed and perplexity instead of training")
    a = ap.parse_args(argv)
    if a.lr is None:
        a.lr = 1.0 if a.eval else 20.0
    if a.ref_threads is None:
        a.ref_threads = int(a.threads) if a.threads.isdigit() else 1
    data = Path(a.data)
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        work = Path(tmp)
        train, valid = work / "train.txt", work / "valid.txt"
        with open(data / "ptb.train.txt", encoding="utf-8") as fh:
            train.write_text("".join(line for _, line in zip(range(a.lines), fh)), encoding="utf-8")
        with open(data / "ptb.valid.txt", encoding="utf-8") as fh:
            valid.write_text("".join(line for _, line in zip(range(a.valid_lines), fh)), encoding="utf-8")
        env = {"SEQTEXT_CACHE": str(work / "cache"), "OMP_NUM_THREADS": str(a.ref_threads)}
        print(f"load before: {os.getloadavg()[0]:.2f} (1-minute average) on {os.cpu_count()} CPUs; "
              f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
        (evaluation if a.eval else training)(a, train, valid, work, env)
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

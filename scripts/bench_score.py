"""Scoring throughput: sentences per second for `seqtext score` on PTB's test file, one CPU thread.

    python scripts/bench_score.py --model runs/ptb-lstm [--repeats 3]

Scores every line of ptb.test.txt (3,761 sentences) as its own sentence,
batched by length, and prints sentences/s (the best of --repeats in-process
runs), the perplexity of the sentences read alone, and, for comparison, the
perplexity of `evaluate` (running text for a stream-mode model, so the two
differ: a sentence read alone has no context before it) and of
`evaluate --per-sentence` (the same numbers as score).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import torch

    import seqtext

    torch.set_num_threads(1)
    model = seqtext.load(args.model)
    test = Path(args.data) / "ptb.test.txt"
    lines = [line.strip() for line in test.read_text().splitlines() if line.strip()]
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        records = model.score(lines)
        best = min(best, time.perf_counter() - start)
    s = records.summary
    print(f"{len(lines):,} sentences, {s['tokens']:,} tokens: {len(lines) / best:,.0f} sentences/s "
          f"({s['tokens'] / best:,.0f} tokens/s), best of {args.repeats}")
    print(f"perplexity, each sentence alone: {s['perplexity']:.3f} ({s['perplexity_known']:.3f} without the "
          f"{s['unknown_tokens']:,} <unk> tokens)")
    per_sentence = model.evaluate(test, per_sentence=True)
    print(f"evaluate --per-sentence: {per_sentence['perplexity']:.3f} (relative difference "
          f"{abs(per_sentence['perplexity'] / s['perplexity'] - 1):.2e})")
    print(f"evaluate ({model.settings.text.mode} mode): {model.evaluate(test)['perplexity']:.3f}")


if __name__ == "__main__":
    main()

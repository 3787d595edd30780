"""Streaming generation: words per second and resident memory over a long stream, one CPU thread.

    python scripts/bench_streaming.py --model runs/ptb-lstm [--words 100000] [--checkpoints 10000 100000]

Streams --words words greedily across sentence ends (``stop=False``, repetition
control off) from one prompt and prints, at each checkpoint, the words
per second so far and the process's resident memory (VmRSS), then the growth
of RSS between the first and the last checkpoint.  Also prints the time of
one core step and of the output layer alone (the profile of a step).
"""

from __future__ import annotations

import argparse
import time


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--prompt", default="the company said")
    args = parser.parse_args(argv)

    import torch

    import seqtext
    from seqtext.text.spacing import is_wordlike

    torch.set_num_threads(1)
    model = seqtext.load(args.model)
    s = model.settings
    print(f"model {args.model}: {s.core.cell} {s.core.layers} x {s.core.hidden}, embedding {s.text.embed}, "
          f"vocabulary {model.tokenizer.get_vocab_size()}, {s.text.softmax} softmax; 1 thread")
    plain = {"no_repeat_ngram": None, "repetition_penalty": None}  # repetition control off: nothing grows
    list(model.stream(args.prompt, words=200, stop=False, **plain))  # warm-up
    marks, seen = sorted(args.checkpoints), {}
    words, start = 0, time.perf_counter()
    for piece in model.stream(args.prompt, words=args.words, stop=False, **plain):
        if is_wordlike(piece):  # what the generator counts as a word
            words += 1
            if marks and words == marks[0]:
                elapsed = time.perf_counter() - start
                seen[words] = rss_mb()
                print(f"{words:>8,} words: {words / elapsed:8,.0f} words/s, RSS {seen[words]:.1f} MB", flush=True)
                marks.pop(0)
    if len(seen) >= 2:
        first, last = min(seen), max(seen)
        print(f"RSS growth from {first:,} to {last:,} words: {seen[last] - seen[first]:+.1f} MB")

    # the profile of one step: the core, then the output layer
    net = model.net
    x = torch.tensor([5])
    hidden = None
    with torch.inference_mode():
        out, hidden = net.core.step(net.embed.weight[x], hidden)
        feats = net.features(out)
        for name, fn in (("core step", lambda: net.core.step(net.embed.weight[x], hidden)),
                         ("output layer", lambda: net._distribution(feats)),
                         ("whole greedy step", lambda: net.greedy_step(x, hidden, torch.tensor([0, 1, 2])))):
            for _ in range(200):
                fn()
            began = time.perf_counter()
            for _ in range(2000):
                fn()
            print(f"{name}: {(time.perf_counter() - began) / 2000 * 1e6:.0f} us")


if __name__ == "__main__":
    main()

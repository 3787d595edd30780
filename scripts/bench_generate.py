"""Generation speed: words per second for `complete --words N` on one CPU thread.

    python scripts/bench_generate.py --model runs/ptb-rnn [--words 500] [--repeats 7]

Without --model, the reference example's sizes (embedding 200, 2 x 200 tanh
units, the 10k-word PTB vocabulary) with untrained weights: speed depends on
a model's sizes, not on how well it is trained.  Prints greedy and sampled
(temperature 1, top-k 40) words/s, the median over --repeats runs, and the
time of one core step and of the output layer alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the PyTorch word_language_model example's sizes, on PTB's own tokens
SIZES = dict(embed=200, hidden=200, layers=2, mode="stream", vocab_size=10100, split_punctuation=False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a trained text model directory")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--softmax", choices=["full", "adaptive"], default="full",
                        help="without --model: the output layer of the untrained model")
    args = parser.parse_args(argv)

    import torch

    import seqtext

    torch.set_num_threads(args.threads)
    if args.model:
        model = seqtext.load(args.model)
    else:
        from seqtext.text import tokenizer as tk
        from seqtext.text.corpus import iter_lines

        model = seqtext.TextModel(**SIZES, softmax=args.softmax)
        text = model.settings.text
        model.task.tokenizer = tk.train_tokenizer(iter_lines([Path(args.data) / "ptb.train.txt"]), text.tokenizer,
                                                  text.vocab_size, text.min_frequency, text.split_punctuation)
        torch.manual_seed(0)
        model.net = model.task.build().eval()
    core, vocab = model.settings.core, model.tokenizer.get_vocab_size()
    print(f"model: {core.cell} {core.layers} x {core.hidden}, embedding {model.settings.text.embed}, "
          f"vocabulary {vocab}, {model.settings.text.softmax} softmax; {args.threads} thread(s)")

    prompt = "the company said"
    for name, sample in (("greedy", {}), ("sampled (temperature 1, top-k 40)", {"temperature": 1.0, "top_k": 40})):
        rates = []
        for repeat in range(args.repeats):
            seed = {"seed": repeat} if sample else {}
            start = time.perf_counter()
            out = model.complete(prompt, words=args.words, stop=False, **sample, **seed)
            seconds = time.perf_counter() - start
            rates.append(len(out.words) / seconds)
        print(f"{name}: {statistics.median(rates):,.0f} words/s (median of {args.repeats}; "
              f"{len(out.words)} words a run)")

    net = model.net
    with torch.inference_mode():
        token = torch.tensor([5])
        hidden = None
        for _ in range(50):
            _, hidden = net.step(token, hidden)
        features = torch.randn(1, net.head.in_features)
        head = net.head.log_prob if net.adaptive else net.head
        step_s = _time(lambda: net.step(token, hidden))
        head_s = _time(lambda: head(features))
    print(f"one step (embedding, core, head): {step_s * 1e6:.0f} us; output layer alone: {head_s * 1e6:.0f} us")


def _time(fn, n: int = 2000) -> float:
    for _ in range(100):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


if __name__ == "__main__":
    main()

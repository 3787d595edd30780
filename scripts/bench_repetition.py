"""How much each repetition control costs and what it buys, on a model trained on Penn Treebank.

    python scripts/bench_repetition.py --model runs/ptb-lstm [--prefixes 100] [--words 100] [--only ...]

For --prefixes lines of PTB's test file (the first with at least 12 tokens),
the first 10 tokens are a prompt and the model continues it greedily for
--words words across sentence ends (``stop=False``), once per setting: none,
``no_repeat_ngram`` 2..4, ``repetition_penalty`` 1.1..1.5, and pairs of
them.  For each setting it prints:

- the share of distinct 4-grams in a continuation (distinct / all, the mean
  over the continuations): 1.0 means no 4-gram is written twice;
- the perplexity of the continuations under the model itself, without any
  control (how far the control pushes the text from what the model finds
  likely): the lower, the cheaper the control;
- the share of continuations that loop (some 4-gram written three times).

The defaults of ``seqtext complete`` are the setting with a distinct-4-gram
share of at least 0.95 at the smallest perplexity.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "none": {},
    "no_repeat_ngram 2": {"no_repeat_ngram": 2},
    "no_repeat_ngram 3": {"no_repeat_ngram": 3},
    "no_repeat_ngram 4": {"no_repeat_ngram": 4},
    "penalty 1.1": {"repetition_penalty": 1.1},
    "penalty 1.2": {"repetition_penalty": 1.2},
    "penalty 1.3": {"repetition_penalty": 1.3},
    "penalty 1.5": {"repetition_penalty": 1.5},
    "no_repeat_ngram 4 + penalty 1.1": {"no_repeat_ngram": 4, "repetition_penalty": 1.1},
    "no_repeat_ngram 3 + penalty 1.1": {"no_repeat_ngram": 3, "repetition_penalty": 1.1},
    "no_repeat_ngram 5": {"no_repeat_ngram": 5},
    "penalty 1.15": {"repetition_penalty": 1.15},
    "no_repeat_ngram 4 + penalty 1.05": {"no_repeat_ngram": 4, "repetition_penalty": 1.05},
    "no_repeat_ngram 5 + penalty 1.1": {"no_repeat_ngram": 5, "repetition_penalty": 1.1},
    "no_repeat_ngram 6 + penalty 1.1": {"no_repeat_ngram": 6, "repetition_penalty": 1.1},
}


def continuation_ids(model, prompt: str, pieces: list[str]) -> list[int]:
    from seqtext.text import tokenizer as tk

    tok = model.tokenizer
    ids = []
    for piece in pieces:
        word = piece.strip()
        ids.append(tok.token_to_id(tk.EOS) if piece == "\n" else tok.token_to_id(word.lower()) or
                   tok.token_to_id(tk.UNK))
    return ids


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--prefixes", type=int, default=100)
    parser.add_argument("--words", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="names of settings to run")
    args = parser.parse_args(argv)

    import torch

    import seqtext
    from seqtext.text import tokenizer as tk
    from seqtext.text.scoring import token_logprobs

    torch.set_num_threads(1)
    model = seqtext.load(args.model)
    lines = [line.split() for line in (Path(args.data) / "ptb.test.txt").read_text().splitlines()]
    prompts = [" ".join(words[:10]) for words in lines if len(words) >= 12][: args.prefixes]
    start = model.tokenizer.token_to_id(tk.EOS if model.settings.text.mode == "stream" else tk.BOS)
    print(f"model {args.model}: {len(prompts)} prompts of 10 tokens, {args.words} words each, greedy")
    print(f"{'setting':34s}{'distinct 4-grams':>18s}{'perplexity':>12s}{'looping':>9s}{'seconds':>9s}")
    for name, options in SETTINGS.items():
        if args.only and name not in args.only:
            continue
        began = time.perf_counter()
        shares, loops, seqs, spans = [], 0, [], []
        for prompt in prompts:
            pieces = list(model.stream(prompt, words=args.words, stop=False, **options))
            cont = continuation_ids(model, prompt, pieces)
            grams = [tuple(cont[i:i + 4]) for i in range(len(cont) - 3)]
            shares.append(len(set(grams)) / max(len(grams), 1))
            loops += any(grams.count(g) >= 3 for g in set(grams))
            head = [start, *model.tokenizer.encode(prompt, add_special_tokens=False).ids]
            seqs.append(head + cont)
            spans.append(len(head) - 1)  # targets before the continuation
        logps = token_logprobs(model.net, seqs, model.device)
        total = sum(float(lp[s:].sum()) for lp, s in zip(logps, spans))
        count = sum(len(lp) - s for lp, s in zip(logps, spans))
        ppl = math.exp(-total / count)
        print(f"{name:34s}{sum(shares) / len(shares):18.3f}{ppl:12.1f}{loops / len(prompts):9.2f}"
              f"{time.perf_counter() - began:9.1f}", flush=True)


if __name__ == "__main__":
    main()

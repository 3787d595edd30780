"""Training levers on Penn Treebank, each measured against a reference configuration.

    python scripts/bench_levers.py speed [--data ../shared/data/ptb] [--windows 60] [--only NAME ...] [--device cuda]
    python scripts/bench_levers.py quality [--fraction 0.2] [--epochs 2] [--only NAME ...]

Speed:
The reference is the PyTorch word_language_model example's configuration:
embedding 200, 2 x 200 tanh units, batch 20, bptt 35, full softmax.  Each
lever changes one thing: softmax (adaptive), batch size, CPU threads, bf16
autocast, torch.compile, and the cell.  A run trains --windows BPTT windows
(after 5 for warm-up, and after compilation for torch.compile) with the
seqtext network and Adam, the way `seqtext train` does, and prints training
tokens/s.

Quality: a 2 x 200 tanh reference (dropout 0.2, Adam 2e-3, plateau decay,
clip 0.25, batch 20, bptt 35) trained on the first --fraction of PTB's training
text for --epochs, then one change at a time: no dropout, tied weights,
cosine schedule with warm-up, clipping at 5, the GRU and LSTM cells, the
adaptive softmax.  Prints validation perplexity per epoch (the full PTB
validation file) and the training time.

Nothing here is a test: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASE = dict(embed=200, hidden=200, layers=2, cell="rnn", batch=20, bptt=35, softmax="full", threads=1,
            bf16=False, compile=False, device="cpu")
LEVERS = {
    "reference (2 x 200 tanh, batch 20, full softmax)": {},
    "adaptive softmax": dict(softmax="adaptive"),
    "batch 64": dict(batch=64),
    "batch 64, adaptive softmax": dict(batch=64, softmax="adaptive"),
    "2 threads": dict(threads=2),
    "bf16 autocast": dict(bf16=True),
    "torch.compile": dict(compile=True),
    "lstm cell": dict(cell="lstm"),
    "1 x 512 tanh, embedding 256, adaptive softmax": dict(embed=256, hidden=512, layers=1, softmax="adaptive"),
}


def measure(ids, vocab: int, windows: int, **o) -> float:
    import torch

    from seqtext.text import stream
    from seqtext.config import CoreConfig, TextConfig
    from seqtext.core import detach_hidden
    from seqtext.text.net import TextNet

    torch.set_num_threads(o["threads"])
    torch.manual_seed(0)
    device = torch.device(o["device"])
    text = TextConfig(embed=o["embed"], softmax=o["softmax"], embed_dropout=0.0, output_dropout=0.0,
                      cutoffs=[round(vocab * 0.2), round(vocab * 0.6)] if o["softmax"] == "adaptive" else [])
    core = CoreConfig(hidden=o["hidden"], layers=o["layers"], cell=o["cell"])
    net = TextNet(vocab, text, core).to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    forward = torch.compile(net) if o["compile"] else net
    streams = stream.batchify(ids, o["batch"])
    hidden, seen, start = None, 0, None
    for index, (x, y) in enumerate(stream.bptt_windows(streams, o["bptt"])):
        if index in (5, windows + 5) and device.type == "cuda":
            torch.cuda.synchronize()  # time the GPU's work, not the queueing of it
        if index == 5:
            start, seen = time.perf_counter(), 0
        if index == windows + 5:
            break
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=o["bf16"]):
            _, loss, hidden = forward(x, y, hidden=detach_hidden(hidden))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.25)
        optimizer.step()
        seen += y.numel()
    if start is None or index < windows + 5:
        raise ValueError(f"the corpus holds fewer than {windows + 5} BPTT windows of batch {o['batch']}; "
                         "give a larger --data or fewer --windows")
    return seen / (time.perf_counter() - start)


QUALITY = {
    "reference (2 x 200 tanh, dropout 0.2)": {},
    "no dropout": dict(dropout=0.0, embed_dropout=0.0, output_dropout=0.0),
    "tied weights": dict(tie_weights=True),
    "cosine schedule, 200 warm-up steps": dict(schedule="cosine", warmup=200, lr_decay=1.0),
    "clip 5 (instead of 0.25)": dict(clip=5.0),
    "gru cell": dict(cell="gru"),
    "lstm cell": dict(cell="lstm"),
    "adaptive softmax": dict(softmax="adaptive"),
}


def quality(args) -> None:
    import tempfile

    from seqtext import TextModel

    data = Path(args.data)
    lines = (data / "ptb.train.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    base = dict(mode="stream", vocab_size=10100, split_punctuation=False, embed=200, hidden=200, layers=2,
                cell="rnn", nonlinearity="tanh", dropout=0.2, embed_dropout=0.2, output_dropout=0.2,
                batch_size=20, bptt=35, lr=0.002, lr_decay=0.5, clip=0.25)
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "ptb.train.part.txt"
        subset.write_text("".join(lines[: int(len(lines) * args.fraction)]), encoding="utf-8")
        print(f"training on the first {args.fraction:.0%} of ptb.train.txt ({subset.stat().st_size / 1e6:.1f} MB) "
              f"for {args.epochs} epochs; validation perplexity on all of ptb.valid.txt")
        for name, change in QUALITY.items():
            if args.only and not any(part in name for part in args.only):
                continue
            options = {**base, **change, "epochs": args.epochs, "patience": args.epochs, "threads": 1}
            start = time.perf_counter()
            model = TextModel(**options).fit(subset, valid=data / "ptb.valid.txt")
            ppl = "  ".join(f"{row['valid_perplexity']:7.1f}" for row in model.history)
            print(f"{name:40s} valid ppl by epoch {ppl}   ({time.perf_counter() - start:5.0f} s)", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["speed", "quality"], default="speed")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--windows", type=int, default=60, help="speed: BPTT windows a run")
    parser.add_argument("--fraction", type=float, default=0.2, help="quality: share of the training text")
    parser.add_argument("--epochs", type=int, default=2, help="quality: epochs a run")
    parser.add_argument("--only", nargs="*", help="substrings of the lever names to run")
    parser.add_argument("--device", default="cpu", help="speed: cpu or cuda (then the thread levers say little)")
    args = parser.parse_args(argv)
    if args.what == "quality":
        return quality(args)

    from seqtext.text import corpus, stream
    from seqtext.text import tokenizer as tk

    train = Path(args.data) / "ptb.train.txt"
    tok = tk.train_tokenizer(corpus.iter_lines([train]), "word", 10100, 1, False)
    ids = stream.encode_corpus([train], tok).ids
    vocab = tok.get_vocab_size()
    print(f"PTB train: {len(ids):,} tokens, vocabulary {vocab}; {args.windows} windows a run")
    reference = None
    for name, change in LEVERS.items():
        if args.only and not any(part in name for part in args.only):
            continue
        try:
            rate = measure(ids, vocab, args.windows, **{**BASE, "device": args.device, **change})
        except Exception as exc:  # torch.compile needs a C++ compiler; report and go on
            print(f"{name:50s} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}")
            continue
        reference = reference or rate
        print(f"{name:50s} {rate:8,.0f} tokens/s  ({rate / reference:4.2f}x)", flush=True)


if __name__ == "__main__":
    main()

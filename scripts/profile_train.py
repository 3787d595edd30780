"""Where a training step's time goes, seqtext beside the reference loop (torch.profiler).

    python scripts/profile_train.py [--cell rnn|lstm] [--softmax full|adaptive] [--precision fp32|bf16]
        [--lines 1500] [--side both|seqtext|reference] [--table]

Each side trains one epoch on the first --lines lines of ptb.train.txt at the example configuration
(scripts/bench_speed.py), one thread, under torch.profiler; only the epoch's training loop is counted
(the profiling script marks it, and marks clip_grad_norm_).  Every operator called directly by the loop,
and every backward function, is put in one share:

  output layer + softmax   the vocabulary matrix product, bias, softmax / cross-entropy, forward and backward
  recurrent core           nn.RNN / nn.LSTM forward and backward (the dropout between its layers included)
  embedding + dropout      the embedding lookup and its gradient, dropout on its output and the core's output
  optimizer + clip         the SGD update, zero_grad, gradient clipping
  other operators          windows, detaching the state, loss bookkeeping
  Python and dispatch      the loop's time outside any operator

Profiling slows the small operators most, so shares, not speeds, are the figures to read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_speed import PTB  # noqa: E402

SHARES = ["output layer + softmax", "recurrent core", "embedding + dropout", "optimizer + clip",
          "other operators", "Python and dispatch"]
CORE = ("rnn_tanh", "rnn_relu", "lstm", "gru", "mkldnn_rnn", "Rnn", "Lstm", "Gru", "Elman")


def _dims(event) -> list:
    found = list(event.input_shapes or [])
    for child in event.cpu_children:
        found += _dims(child)
    return found


def classify(event, vocab: int) -> str:
    name = event.name
    shapes = _dims(event)
    touches_vocab = any(vocab in (s or []) for s in shapes if isinstance(s, list))
    if name.startswith("Optimizer.") or name == "clip_grad_norm_":
        return "optimizer + clip"
    if "Embedding" in name or "embedding" in name:
        return "embedding + dropout"
    if any(k in name for k in CORE):
        return "recurrent core"
    if name in ("aten::dropout", "aten::feature_dropout", "aten::native_dropout") or "dropout" in name.lower():
        return "embedding + dropout"
    three_d = any(isinstance(s, list) and len(s) == 3 for s in shapes)
    if name in ("aten::random_", "aten::ge", "aten::bernoulli_") or (three_d and (
            name.endswith("MulBackward0") or name in ("aten::mul", "aten::mul_", "aten::to", "aten::_to_copy"))):
        return "embedding + dropout"  # seqtext's dropout mask (16-bit draws), torch's, and their products
    if touches_vocab or any(k in name for k in ("LogSoftmax", "NllLoss", "log_softmax", "nll_loss", "cross_entropy",
                                                "LinearCrossEntropy", "linear_cross_entropy", "adaptive")):
        return "output layer + softmax"
    if name.startswith("autograd::engine::evaluate_function"):
        return "recurrent core"  # the core's unrolled backward (addmm, tanh, stack ... of hidden size)
    return "other operators"


def shares(prof, vocab: int) -> dict:
    events = prof.events()
    epoch = [e for e in events if e.name == "TRAIN_EPOCH"]
    if not epoch:
        raise SystemExit("no training epoch was profiled")
    root = epoch[0]
    start, end = root.time_range.start, root.time_range.end
    total = end - start
    out = dict.fromkeys(SHARES, 0.0)
    covered = 0.0
    # top-level events inside the epoch: the root's children, and backward functions (no parent, same thread)
    tops = list(root.cpu_children)
    tops += [e for e in events if e.cpu_parent is None and e is not root and e.thread == root.thread
             and start <= e.time_range.start and e.time_range.end <= end]
    for e in tops:
        d = e.time_range.end - e.time_range.start
        out[classify(e, vocab)] += d
        covered += d
    out["Python and dispatch"] += max(0.0, total - covered)
    return {k: v / total for k, v in out.items()}, total / 1e6


def profile_reference(args, train: Path):
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    import reference_lm as ref

    torch.manual_seed(0)
    vocab = {}
    data = ref.batchify(ref.tokenize(train, args.lines, vocab, grow=True), 20, torch.device("cpu"))
    model = ref.RNNModel(args.cell, len(vocab))
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("TRAIN_EPOCH"):
            ref.train_epoch(model, data, 20.0, 35, 0.25, 20)
    return prof, len(vocab)


def profile_seqtext(args, train: Path, valid: Path):
    from torch.profiler import ProfilerActivity, profile, record_function

    from seqtext import TextModel, session

    plain = session.Session._train_epoch

    def marked(self, *a):
        with record_function("TRAIN_EPOCH"):
            return plain(self, *a)

    session.Session._train_epoch = marked
    model = TextModel(mode="stream", embed=200, hidden=200, layers=2, cell=args.cell, softmax=args.softmax,
                      batch_size=20, bptt=35, optimizer="sgd", lr=20.0, clip=0.25, dropout=0.2, embed_dropout=0.2,
                      output_dropout=0.2, split_punctuation=False, vocab_size=100000, epochs=1, seed=0,
                      threads=1, precision=args.precision, device="cpu")
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        model.fit(str(train), valid=str(valid))
    session.Session._train_epoch = plain
    return prof, model.tokenizer.get_vocab_size()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(PTB))
    ap.add_argument("--lines", type=int, default=1500)
    ap.add_argument("--cell", choices=["rnn", "lstm"], default="rnn")
    ap.add_argument("--softmax", choices=["full", "adaptive"], default="full")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--side", choices=["both", "seqtext", "reference"], default="both")
    ap.add_argument("--table", action="store_true", help="also print torch.profiler's operator table")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    clip = torch.nn.utils.clip_grad_norm_

    def marked_clip(*a, **k):
        with torch.profiler.record_function("clip_grad_norm_"):
            return clip(*a, **k)

    torch.nn.utils.clip_grad_norm_ = marked_clip
    with tempfile.TemporaryDirectory() as tmp:
        train, valid = Path(tmp) / "train.txt", Path(tmp) / "valid.txt"
        with open(Path(args.data) / "ptb.train.txt", encoding="utf-8") as fh:
            train.write_text("".join(line for _, line in zip(range(args.lines), fh)), encoding="utf-8")
        with open(Path(args.data) / "ptb.valid.txt", encoding="utf-8") as fh:
            valid.write_text("".join(line for _, line in zip(range(50), fh)), encoding="utf-8")
        rows = {}
        if args.side in ("both", "reference"):
            rows["reference (fp32)"] = profile_reference(args, train)
        if args.side in ("both", "seqtext"):
            rows[f"seqtext ({args.precision}, {args.softmax})"] = profile_seqtext(args, train, valid)
    print(f"share of the training loop's time, {args.cell} 2 x 200, {args.lines} lines, 1 thread:")
    print(f"{'':26s}" + "".join(f"{name:>26s}" for name in rows))
    results = {name: shares(prof, vocab) for name, (prof, vocab) in rows.items()}
    for share in SHARES:
        print(f"{share:26s}" + "".join(f"{100 * r[0][share]:25.1f}%" for r in results.values()))
    print(f"{'loop seconds (profiled)':26s}" + "".join(f"{r[1]:26.2f}" for r in results.values()))
    if args.table:
        for name, (prof, _) in rows.items():
            print(name)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


if __name__ == "__main__":
    main()

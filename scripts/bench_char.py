"""Character-level Tiny Shakespeare: seqtext against a plain char-LSTM loop, equal wall time, one thread each.

    python scripts/bench_char.py --minutes 10,60 [--config configs/shakespeare-char.toml] [--slice 30]

The standard split: the first 90 % of the characters train, the last 10 %
validate (as nanoGPT's shakespeare_char).  Both sides run in this one process
with one CPU thread, interleaved: seqtext trains through its public API
(``TextModel.fit``, then ``TextModel.resume``) for a slice of about
``--slice`` seconds, ended as Ctrl-C ends it (SIGINT: the batch finishes, the
model directory is saved with its trainer state); then the reference loop of
``scripts/char_reference.py``, with the same sizes, batch, window and
learning rate, trains for exactly the training time seqtext's session
recorded in that slice.  So both have trained equally long at every point,
and both see the machine's load in turn.  The clock is training time on both
sides: seqtext's training steps (``train_seconds`` of its epochs), not the
validation it runs and the checkpoint it writes after every epoch, which the
reference loop does not do.  At each checkpoint (``--minutes``,
training time) both are scored on the validation text, the weights as they
are at that moment, read as 10 streams with the state carried (the same
characters both sides; evaluation time is not counted).  Printed: bits per
character for each, characters trained on, and the published figure.

seqtext's epochs are set out of reach, so the benchmark's clock alone ends
it, except under a cosine schedule, whose length is the config's epochs
(``configs/shakespeare-char-60.toml`` sets 40 for an hour).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
PUBLISHED_NATS = 1.47  # nanoGPT's small GPT (baby GPT, 6 x 384) on a GPU, shakespeare_char validation loss


def split_text(data: Path, folder: Path) -> tuple[Path, Path, str, str]:
    with open(data, encoding="utf-8", newline="") as fh:
        text = fh.read()
    cut = int(len(text) * 0.9)
    paths = folder / "train.txt", folder / "valid.txt"
    for path, part in zip(paths, (text[:cut], text[cut:])):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(part)
    return paths[0], paths[1], text[:cut], text[cut:]


class Slicer:
    """Ends a seqtext training after ``seconds`` by raising SIGINT (what Ctrl-C does) once its session runs."""

    def __init__(self):
        signal.signal(signal.SIGALRM, self._alarm)

    def arm(self, seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.5))

    def _alarm(self, *_):
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.setitimer(signal.ITIMER_REAL, 0.5)  # still reading the data: the session is not listening yet
        else:
            os.kill(os.getpid(), signal.SIGINT)

    @staticmethod
    def disarm() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)


def seqtext_slice(options: dict, train, valid, directory: Path, seconds: float, slicer: Slicer, first: bool):
    """Train seqtext for about ``seconds``; returns (the model with its current weights, session seconds so far,
    characters trained on so far)."""
    from seqtext import TextModel
    from seqtext.session import TrainingInterrupted

    slicer.arm(seconds)
    try:
        if first:
            TextModel(**options).fit(train, valid=valid, checkpoint_dir=directory)
        else:
            TextModel.resume(directory, train, valid, checkpoint_dir=directory)
        raise RuntimeError("seqtext finished its epochs before the benchmark ended; raise epochs")
    except TrainingInterrupted as exc:
        model, state = exc.model, exc.state
    finally:
        slicer.disarm()
    model.net.load_state_dict(state["net"])  # the weights as they are now, not the best epoch's
    text = model.settings.text
    return model, training_seconds(state), state["steps"] * model.settings.train.batch_size * text.bptt


def training_seconds(state: dict) -> float:
    """The session's time in training steps so far: its finished epochs' and the current epoch's."""
    history = json.loads(state["history"])
    seconds = sum(row["train_seconds"] for row in history)
    if not any(row["epoch"] == state["epoch"] for row in history):  # the epoch under way
        seconds += state["train_seconds"]
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"))
    parser.add_argument("--config", default=str(ROOT / "configs" / "shakespeare-char.toml"))
    parser.add_argument("--minutes", default="10,60", help="checkpoints in training minutes, comma-separated")
    parser.add_argument("--slice", type=float, default=30.0, help="seconds each side trains before the other")
    parser.add_argument("--no-reference", action="store_true", help="train seqtext alone (to compare configs)")
    args = parser.parse_args(argv)
    checkpoints = sorted(float(m) * 60 for m in args.minutes.split(","))
    if not Path(args.data).is_file():
        sys.exit(f"{args.data} is missing: give Tiny Shakespeare's input.txt with --data")

    import torch

    import char_reference as ref
    from seqtext.config import TextSettings
    from seqtext.optionfiles import read_options_file

    torch.set_num_threads(1)
    options = {k: v for k, v in read_options_file(args.config).items() if k in TextSettings.names()}
    options.update(tokenizer="char", mode="stream", threads=1, device="cpu", patience=10_000)
    if options.get("schedule") != "cosine":  # a cosine's epochs set its length: the config's own, kept
        options["epochs"] = 10_000
    work = Path(tempfile.mkdtemp(prefix="bench-char-"))
    os.environ.setdefault("SEQTEXT_CACHE", str(work / "cache"))
    train, valid, train_text, valid_text = split_text(Path(args.data), work)
    print(f"Tiny Shakespeare: {len(train_text):,} characters train, {len(valid_text):,} validate; one CPU thread "
          f"each, slices of {args.slice:.0f} s\nseqtext {args.config}: {options}", flush=True)

    torch.manual_seed(0)
    chars = sorted(set(train_text))
    train_ids, valid_ids = ref.encode(train_text, chars), ref.encode(valid_text, chars)
    batch, bptt, lr = options.get("batch_size", 16), options.get("bptt", 35), options.get("lr", 2e-3)
    reference = ref.CharLSTM(len(chars), options.get("embed", 64), options.get("hidden", 256),
                             options.get("layers", 1))
    steps = ref.train_steps(reference, train_ids, batch, bptt, lr, options.get("clip", 1.0))
    print(f"reference scripts/char_reference.py: LSTM {options.get('layers', 1)} x {options.get('hidden', 256)}, "
          f"embed {options.get('embed', 64)}, batch {batch}, bptt {bptt}, Adam lr {lr}, no dropout\n", flush=True)
    print(f"{'minutes':>8} {'seqtext bpc':>12} {'reference bpc':>14} {'seqtext chars':>14} {'reference chars':>16}"
          f" {'characters scored':>18}", flush=True)

    slicer, clock, ref_seconds, ref_steps, first = Slicer(), 0.0, 0.0, 0, True
    directory = work / "model"
    for checkpoint in checkpoints:
        while clock < checkpoint - 1.0:
            model, elapsed, seq_chars = seqtext_slice(options, train, valid, directory,
                                                      min(args.slice, checkpoint - clock + 1.0), slicer, first)
            first, gained, clock = False, elapsed - clock, elapsed
            if args.no_reference:
                continue
            start = time.perf_counter()
            while time.perf_counter() - start < gained:  # the same training time as seqtext's slice
                next(steps)
                ref_steps += 1
            ref_seconds += time.perf_counter() - start
        seq = model.evaluate(valid)
        ref_bpc, scored = (math.nan, 0) if args.no_reference else ref.bits_per_char(reference, valid_ids, 10, bptt)
        print(f"{clock / 60:8.2f} {seq['bits_per_char']:12.4f} {ref_bpc:14.4f} {seq_chars:14,} "
              f"{ref_steps * batch * bptt:16,} {seq['characters']:>9,} / {scored:,}", flush=True)
    if not args.no_reference:
        print(f"\nreference trained {ref_seconds / 60:.2f} min in all (seqtext's session {clock / 60:.2f} min)")
    print(f"published: a small GPT trained on a GPU reaches {PUBLISHED_NATS} nats per character, "
          f"{PUBLISHED_NATS / math.log(2):.2f} bits, on this split (nanoGPT shakespeare_char)")


if __name__ == "__main__":
    main()

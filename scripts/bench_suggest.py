"""Suggestion latency while typing: model time per keystroke, and key-to-redraw through a pseudo-terminal.

    python scripts/bench_suggest.py --model /tmp/sugg-model [--text corpora/pronouns_test.txt]
    python scripts/bench_suggest.py --ptb-sizes        # untrained, PTB's sizes and 10k vocabulary, typing PTB

1. Model time: the first --lines lines of --text are typed one character at a
   time through ``Suggester.suggest`` (the recurrent state carried between
   keystrokes, a new line after each); the time of each call, median and p99,
   with the core steps per keystroke.  For comparison, the same keystrokes
   of the first --reread-lines lines with no carried state (``reset()``
   before each: the whole prefix is read again).
2. Key to redraw: ``seqtext suggest --stats`` runs in a pseudo-terminal
   (needs ``pexpect``, in the test extra); the first --keys characters of the
   text are sent one at a time (Enter between lines), and for each character
   key the time from writing it to the last byte of the screen update it
   caused (the output is read until it has been quiet for --quiet seconds;
   Enter keys are not counted).  The command's own --stats line gives the
   model time per lookup inside it: higher than in part 1, whose calls run
   back to back with warm caches, while keys typed a tenth of a second apart
   find them cold (measured: 0.11 ms back to back, 0.6-0.7 ms with a 20-100 ms
   pause between calls, on the pronoun model).

One torch thread, as ``seqtext suggest`` uses.  ``--ptb-sizes``: speed
depends on a model's sizes, not on how well it is trained (as
``bench_generate.py``), so an untrained model of the PyTorch example's sizes
(2 x 200 tanh units, embedding 200, PTB's vocabulary) is saved to a
temporary directory and PTB's test text is typed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PTB = ROOT.parent / "shared" / "data" / "ptb"
PTB_SIZES = dict(embed=200, hidden=200, layers=2, mode="stream", vocab_size=10100, split_punctuation=False)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(seconds) -> str:
    return (f"median {1e3 * statistics.median(seconds):.3f} ms, p99 {1e3 * percentile(seconds, 0.99):.3f} ms "
            f"({len(seconds)} keystrokes)")


def untrained_ptb_model(data: Path, out: Path) -> Path:
    import torch

    import seqtext
    from seqtext.text import tokenizer as tk
    from seqtext.text.corpus import iter_lines

    model = seqtext.TextModel(**PTB_SIZES)
    text = model.settings.text
    model.task.tokenizer = tk.train_tokenizer(iter_lines([data / "ptb.train.txt"]), text.tokenizer,
                                              text.vocab_size, text.min_frequency, text.split_punctuation)
    torch.manual_seed(0)
    model.net = model.task.build().eval()
    return model.save(out)


def model_time(model_dir: Path, lines: list[str], reread_lines: int, k: int) -> None:
    import seqtext
    from seqtext.text.suggest import Suggester

    model = seqtext.load(model_dir)
    stream = model.settings.text.mode == "stream"
    suggester = Suggester(model.net, model.tokenizer, model.device, stream)
    suggester.suggest("", k)  # the first call reads the start token; warm-up
    start_steps = suggester.steps
    carried = []
    for line in lines:
        for end in range(1, len(line) + 1):
            start = time.perf_counter()
            suggester.suggest(line[:end], k)
            carried.append(time.perf_counter() - start)
    steps = suggester.steps - start_steps
    print(f"model time per keystroke, state carried: {summary(carried)}; "
          f"{steps / len(carried):.3f} core steps a keystroke")
    reread = []
    for line in lines[:reread_lines]:
        for end in range(1, len(line) + 1):
            suggester.reset()
            start = time.perf_counter()
            suggester.suggest(line[:end], k)
            reread.append(time.perf_counter() - start)
    print(f"model time per keystroke, prefix re-read each time (no cache): {summary(reread)}")


def key_to_redraw(model_dir: Path, text: str, quiet: float, k: int) -> None:
    import pexpect

    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", PYTHONUTF8="1")
    child = pexpect.spawn(sys.executable, ["-m", "seqtext", "suggest", "--model", str(model_dir), "--stats",
                                           "-k", str(k)],
                          env=env, dimensions=(24, 120), encoding="utf-8", timeout=120)
    child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default

    def settle() -> float:
        """Read until quiet; the time the last output arrived."""
        last = time.perf_counter()
        while True:
            try:
                child.read_nonblocking(65536, timeout=quiet)
            except pexpect.TIMEOUT:
                return last
            last = time.perf_counter()

    child.expect(r"\d\.\d\d\d|e-\d\d")  # the first menu, with its probabilities
    settle()
    latencies = []
    for ch in text:
        sent = time.perf_counter()
        child.send("\r" if ch == "\n" else ch)
        done = settle()
        if ch != "\n":
            latencies.append(done - sent)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    stats = re.search(r"\d+ lookups.*", child.before or "")
    child.close()
    print(f"key to redraw through a pseudo-terminal: {summary(latencies)}")
    print(f"  inside the command (--stats): {stats.group(0).strip() if stats else 'no stats line'}; "
          f"exit status {child.exitstatus}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a trained text model directory")
    parser.add_argument("--ptb-sizes", action="store_true", help="an untrained model of PTB's sizes, typing PTB")
    parser.add_argument("--data", default=str(PTB), help="the PTB directory (with --ptb-sizes)")
    parser.add_argument("--text", help="the text to type, one line a line [default: corpora/pronouns_test.txt, "
                                       "or ptb.test.txt with --ptb-sizes]")
    parser.add_argument("--lines", type=int, default=100, help="lines typed for the model time")
    parser.add_argument("--reread-lines", type=int, default=10, help="lines typed without the cache")
    parser.add_argument("--keys", type=int, default=300, help="characters typed through the pseudo-terminal")
    parser.add_argument("--quiet", type=float, default=0.1, help="seconds of silence that end a redraw")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.model and not args.ptb_sizes:
        parser.error("give --model DIR or --ptb-sizes")

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.ptb_sizes:
            model_dir = untrained_ptb_model(Path(args.data), Path(tmp) / "ptb-sizes")
            default_text = Path(args.data) / "ptb.test.txt"
        else:
            model_dir = Path(args.model)
            default_text = ROOT / "seqtext" / "corpora" / "pronouns_test.txt"
        path = Path(args.text) if args.text else default_text
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        import seqtext

        model = seqtext.load(model_dir)
        core = model.settings.core
        print(f"model {model_dir}: {core.cell} {core.layers} x {core.hidden}, vocabulary "
              f"{model.tokenizer.get_vocab_size()}, {model.settings.text.softmax} softmax; text {path}; "
              f"k={args.k}; 1 thread")
        model_time(model_dir, lines[: args.lines], args.reread_lines, args.k)
        typed = "\n".join(lines)[: args.keys]
        key_to_redraw(model_dir, typed, args.quiet, args.k)


if __name__ == "__main__":
    main()

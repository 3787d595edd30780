"""Benchmark stream mode's data layer on Penn Treebank.

Prints (a) the time to train the word-level tokenizer on ptb.train.txt,
(b) the time to tokenise ptb.train.txt into a cached token stream, cold (empty
cache) and warm (cached), (c) the peak resident memory of the tokenising
process, (d) the same for a corpus of ten copies of ptb.train.txt, (e) the
stream's token count next to the whitespace count of the README (929,589 with
one end-of-sentence token a line), and whether the tokenizer keeps PTB's
literal ``<unk>`` whole.  Every encoding runs in a fresh process so that its
``ru_maxrss`` is its own.

    python scripts/bench_stream.py [--data ../shared/data/ptb] [--copies 10]

Targets: cold tokenisation <= 3 s; peak memory at 10x PTB < 1.25 x peak at 1x.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_TOKENS = 929_589  # ../shared/data/README.md, ptb.train.txt with <eos>


def worker(corpus: str, tokenizer_json: str) -> None:
    """Encode one corpus and print timings and memory as JSON (run in a fresh process)."""
    from tokenizers import Tokenizer

    from seqtext.text.stream import encode_corpus

    tok = Tokenizer.from_file(tokenizer_json)
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # imports and tokenizer only
    start = time.perf_counter()
    stream = encode_corpus(corpus, tok)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "tokens": len(stream), "from_cache": stream.from_cache,
                      "dtype": str(stream.ids.dtype), "before_mb": before_kb / 1024, "peak_mb": peak_kb / 1024,
                      "file_mb": stream.path.stat().st_size / 2**20}))


def run_worker(corpus: Path, tokenizer_json: Path, cache: Path) -> dict:
    env = dict(os.environ, SEQTEXT_CACHE=str(cache), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, __file__, "--worker", str(corpus), str(tokenizer_json)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"encoding {corpus} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data" / "ptb",
                        help="folder holding ptb.train.txt")
    parser.add_argument("--copies", type=int, default=10, help="size of the large corpus, in copies of PTB")
    parser.add_argument("--vocab-size", type=int, default=10_000)
    parser.add_argument("--worker", nargs=2, metavar=("CORPUS", "TOKENIZER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker)

    from seqtext.text import tokenizer as tk
    from seqtext.text.corpus import iter_lines

    train = (args.data / "ptb.train.txt").resolve()
    if not train.is_file():
        sys.exit(f"{train} not found; pass --data with the folder holding ptb.train.txt.")
    work = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    try:
        start = time.perf_counter()
        tok = tk.train_tokenizer(iter_lines(train), "word", args.vocab_size)
        train_s = time.perf_counter() - start
        tok_json = work / "tokenizer.json"
        tk.save_tokenizer(tok, tok_json)
        print(f"(a) train word tokenizer on {train.name}: {train_s:.2f} s, vocabulary {tok.get_vocab_size()}")

        cache = work / "cache"
        cold = run_worker(train, tok_json, cache)
        warm = run_worker(train, tok_json, cache)
        assert not cold["from_cache"] and warm["from_cache"]
        print(f"(b) tokenise {train.name}: cold {cold['seconds']:.2f} s (target <= 3 s), "
              f"warm {warm['seconds'] * 1000:.1f} ms; cache file {cold['file_mb']:.2f} MB {cold['dtype']}")
        print(f"(c) peak RSS tokenising 1x: {cold['peak_mb']:.0f} MB "
              f"({cold['before_mb']:.0f} MB before encoding: interpreter, numpy, tokenizers)")

        big = work / f"ptb.train.x{args.copies}.txt"
        with open(big, "wb") as out:
            for _ in range(args.copies):
                with open(train, "rb") as src:
                    shutil.copyfileobj(src, out)
        large = run_worker(big, tok_json, cache)
        growth = large["peak_mb"] / cold["peak_mb"] - 1
        print(f"(d) peak RSS tokenising {args.copies}x ({big.stat().st_size / 1e6:.0f} MB, "
              f"{large['tokens']:,} tokens in {large['seconds']:.1f} s): {large['peak_mb']:.0f} MB, "
              f"{growth:+.1%} vs 1x (target < +25 %)")

        with open(train, encoding="utf-8") as fh:
            lines = [line.split() for line in fh if line.strip()]
        whitespace = sum(len(words) + 1 for words in lines)
        print(f"(e) tokens with </s>: {cold['tokens']:,} from the seqtext word tokenizer; "
              f"{whitespace:,} splitting at white space only (README: {README_TOKENS:,}, "
              f"{'match' if whitespace == README_TOKENS else 'MISMATCH'}); the difference is the "
              "pre-tokenizer splitting punctuation off words (mr. -> mr . ; 's -> ' s)")

        unk_id = tok.token_to_id(tk.UNK)
        ids = tok.encode("<unk>", add_special_tokens=False).ids
        pieces = [p for p in ("<", "unk", ">") if tok.token_to_id(p) is not None]
        literal = sum(words.count("<unk>") for words in lines)
        print(f"    <unk>: encoding {'keeps it whole' if ids == [unk_id] else f'splits it into {ids}'} "
              f"(the text holds it {literal:,} times); training "
              + (f"split it and learned {pieces} as words (ids {[tok.token_to_id(p) for p in pieces]})"
                 if pieces else "kept it whole"))

        import torch

        from seqtext.text.stream import batchify, bptt_windows, encode_corpus

        torch.set_num_threads(1)
        os.environ["SEQTEXT_CACHE"] = str(cache)
        stream = encode_corpus(train, tok)
        start = time.perf_counter()
        n = sum(x.shape[1] for x, _ in bptt_windows(batchify(stream, 20), 35))
        print(f"    one epoch of (20, 35) windows: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"for {n * 20:,} input tokens ({stream.ids.dtype} memory map on disk, int64 per window)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

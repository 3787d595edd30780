"""Word-level language modelling benchmark on Penn Treebank (or any train/valid/test text).

    python scripts/bench_lm.py --data ../shared/data/ptb --config configs/ptb-rnn.toml [--epochs N] [--max-minutes M]

Trains with the options of a `seqtext train` config file (command-line style
keys; corpus/valid/out are replaced by DIR's files) and prints, per epoch:
training tokens/s, validation and test perplexity (of the best weights so
far), elapsed time; then peak RSS and the time at which validation perplexity
first fell below 200 and 150.  `--threads` sets CPU threads.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ptb"))
    parser.add_argument("--config", default=str(ROOT / "configs" / "ptb-rnn.toml"))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device")
    parser.add_argument("--out", help="also keep the model directory here")
    parser.add_argument("--max-minutes", type=float, help="stop after the epoch that passes this time")
    args = parser.parse_args(argv)

    from seqtext import TextModel
    from seqtext.config import TextSettings
    from seqtext.optionfiles import read_options_file

    data = Path(args.data)
    files = {split: data / f"ptb.{split}.txt" for split in ("train", "valid", "test")}
    for split, path in files.items():
        if not path.is_file():
            sys.exit(f"{path} is missing: --data must hold ptb.train.txt, ptb.valid.txt and ptb.test.txt")
    options = {k: v for k, v in read_options_file(args.config).items() if k in TextSettings.names()}
    for key in ("epochs", "threads", "device"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    print(f"config {args.config}: {options}", flush=True)

    start = time.perf_counter()
    first_below = {}
    last = {"seconds": 0.0}

    class Stop(Exception):
        pass

    def report(model, metrics):
        test = model.evaluate(files["test"])["perplexity"]
        train_seconds = metrics["seconds"] - last["seconds"]
        tokens = model.summary["train_tokens"]
        last["seconds"] = metrics["seconds"]
        for bound in (200, 150):
            if metrics["valid_perplexity"] < bound and bound not in first_below:
                first_below[bound] = time.perf_counter() - start
        print(f"epoch {metrics['epoch']:2d}  {tokens / train_seconds:8.0f} tokens/s (with validation)  "
              f"valid ppl {metrics['valid_perplexity']:8.2f}  test ppl (best so far) {test:8.2f}  "
              f"lr {metrics['lr']:.2e}  elapsed {time.perf_counter() - start:7.1f} s", flush=True)
        if args.max_minutes and time.perf_counter() - start > 60 * args.max_minutes:
            raise Stop

    model = TextModel(**options)
    try:
        model.fit(files["train"], valid=files["valid"], callback=report, checkpoint_dir=args.out)
    except Stop:
        print(f"stopped after {args.max_minutes} minutes", flush=True)
    final = model.evaluate(files["test"])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"final: test perplexity {final['perplexity']:.2f} over {final['tokens']} tokens; "
          f"peak RSS {rss:.0f} MB; wall {time.perf_counter() - start:.1f} s")
    for bound in (200, 150):
        at = first_below.get(bound)
        print(f"validation perplexity first below {bound}: " + (f"{at:.1f} s" if at else "not reached"))


if __name__ == "__main__":
    main()

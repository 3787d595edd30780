"""Generated-text spacing against real text: each line split into words as a word model reads it, joined back
with ``join_words``, and compared with the line (case aside: the vocabulary is lower-cased, so only a sentence's
first letter and "I" come back capitalised).

    python scripts/bench_spacing.py              # mismatching lines of Tiny Shakespeare (60 kB), pronouns, PTB
    python scripts/bench_spacing.py --show 10    # ... and the first 10 of each, as written and as joined

PTB is tokenised already (``--no-split-punctuation``): its expected text is the line written as the spacing
rules promise (``do n't`` -> ``don't``, ``viewers ' opinions`` -> ``viewers' opinions``, ``$ N`` -> ``$N``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tokenizers import models

from seqtext.text import tokenizer as tk
from seqtext.text.spacing import join_words

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
if not DATA.is_dir():  # a worktree one level deeper than the main checkout
    DATA = ROOT.parents[1] / "shared" / "data"


def splitter(split_punctuation: bool = True):
    """The word pre-tokenisation of a word model: text -> its words."""
    pipe = tk._pipeline(models.WordLevel(unk_token=tk.UNK), split_punctuation)
    return lambda text: [p for p, _ in pipe.pre_tokenizer.pre_tokenize_str(pipe.normalizer.normalize_str(text))]


def ptb_expected(line: str) -> str:
    text = re.sub(r" ('(?:s|re|ve|ll|d|m)|n't)\b", r"\1", " ".join(line.split()))
    return re.sub(r"(?<=[s>]) '( |$)", r"'\1", text).replace("$ ", "$")


def mismatches(lines: list[str], split, expected=str.strip) -> tuple[list[tuple[str, str]], int]:
    lines = [line for line in lines if line.strip()]
    bad = [(expected(line), join_words(split(line))) for line in lines]
    return [(want, got) for want, got in bad if want.lower() != got.lower()], len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", type=int, default=0, help="print the first N mismatching lines of each")
    args = parser.parse_args()
    corpora = [
        ("Tiny Shakespeare, first 60 kB", (DATA / "tinyshakespeare" / "input.txt").read_text()[:60000], True, None),
        ("corpora/pronouns.txt", (ROOT / "seqtext" / "corpora" / "pronouns.txt").read_text(), True, None),
        ("PTB valid, first 2,000 lines", "\n".join((DATA / "ptb" / "ptb.valid.txt").read_text().split("\n")[:2000]),
         False, ptb_expected),
    ]
    for name, text, split_punctuation, expected in corpora:
        bad, n = mismatches(text.split("\n"), splitter(split_punctuation), expected or str.strip)
        print(f"{name}: {len(bad)} of {n} lines differ")
        for want, got in bad[:args.show]:
            print(f"  written {want!r}\n  joined  {got!r}")


if __name__ == "__main__":
    main()

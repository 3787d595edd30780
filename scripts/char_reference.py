"""A plain character-level LSTM language model, trained the usual char-rnn way: torch only.

Embedding -> nn.LSTM -> Linear, cross-entropy, Adam, gradient clipping, and
truncated BPTT over B parallel streams of the text with the state carried
from one window to the next.  ``scripts/bench_char.py`` trains it beside
seqtext; alone::

    python scripts/char_reference.py ../shared/data/tinyshakespeare/input.txt --seconds 60
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, embed: int = 64, hidden: int = 512, layers: int = 1):
        super().__init__()
        self.embed, self.lstm = nn.Embedding(vocab, embed), nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):  # x (B, T) -> logits (B, T, V), state
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def windows(ids: torch.Tensor, batch: int, bptt: int):
    """(x, y, first) over B contiguous streams of ``ids``, window after window; ``first`` starts a pass."""
    n = len(ids) // batch
    streams = ids[: n * batch].view(batch, n)  # (B, N)
    for i in range(0, n - 1, bptt):
        t = min(bptt, n - 1 - i)
        yield streams[:, i:i + t], streams[:, i + 1:i + 1 + t], i == 0


def train_steps(model, ids, batch=32, bptt=100, lr=2e-3, clip=5.0):
    """Train for ever, one truncated-BPTT step per ``next()``; yields the step's loss (nats per character)."""
    opt, state = torch.optim.Adam(model.parameters(), lr=lr), None
    while True:
        for x, y, first in windows(ids, batch, bptt):
            logits, state = model(x, None if first else tuple(s.detach() for s in state))
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            yield loss.item()


@torch.no_grad()
def bits_per_char(model, ids, batch=10, bptt=100) -> tuple[float, int]:
    """(bits per character, characters scored) over ``ids`` read as ``batch`` streams, state carried."""
    model.eval()
    nats, count, state = 0.0, 0, None
    for x, y, _ in windows(ids, batch, bptt):
        logits, state = model(x, state)
        nats += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
        count += y.numel()
    model.train()
    return nats / math.log(2) / count, count


def encode(text: str, chars: list[str]) -> torch.Tensor:
    index = {c: i for i, c in enumerate(chars)}
    return torch.tensor([index[c] for c in text], dtype=torch.long)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", help="a UTF-8 text: the first 90 %% of its characters train, the rest validate")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with open(args.text, encoding="utf-8", newline="") as fh:
        text = fh.read()
    chars, cut = sorted(set(text)), int(len(text) * 0.9)
    model = CharLSTM(len(chars))
    steps, start, done = train_steps(model, encode(text[:cut], chars)), time.perf_counter(), 0
    while time.perf_counter() - start < args.seconds:
        next(steps)
        done += 1
    bpc, count = bits_per_char(model, encode(text[cut:], chars))
    print(f"{done} steps in {time.perf_counter() - start:.0f} s: validation {bpc:.4f} bits per character "
          f"over {count} characters")


if __name__ == "__main__":
    main()

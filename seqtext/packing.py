"""Run the recurrent core over padded rows as if each row were read alone.

Padded steps must not reach a state that is read (the last state, or the
backward direction, which would otherwise start on the padding), so rows are
packed by length before the core and unpacked after it.  Used by the
classifier and the tagger, whose outputs must not depend on how sentences
are batched.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def run_packed(core, x: torch.Tensor, lengths: torch.Tensor):
    """x (B, T, D), lengths (B,) -> outputs (B, T, H*dirs) with zeros past each length, and the final hidden
    state of each row (the core's own layout: (layers*dirs, B, H), a pair for an LSTM)."""
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, hidden = core(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, hidden


def length_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) True where a step lies inside its row."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def pad_rows(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of ids as one padded LongTensor (B, T) and their lengths (B,)."""
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    out = torch.full((len(rows), int(lengths.max())), pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out, lengths


def held_out(count: int, fraction: float, seed: int) -> set[int]:
    """A seeded set of indices to hold out for validation (at least one, and never all)."""
    import random

    if fraction <= 0 or count < 2:
        return set()
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return set(order[:min(max(1, round(count * fraction)), count - 1)])

"""TaggerNet: one tag per word (many-to-many, aligned).

    lower-cased word ids (B, T) -> Embedding ----------------------------\\
    original forms -> characters (U, C) -> Embedding -> CNN -> max (U, K) -+-> RecurrentCore (packed) -> Linear(tags)

The word embedding reads the lower-cased word, so ``Apple`` and ``apple``
share what they mean; the character CNN reads the form as written, so
capitals (proper nouns), digits and suffixes (-ing, -ly) reach the core even
for a word never seen in training.  Character features are computed once per
distinct form in the batch (``forms`` index them).
"""

from __future__ import annotations

import torch
from torch import nn

from seqtext.config import CoreConfig
from seqtext.labelconfig import TagConfig
from seqtext.core import RecurrentCore
from seqtext.packing import run_packed

CHAR_EMBED = 32
CHAR_KERNEL = 3


class CharFeatures(nn.Module):
    """A character CNN with max-pooling over each word: char ids (U, C) -> (U, width)."""

    def __init__(self, chars: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(chars, CHAR_EMBED, padding_idx=0)
        self.conv = nn.Conv1d(CHAR_EMBED, width, CHAR_KERNEL, padding=CHAR_KERNEL // 2)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.embed(chars).transpose(1, 2))  # (U, width, C)
        x = x.masked_fill((chars == 0).unsqueeze(1), float("-inf"))
        return torch.relu(x.max(-1).values)  # (U, width)


class TaggerNet(nn.Module):
    """Word embedding (+ character features) -> RecurrentCore -> Linear over the tags."""

    def __init__(self, words: int, chars: int, tags: int, config: TagConfig, core: CoreConfig):
        super().__init__()
        self.embed = nn.Embedding(words, config.embed, padding_idx=0)
        self.chars = CharFeatures(chars, config.chars) if config.chars else None
        self.core = RecurrentCore(core, input_size=config.embed + config.chars)
        self.embed_dropout = nn.Dropout(config.embed_dropout)
        self.output_dropout = nn.Dropout(config.output_dropout)
        self.head = nn.Linear(self.core.output_size, tags)

    def forward(self, words: torch.Tensor, forms: torch.Tensor, chars: torch.Tensor,
                lengths: torch.Tensor) -> torch.Tensor:
        """words, forms (B, T) (forms index the rows of chars (U, C)); lengths (B,) -> logits (B, T, tags)."""
        x = self.embed(words)
        if self.chars is not None:
            x = torch.cat([x, self.chars(chars)[forms]], dim=-1)
        out, _ = run_packed(self.core, self.embed_dropout(x), lengths)
        return self.head(self.output_dropout(out))

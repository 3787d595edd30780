"""How sentences become tensors for the tagger.

``Encoded`` is a list of sentences as word ids and form indices, with one
character row per distinct form, and draws padded batches from them.  The
vocabularies are :class:`seqtext.tag.vocab.Vocab` (no torch).
"""

from __future__ import annotations

import torch

from seqtext.packing import pad_rows
from seqtext.tag.vocab import Vocab

class Encoded:
    """Sentences as word ids and form indices, one character row per distinct form, and tag ids if given."""

    def __init__(self, vocab: Vocab, sentences: list[list[str]], tags: list[list[int]] | None = None):
        self.vocab = vocab
        forms: dict[str, int] = {}
        self.words, self.forms = [], []
        for sentence in sentences:
            self.words.append(vocab.word_ids(sentence))
            self.forms.append([forms.setdefault(f, len(forms)) for f in sentence])
        rows = [vocab.char_ids(f) for f in forms]
        self.chars, _ = pad_rows(rows, 0)  # (F, C)
        self.tags = tags

    def __len__(self) -> int:
        return len(self.words)

    def batch(self, rows: list[int]):
        """(words (B, T), forms (B, T) into chars, chars (U, C), lengths (B,), tags (B, T) or None; -100 pads)."""
        words, lengths = pad_rows([self.words[i] for i in rows], 0)
        forms, _ = pad_rows([self.forms[i] for i in rows], 0)
        unique, inverse = torch.unique(forms, return_inverse=True)
        tags = None
        if self.tags is not None:
            tags, _ = pad_rows([self.tags[i] for i in rows], -100)
        return words, inverse, self.chars[unique], lengths, tags

    def batches(self, size: int, order: list[int] | None = None):
        order = sorted(range(len(self)), key=lambda i: len(self.words[i])) if order is None else order
        for start in range(0, len(order), size):
            yield order[start:start + size]

"""The tagger's vocabularies and how sentences become tensors.

``Vocab`` holds the lower-cased training words, the characters of the
training forms and the tags (``vocab.json`` in the model directory).
``Encoded`` is a list of sentences as word ids and form indices, with one
character row per distinct form, and draws padded batches from them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch

from seqtext.errors import CheckpointError, DataError
from seqtext.packing import pad_rows

PAD, UNK = "<pad>", "<unk>"
MAX_CHARS = 30  # longer forms are read by their first 30 characters


class Vocab:
    """Words (lower-cased, every training word), characters and tags; ids 0 and 1 are padding and unknown."""

    def __init__(self, words: list[str], chars: list[str], tags: list[str]):
        self.words, self.chars, self.tags = words, chars, tags
        self.word_id = {w: i for i, w in enumerate(words)}
        self.char_id = {c: i for i, c in enumerate(chars)}
        self.tag_id = {t: i for i, t in enumerate(tags)}

    @classmethod
    def build(cls, sentences) -> "Vocab":
        words, chars = Counter(), Counter()
        tags = set()
        for forms, labels in sentences:
            for form in forms:
                words[form.lower()] += 1
                chars.update(form)
            tags.update(labels)
        order = lambda counts: sorted(counts, key=lambda k: (-counts[k], k))  # noqa: E731
        return cls([PAD, UNK, *order(words)], [PAD, UNK, *order(chars)], sorted(tags))

    def knows(self, form: str) -> bool:
        """Whether the word (lower-cased) was seen in training."""
        return form.lower() in self.word_id

    def tag_ids(self, tags: list[str], where: str) -> list[int]:
        for tag in tags:
            if tag not in self.tag_id:
                raise DataError(f"the tag {tag!r} ({where}) was never seen in training (known: "
                                f"{', '.join(self.tags[:20])}{', ...' if len(self.tags) > 20 else ''}); "
                                "retag it or retrain.")
        return [self.tag_id[t] for t in tags]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"words": self.words, "chars": self.chars, "tags": self.tags},
                                   ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            vocab = cls(data["words"], data["chars"], data["tags"])
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            raise CheckpointError(f"{path} is corrupted; retrain the model.") from None
        if vocab.words[:2] != [PAD, UNK] or vocab.chars[:2] != [PAD, UNK] or not vocab.tags:
            raise CheckpointError(f"{path} is not a tagger vocabulary; retrain the model.")
        return vocab


class Encoded:
    """Sentences as word ids and form indices, one character row per distinct form, and tag ids if given."""

    def __init__(self, vocab: Vocab, sentences: list[list[str]], tags: list[list[int]] | None = None):
        self.vocab = vocab
        forms: dict[str, int] = {}
        self.words, self.forms = [], []
        for sentence in sentences:
            self.words.append([vocab.word_id.get(f.lower(), 1) for f in sentence])
            self.forms.append([forms.setdefault(f, len(forms)) for f in sentence])
        rows = [[vocab.char_id.get(c, 1) for c in f[:MAX_CHARS]] for f in forms]
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

"""The tagger's vocabularies: lower-cased training words, the characters of the training forms, and the tags
(``vocab.json`` in the model directory).  No torch: the exported runtime reads them too."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from seqtext.errors import CheckpointError, DataError, some

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
    def build(cls, sentences, more_tags=()) -> "Vocab":
        """From the training sentences' (forms, tags); ``more_tags``: tags of a held-out share, known too (a rare
        tag that fell there only is no error in the user's own file)."""
        words, chars = Counter(), Counter()
        tags = {t for t in more_tags if t is not None}
        for forms, labels in sentences:
            for form in forms:
                words[form.lower()] += 1
                chars.update(form)
            tags.update(t for t in labels if t is not None)  # None: a word without a tag
        order = lambda counts: sorted(counts, key=lambda k: (-counts[k], k))  # noqa: E731
        return cls([PAD, UNK, *order(words)], [PAD, UNK, *order(chars)], sorted(tags))

    def word_ids(self, sentence: list[str]) -> list[int]:
        """Each word's id, lower-cased (1: unknown)."""
        return [self.word_id.get(f.lower(), 1) for f in sentence]

    def char_ids(self, form: str) -> list[int]:
        """The ids of a form's first ``MAX_CHARS`` characters, as written (1: unknown)."""
        return [self.char_id.get(c, 1) for c in form[:MAX_CHARS]]

    def knows(self, form: str) -> bool:
        """Whether the word (lower-cased) was seen in training."""
        return form.lower() in self.word_id

    def tag_ids(self, tags: list[str], where) -> list[int]:
        """The ids of a sentence's tags (-100, not scored, for a word without one: None); ``where``: the
        sentence's place, or each word's."""
        for k, tag in enumerate(tags):
            if tag is not None and tag not in self.tag_id:
                place = where[k] if isinstance(where, list) else where
                shown = tag if len(tag) <= 60 else tag[:57] + "..."
                named = 20
                while named > 3 and len(some(self.tags, named)) > 300:  # FEATS values run long: fewer named
                    named -= 1
                raise DataError(f"the tag {shown!r} ({place}) was never seen in training (known: "
                                f"{some(self.tags, named)}); retag it or retrain.")
        return [-100 if t is None else self.tag_id[t] for t in tags]

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

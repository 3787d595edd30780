"""OnnxClassifier and OnnxTagger: exported classifiers and taggers on numpy and onnxruntime, without torch.

The inputs are read as the torch models read them (the classifier's
tokenizer, the tagger's vocabularies and word splitting, from the same
torch-free modules), grouped by length so no row is padded (see
:mod:`seqtext.export.labelgraphs`), and the logits become probabilities in
float64.  ``predict`` and ``predict_proba`` answer as ``TextClassifier``'s
and ``SequenceTagger``'s do.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from seqtext.classify.data import check_texts, encode_texts
from seqtext.errors import CheckpointError, as_list
from seqtext.export import check_inputs, model_settings
from seqtext.export.npdecode import softmax
from seqtext.labelconfig import ClassifySettings, TagSettings
from seqtext.tag.data import sentence_words
from seqtext.tag.vocab import Vocab
from seqtext.text import tokenizer as tk

BATCH = 256  # rows of one call


def _by_length(rows: list) -> list[list[int]]:
    """Indices of ``rows`` grouped by row length, each group cut into batches of at most BATCH."""
    groups = defaultdict(list)
    for i, row in enumerate(rows):
        groups[len(row)].append(i)
    return [g[k:k + BATCH] for _, g in sorted(groups.items()) for k in range(0, len(g), BATCH)]


class OnnxClassifier:
    """An exported text classifier: ``predict_proba(texts)`` and ``predict(texts)``."""

    kind = "classify"

    def __init__(self, path, manifest: dict, session):
        self.path, self.manifest, self.session = path, manifest, session
        self.settings = model_settings(path, ClassifySettings)
        self.tokenizer = tk.load_tokenizer(path / manifest["tokenizer"])
        try:
            labels = json.loads((path / manifest["labels_file"]).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            labels = None
        if labels != manifest["labels"]:
            raise CheckpointError(f"{path / manifest['labels_file']} does not match export.json; export the model "
                                  "again.")
        self.labels = list(labels)
        check_inputs(session, ["ids"], path)
        self._unk = self.tokenizer.token_to_id(tk.UNK)

    def predict_proba(self, texts, *, places: list[str] | None = None) -> list[dict[str, float]]:
        """For each text, every label's probability (a dict in the order of :attr:`labels`); ``places`` ("FILE
        line N", one a text) name a text too long to read, else its number does."""
        rows = encode_texts(self.tokenizer, check_texts(texts), self._unk, places)
        probs = np.empty((len(rows), len(self.labels)))
        for group in _by_length(rows):
            ids = np.asarray([rows[i] for i in group], dtype=np.int64)  # (B, T)
            probs[group] = softmax(self.session.run(None, {"ids": ids})[0].astype(np.float64))
        return [dict(zip(self.labels, row.tolist())) for row in probs]

    def predict(self, texts) -> list[str]:
        """The likeliest label of each text."""
        return [max(p, key=p.get) for p in self.predict_proba(texts)]


class OnnxTagger:
    """An exported tagger: ``predict(sentences)`` and ``predict_proba(sentences)``."""

    kind = "tag"
    words = staticmethod(sentence_words)

    def __init__(self, path, manifest: dict, session):
        self.path, self.manifest, self.session = path, manifest, session
        self.settings = model_settings(path, TagSettings)
        self.vocab = Vocab.load(path / manifest["vocab"])
        if self.vocab.tags != manifest["tags"]:
            raise CheckpointError(f"{path / manifest['vocab']} does not match export.json; export the model again.")
        self.chars = bool(manifest["chars"])
        check_inputs(session, ["words", "chars"] if self.chars else ["words"], path)

    @property
    def tags(self) -> list[str]:
        """The tags, in the order of :meth:`predict_proba`'s entries."""
        return list(self.vocab.tags)

    def logits(self, sentences) -> list[np.ndarray]:
        """The tag logits (words, tags) of each sentence (a string, split into words, or a list of words)."""
        words = [self.words(s) for s in as_list(sentences, "the sentences to tag")]
        out: list = [None] * len(words)
        for group in _by_length(words):
            feeds = {"words": np.asarray([self.vocab.word_ids(words[i]) for i in group], dtype=np.int64)}  # (B, T)
            if self.chars:
                forms = [[self.vocab.char_ids(f) for f in words[i]] for i in group]
                width = max(len(c) for row in forms for c in row)
                chars = np.zeros((len(group), len(forms[0]), width), dtype=np.int64)  # (B, T, C), 0 pads
                for b, row in enumerate(forms):
                    for t, c in enumerate(row):
                        chars[b, t, :len(c)] = c
                feeds["chars"] = chars
            logits = self.session.run(None, feeds)[0].astype(np.float64)  # (B, T, tags)
            for b, i in enumerate(group):
                out[i] = logits[b]
        return out

    def predict(self, sentences) -> list[list[str]]:
        """The tags of each sentence (as ``SequenceTagger.predict``)."""
        return [[self.vocab.tags[int(i)] for i in x.argmax(-1)] for x in self.logits(sentences)]

    def predict_proba(self, sentences) -> list[list[dict[str, float]]]:
        """For each word of each sentence, every tag's probability (a dict in the order of :attr:`tags`)."""
        return [[dict(zip(self.vocab.tags, row)) for row in softmax(x).tolist()] for x in self.logits(sentences)]

"""SequenceTagger: the user API of a many-to-many tagger (one tag per word, e.g. parts of speech).

    words -> lower-cased word ids + characters of each form -> RecurrentCore (both ways) -> Linear -> tag

Trained through the shared session (``seqtext.model.Model``); saved and
opened as a model directory of kind ``tag``.
"""

from __future__ import annotations

import os

import torch

from seqtext import modeldir
from seqtext.errors import ConfigError, DataError, as_list, known_options
from seqtext.labels import label_report
from seqtext.model import RESUME_OPTIONS, Model, fresh_fit
from seqtext.tag.data import sentence_words
from seqtext.tag.task import TagTask


class SequenceTagger(Model):
    """One tag per word: parts of speech, named-entity tags, chunks.

    Options are keywords, as the flags of ``seqtext tag train`` (``column``,
    ``chars``, ``cell``, ``hidden``, ...; every one with its default in
    ``seqtext.TagSettings``).

    >>> tagger = SequenceTagger().fit("train.conllu", dev="dev.conllu")   # doctest: +SKIP
    >>> tagger.predict("The cat sat on the mat .")                          # doctest: +SKIP
    [['DET', 'NOUN', 'VERB', 'ADP', 'DET', 'NOUN', 'PUNCT']]
    """

    task_class = TagTask

    @property
    def tags(self) -> list[str]:
        """The tags, in the order of :meth:`predict_proba`'s entries (empty before training)."""
        return [] if self.task.vocab is None else list(self.task.vocab.tags)

    @fresh_fit
    def fit(self, data, dev=None, *, checkpoint_dir=None, callback=None) -> "SequenceTagger":
        """Train on a CoNLL-U or ``word<TAB>tag`` file, or a list of ``(words, tags)`` pairs; returns self.

        ``dev`` (the same kinds) picks the best epoch and stops training;
        without it a seeded ``valid_fraction`` of the sentences is held out.
        """
        return self._fit({"train": data, "dev": dev}, checkpoint_dir, callback)

    @classmethod
    def resume(cls, path, data=None, dev=None, **options) -> "SequenceTagger":
        """Continue the training saved in ``path`` (the data is read again from its recorded paths unless given;
        ``dev`` with ``data``, where the recorded dev file has moved)."""
        known_options(options, (*RESUME_OPTIONS, "data", "dev"), "resume")  # named in the list too
        if data is None and dev is not None:
            raise ConfigError("{dev} without {data} would be ignored; give both (the data the training started "
                              "on) or neither.", params=["dev", "data"])
        return super().resume(path, None if data is None else {"train": data, "dev": dev}, **options)

    words = staticmethod(sentence_words)  # a sentence as words: a string is split as the treebanks split words

    @torch.inference_mode()
    def predict(self, sentences) -> list[list[str]]:
        """The tags of each sentence: a string (split into words) or a list of words; one string is one
        sentence, and a list of strings is that many sentences (one sentence's words go inside a list:
        ``predict([["The", "cat", "sat"]])``)."""
        self._require_trained()
        words = [self.words(s) for s in as_list(sentences, "the sentences to tag")]
        if not words:
            return []
        self.net.eval()
        ids = self.task.predict_ids(self.net, self.task.encode(words))
        return [[self.task.vocab.tags[i] for i in row] for row in ids]

    @torch.inference_mode()
    def predict_proba(self, sentences) -> list[list[dict[str, float]]]:
        """For each word of each sentence (as :meth:`predict` takes them), every tag's probability (a dict in
        the order of :attr:`tags`)."""
        self._require_trained()
        words = [self.words(s) for s in as_list(sentences, "the sentences to tag")]
        if not words:
            return []
        self.net.eval()
        logits = self.task.predict_logits(self.net, self.task.encode(words))
        tags = self.task.vocab.tags
        return [[dict(zip(tags, row)) for row in torch.softmax(x, -1).tolist()] for x in logits]

    def evaluate(self, data) -> dict:
        """Token ``accuracy``, ``unseen_accuracy`` (on words never seen in training, lower-cased), per-tag
        precision / recall / F1 and the confusion matrix, on a tagged file or ``(words, tags)`` pairs.
        A tag that training never saw is refused."""
        self._require_trained()
        words, tags, where = self.task.read(data, "evaluation")
        for t, w in zip(tags, where):
            self.task.vocab.tag_ids(t, w)
        predicted = self.predict(words)
        scored = [(w, g, p) for sentence, g_row, p_row in zip(words, tags, predicted)
                  for w, g, p in zip(sentence, g_row, p_row) if g is not None]  # words without a tag are not scored
        if not scored:
            named = data if isinstance(data, (str, os.PathLike)) else "the evaluation sentences"  # its file
            raise DataError(f"no word in {named} has a tag (every one is '_', not annotated); give a tagged file.")
        gold, said = [g for _, g, _ in scored], [p for _, _, p in scored]
        unseen = [(g, p) for w, g, p in scored if not self.task.vocab.knows(w)]
        report = label_report(gold, said, self.task.vocab.tags)
        report.update(unseen_words=len(unseen), sentences=len(words),
                      unseen_accuracy=sum(g == p for g, p in unseen) / len(unseen) if unseen else None)
        return report


modeldir.register("tag", SequenceTagger, TagTask.files)

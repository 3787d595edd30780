"""TextClassifier: the user API of a many-to-one text classifier.

    text -> tokenizer.json -> ids -> Embedding -> RecurrentCore (both ways) -> pooling -> Linear -> softmax

Trained through the shared session (``seqtext.model.Model``); saved and
opened as a model directory of kind ``classify``.
"""

from __future__ import annotations

import torch

from seqtext import modeldir
from seqtext.classify.data import check_texts
from seqtext.classify.task import ClassifyTask
from seqtext.errors import ConfigError, known_options
from seqtext.labels import label_report
from seqtext.model import RESUME_OPTIONS, Model, fresh_fit


class TextClassifier(Model):
    """A text in, one label out: sentiment, topic, intent.

    Options are keywords, as the flags of ``seqtext classify train``
    (``pooling``, ``cell``, ``hidden``, ``embed``, ``epochs``, ...; every one
    with its default in ``seqtext.ClassifySettings``).

    >>> clf = TextClassifier().fit("train.tsv", dev="dev.tsv")       # doctest: +SKIP
    >>> clf.predict(["a gorgeous , witty film"])                       # doctest: +SKIP
    ['1']
    """

    task_class = ClassifyTask

    @property
    def labels(self) -> list[str]:
        """The labels, in the order of :meth:`predict_proba`'s columns: text, whatever type training was given
        (the label 1 is ``'1'``, True is ``'true'``)."""
        return list(self.task.labels)

    @fresh_fit
    def fit(self, data, dev=None, *, checkpoint_dir=None, callback=None) -> "TextClassifier":
        """Train on a TSV / CSV / JSON Lines file, or a list of ``(text, label)`` pairs; returns self.

        ``dev`` (the same kinds) is the validation data that picks the best
        epoch and stops training; without it a seeded ``valid_fraction`` of
        the training examples is held out.
        """
        return self._fit({"train": data, "dev": dev}, checkpoint_dir, callback)

    @classmethod
    def resume(cls, path, data=None, dev=None, **options) -> "TextClassifier":
        """Continue the training saved in ``path`` (the data is read again from its recorded paths unless given;
        ``dev`` with ``data``, where the recorded dev file has moved)."""
        known_options(options, (*RESUME_OPTIONS, "data", "dev"), "resume")  # named in the list too
        if data is None and dev is not None:
            raise ConfigError("{dev} without {data} would be ignored; give both (the data the training started "
                              "on) or neither.", params=["dev", "data"])
        return super().resume(path, None if data is None else {"train": data, "dev": dev}, **options)

    @torch.inference_mode()
    def predict_proba(self, texts, *, places: list[str] | None = None) -> list[dict[str, float]]:
        """For each text, every label's probability (a dict in the order of :attr:`labels`); ``places`` ("FILE
        line N", one a text) name a text too long to read, else its number does."""
        self._require_trained()
        texts = check_texts(texts)
        if not texts:
            return []
        self.net.eval()
        probs = self.task.probabilities(self.net, self.task.encode(texts, places))
        return [dict(zip(self.task.labels, row.tolist())) for row in probs]

    def predict(self, texts) -> list[str]:
        """The likeliest label of each text, as text (see :attr:`labels`)."""
        return [max(p, key=p.get) for p in self.predict_proba(texts)]

    def evaluate(self, data, *, text_column: str | None = None, label_column: str | None = None) -> dict:
        """Accuracy, macro F1, per-label precision / recall / F1 and the confusion matrix on labelled data
        (a file or ``(text, label)`` pairs); also ``loss`` (mean cross-entropy).  A label that training
        never saw is refused.  A file's columns are ``text_column`` and ``label_column``, else the ones
        training read (else ``text`` or ``sentence``, and ``label``); a text<TAB>label file without a header row
        needs neither."""
        self._require_trained()
        texts, gold, places = self.task.read(data, "evaluation", text_column=text_column, label_column=label_column)
        targets = self.task.targets(gold, places)
        gold = [self.task.labels[t] for t in targets]  # as training wrote them (a file's 1.0 is its 1)
        probs = torch.tensor([list(p.values()) for p in self.predict_proba(texts)])
        loss = torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(), torch.tensor(targets)).item()
        predicted = [self.task.labels[i] for i in probs.argmax(-1).tolist()]
        return {**label_report(gold, predicted, self.task.labels), "loss": loss}


modeldir.register("classify", TextClassifier, ClassifyTask.files)


"""The options of the labelling tasks: text classification and sequence tagging.

Declared as :mod:`seqtext.config` declares the others (a section dataclass
per task, a :class:`~seqtext.config.Settings` subclass naming its sections);
an option that means the same as one of the language model's (``embed``,
``vocab_size``, the dropouts) is taken from its declaration with
:func:`same_as`, so its help and rule are written once.

This module imports nothing heavy (no torch, no click).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from seqtext.config import CoreConfig, Section, Settings, TextConfig, TrainConfig
from seqtext.rules import FRACTION, Rule, choice, option, whole


def same_as(section, name: str, default=dataclasses.MISSING, help: str | None = None):
    """The option ``name`` of ``section`` declared again for another task's section: the same help and rule
    (written once), with that task's own default and help if given."""
    fld = {f.name: f for f in dataclasses.fields(section)}[name]
    value = fld.default if default is dataclasses.MISSING else default
    return option(value, help or fld.metadata["help"], fld.metadata["rule"], metavar=fld.metadata["metavar"])


POOLINGS = ("last", "mean", "max", "attention")
MONITORS = ("loss", "accuracy")


@dataclass
class TagConfig(Section):
    """A sequence tagger's column, word and character features, and transfer from a language model."""

    section: ClassVar[str] = "tag"
    column: str = option("upos", "CoNLL-U column to predict (upos, xpos, or any column by name).", Rule("str"),
                         metavar="COL")
    embed: int = same_as(TextConfig, "embed", 100)
    chars: int = option(64, "Width of the character features of each word's original form (a character CNN; "
                            "0: none).", whole(0))
    word_dropout: float = option(0.1, "Share of training words read as unknown, so unseen words are learnt.",
                                 FRACTION)
    embed_dropout: float = same_as(TextConfig, "embed_dropout", 0.3)
    output_dropout: float = same_as(TextConfig, "output_dropout", 0.3)
    init_from: str | None = option(None, "Start the word embedding and the core's forward direction from this "
                                         "seqtext language model (its cell, sizes and layers; words mapped by "
                                         "spelling, lower-cased).", Rule("str", optional=True), metavar="MODEL_DIR")
    unfreeze: int = option(0, "With --init-from: hold the transferred weights for N epochs (the head and the new "
                              "parts train), then train the core's top layer too, one more layer each epoch, then "
                              "the embedding (ULMFiT's gradual unfreezing; 0: all at once).", whole(0))


@dataclass
class ClassifyConfig(Section):
    """A text classifier's columns, vocabulary, pooling and transfer from a language model."""

    section: ClassVar[str] = "classify"
    text_column: str | None = option(None, "Column of the text (default: text or sentence).",
                                     Rule("str", optional=True), metavar="COL")
    label_column: str | None = option(None, "Column of the label (default: label).", Rule("str", optional=True),
                                      metavar="COL")
    pooling: str = option("max", "How the core's states become one vector: the last state of each direction, "
                                 "their mean, their maximum, or an attention-weighted sum.", choice(*POOLINGS))
    embed: int = same_as(TextConfig, "embed", 128)
    vocab_size: int = same_as(TextConfig, "vocab_size", 20000,
                              "Largest word vocabulary: the most frequent training words; the rest read as <unk>.")
    min_frequency: int = same_as(TextConfig, "min_frequency")
    split_punctuation: bool = same_as(TextConfig, "split_punctuation")
    embed_dropout: float = same_as(TextConfig, "embed_dropout", 0.5)
    output_dropout: float = same_as(TextConfig, "output_dropout", 0.5)
    word_dropout: float = same_as(TagConfig, "word_dropout", 0.2)
    label_smoothing: float = option(0.0, "Label smoothing of the training loss (0: none).", FRACTION)
    adversarial: float = option(0.0, "Adversarial training (Miyato et al. 2017): each batch is trained again with "
                                     "the vectors of its words moved, by this share of their length, the way that "
                                     "raises its loss the most; the training loss reported is the sum of both (0: "
                                     "off; about three times the training time on SST-2).", FRACTION)
    monitor: str = option("loss", "The validation figure that picks the best epoch and stops training early "
                                  "(loss, or accuracy with the earlier epoch on a tie).", choice(*MONITORS))
    init_from: str | None = same_as(TagConfig, "init_from")
    unfreeze: int = same_as(TagConfig, "unfreeze")


class ClassifySettings(Settings):
    """A text classifier's options (many-to-one).  Defaults chosen on SST-2 dev (scripts/bench_classify.py):
    an L2 penalty of 1e-4 (79.9 % against 76.7 % without); a word embedding that starts small (see
    ClassifierNet) with a rate of 1e-3, embedding dropout 0.5 and word dropout 0.2 reach 80.7 % in 6 epochs
    (N(0, 1) and a rate of 2e-3: 79.9 % in 8 epochs, 2.5 times the training time)."""

    kind = "classify"
    SECTIONS = {
        "core": CoreConfig.variant(cell="lstm", hidden=128, bidirectional=True),
        "classify": ClassifyConfig,
        "train": TrainConfig.variant(epochs=20, batch_size=32, lr=1e-3, weight_decay=1e-4, patience=3),
    }


class TagSettings(Settings):
    """A sequence tagger's options (many-to-many).  Defaults chosen on EWT dev (scripts/bench_tag.py): 12 epochs,
    the best by dev loss kept, reach 95.03 % UPOS over seeds 0-2 (95.19, 94.98, 94.91) and fit the 20-minute budget
    on a shared 2-core CPU.  A patience of 5: with 3, the dev loss's stall after epoch 7 stopped seed 0 at epoch 10
    with 94.75 %; 15 epochs kept the same epochs."""

    kind = "tag"
    SECTIONS = {
        "core": CoreConfig.variant(cell="lstm", hidden=128, bidirectional=True),
        "tag": TagConfig,
        "train": TrainConfig.variant(epochs=12, batch_size=32, lr=2e-3, patience=5),
    }

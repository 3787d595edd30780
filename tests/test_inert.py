"""Options set to values the rest of the settings make inert are warned of when a training starts, by name."""

from __future__ import annotations

import warnings

import pytest

from seqtext.config import SeriesSettings, TextSettings
from seqtext.errors import SeqtextWarning
from seqtext.inert import warn_inert
from seqtext.labelconfig import ClassifySettings, TagSettings


def said(settings, steps_per_epoch=10) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_inert(settings, steps_per_epoch)
    return [str(w.message) for w in caught if issubclass(w.category, SeqtextWarning)]


def text(**options):
    settings = TextSettings(**options)
    if settings.text.mode == "auto":
        settings.text.mode = "sentence"  # as training resolves it for a small corpus
    return settings


@pytest.mark.parametrize("settings, fragment", [
    (text(dropout=0.5), "dropout 0.5 changes nothing here: it drops between stacked layers, and there is one"),
    (text(cell="lstm", nonlinearity="relu"), "nonlinearity relu is the plain rnn cell's; the lstm cell has its own"),
    (text(bptt=70), "bptt 70 is for running text (mode stream); a model of separate sentences reads each line whole"),
    (text(epochs=5, average_from=9), "average_from 9 comes after the last epoch (5), so no weights are averaged"),
    (text(epochs=2, warmup=100), "the warm-up of 100 steps outlasts the whole training (20 steps)"),
    (text(locked_dropout=True, embed_dropout=0.0, output_dropout=0.0), "locked_dropout locks the masks"),
    (text(tokenizer="char", split_punctuation=False), "split_punctuation is for word and BPE vocabularies"),
    (ClassifySettings(unfreeze=2), "unfreeze 2 unfreezes the weights taken from a language model, and there are none"),
    (TagSettings(unfreeze=1), "there are none without init_from"),
    (SeriesSettings(epochs=3, average_from=4), "average_from 4 comes after the last epoch (3)"),
])
def test_an_option_the_other_settings_make_inert_is_warned_of(settings, fragment):
    messages = said(settings)
    assert len(messages) == 1 and fragment in messages[0], messages


@pytest.mark.parametrize("settings", [
    text(), text(mode="stream", bptt=70), text(dropout=0.5, layers=2), text(cell="rnn", nonlinearity="relu"),
    text(epochs=5, average_from=5), text(epochs=2, warmup=19), text(locked_dropout=True),
    text(split_punctuation=False), text(tokenizer="char"),
    ClassifySettings(), ClassifySettings(init_from="runs/lm", unfreeze=2), TagSettings(), SeriesSettings(),
])
def test_defaults_and_options_that_apply_are_not_warned_of(settings):
    assert said(settings) == []

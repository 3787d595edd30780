"""Arguments of the wrong type given to the Python API: one seqtext error naming the parameter, never a TypeError
from deep inside torch or a message about something else."""

from __future__ import annotations

import numpy as np
import pytest

from seqtext import Forecaster, SequenceTagger, TextClassifier
from seqtext.errors import ConfigError, DataError

PAIRS = [("a good film", "pos"), ("a bad film", "neg"), ("good fun", "pos"), ("bad acting", "neg")] * 3


@pytest.fixture(scope="module")
def classifier():
    return TextClassifier(embed=8, hidden=8, epochs=1, device="cpu", seed=0).fit(PAIRS, dev=PAIRS[:4])


@pytest.fixture(scope="module")
def forecaster():
    return Forecaster(window=3, hidden=4, epochs=2, calibrate=3, device="cpu", seed=0).fit(np.arange(1.0, 40.0))


@pytest.mark.parametrize("call, error, words", [
    (lambda m: m.complete("Mary", temperature=1, seed="a"), ConfigError, "seed must be a whole number from 0 to"),
    (lambda m: m.complete("Mary", temperature=1, seed=-1), ConfigError, "seed must be a whole number from 0 to"),
    (lambda m: m.complete(None), DataError, "the prompt must be a string, got NoneType"),
    (lambda m: m.complete(123), DataError, "the prompt must be a string, got int"),
    (lambda m: m.score(None), DataError, "give the sentences to score as a string or a list of them, got NoneType"),
    (lambda m: m.score(["fine", None]), DataError, "sentence 2 is NoneType, not a string"),
    (lambda m: m.unknown_words(None), DataError, "the prompt must be a string, got NoneType"),
    (lambda m: m.evaluate(None), DataError, "the corpus must be a path, a list of paths or a list of sentences"),
])
def test_text_model(tiny_model, call, error, words):
    with pytest.raises(error, match=words):
        call(tiny_model)


def test_classifier(classifier):
    for bad, kind in ((None, "NoneType"), (123, "int")):
        with pytest.raises(DataError, match=f"give the texts to classify as a string or a list of them, got {kind}"):
            classifier.predict(bad)
        with pytest.raises(DataError, match=f"the evaluation data must be a file or a list of .* pairs, got {kind}"):
            classifier.evaluate(bad)
    with pytest.raises(DataError, match="training example 2 has no label"):  # it became a class named "None"
        TextClassifier(epochs=1).fit([("good", "pos"), ("bad", None)] * 3)
    with pytest.raises(ConfigError, match="callback must be a function of"):  # before an epoch is trained
        TextClassifier(epochs=1).fit(PAIRS, callback=1)
    with pytest.raises(ConfigError, match="progress must be True, False or"):
        TextClassifier(progress=None)
    with pytest.raises(DataError, match="the training data must be a file or a list of .*words, tags.* got NoneType"):
        SequenceTagger(epochs=1).fit(None)


def test_forecaster_levels_and_fill(forecaster):
    one = forecaster.predict(levels=80)  # one number is one level
    assert set(one) == {"forecast", "lower_80", "upper_80"}
    np.testing.assert_array_equal(one["upper_80"], forecaster.predict(levels=[np.int64(80)])["upper_80"])
    with pytest.raises(DataError, match=r"levels are a list of percentages .* got '80'"):
        forecaster.predict(levels="80")  # not read as the levels 8 and 0
    with pytest.raises(DataError, match="percentages between 0 and 100"):
        forecaster.predict(levels=0)  # refused like [0], not taken for "no intervals"
    assert set(forecaster.predict(levels=np.int64(80), fill=np.True_)) == {"forecast", "lower_80", "upper_80"}
    with pytest.raises(ConfigError, match="fill must be True, False or None"):
        forecaster.predict(fill="yes")


def test_the_export_runtime_threads(tmp_path, forecaster):
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    out = export(forecaster.save(tmp_path / "m"), tmp_path / "x")
    with pytest.raises(ConfigError, match="threads must be a whole number of at least 0, got '2'"):
        load(out, threads="2")  # it used to call the intact export damaged
    assert load(out, threads=2).predict().shape == (1,) and load(out, threads=0).predict().shape == (1,)

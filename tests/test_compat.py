"""Model directories written by the previous release (format 1) still load and answer the same.

tests/fixtures/text-v1 was written by seqtext at format 1 with scripts/make_fixtures_v1.py, and
tests/fixtures/expected.json holds what that release answered with it.
"""

import json
import shutil
from pathlib import Path

import pytest

from seqtext import TextModel, load
from seqtext.config import TextSettings

from conftest import CORPORA

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
CORPUS = CORPORA / "pronouns.txt"


def test_a_format_1_text_model_loads_and_answers_as_before():
    model = load(FIXTURES / "text-v1")
    assert isinstance(model, TextModel)
    for prompt, completion in EXPECTED["text"].items():
        if prompt in ("next_words", "perplexity"):
            continue
        # continuations as that release wrote them: without the repetition control added since
        assert str(model.complete(prompt, words=6, no_repeat_ngram=None, repetition_penalty=None)) == completion
    assert str(model.complete("John drives", words=6)) != EXPECTED["text"]["John drives"]  # it looped: the the
    got = model.next_words("Mary rides the bicycle, the bicycle is ___", k=3)
    # recorded before punctuation stopped being a blank's candidate: the words among them come in the same order,
    # their probabilities now shared among words only, so in the same ratio
    words = [(w, p) for w, p in EXPECTED["text"]["next_words"] if w != "."]
    assert [w for w, _ in got][: len(words)] == [w for w, _ in words] and all(w.isalpha() for w, _ in got)
    assert got[0][1] / got[1][1] == pytest.approx(words[0][1] / words[1][1], rel=1e-4)
    assert got[0][1] > words[0][1]  # the share punctuation had is the words' now
    lines = CORPUS.read_text().splitlines()[:50]
    # to float32 rounding: other CPUs' kernels round the network's sums differently
    assert model.evaluate(lines)["perplexity"] == pytest.approx(EXPECTED["text"]["perplexity"], rel=1e-6)


def test_format_1_field_names_are_migrated():
    model = load(FIXTURES / "text-v1")
    old = json.loads((FIXTURES / "text-v1" / "config.json").read_text())
    assert model.settings.core.hidden == old["core"]["hidden_size"]
    assert model.settings.core.layers == old["core"]["num_layers"]
    assert model.settings.text.embed == old["text"]["embed_size"]
    assert isinstance(model.settings, TextSettings)


def test_a_format_1_training_resumes_and_is_rewritten_at_the_current_format(tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(FIXTURES / "text-v1", copy)
    lines = CORPUS.read_text().splitlines()[:300]
    model = TextModel.resume(copy, lines, epochs=4, checkpoint_dir=copy)
    assert len(model.history) == 4
    config = json.loads((copy / "config.json").read_text())
    assert config["format_version"] == 2 and config["core"]["hidden"] == 16 and "hidden_size" not in config["core"]
    assert load(copy).complete("John drives", words=3)

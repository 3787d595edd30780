"""Arguments of the wrong type given to the Python API: one seqtext error naming the parameter, never a TypeError
from deep inside torch or a message about something else."""

from __future__ import annotations

import numpy as np
import pytest

from seqtext import Forecaster, SequenceTagger, TextClassifier
from seqtext.errors import CheckpointError, ConfigError, DataError

PAIRS = [("a good film", "pos"), ("a bad film", "neg"), ("good fun", "pos"), ("bad acting", "neg")] * 3


@pytest.fixture(scope="module")
def classifier():
    return TextClassifier(embed=8, hidden=8, epochs=1, device="cpu", seed=0).fit(PAIRS, dev=PAIRS[:4])


@pytest.fixture(scope="module")
def forecaster():
    return Forecaster(window=3, hidden=4, epochs=2, calibrate=3, device="cpu", seed=0).fit(np.arange(1.0, 40.0))


@pytest.fixture(scope="module")
def tagger():
    tagged = [(["a", "good", "film"], ["D", "A", "N"]), (["the", "bad", "film"], ["D", "A", "N"])] * 3
    return SequenceTagger(embed=8, hidden=8, chars=4, epochs=1, device="cpu", seed=0).fit(tagged)


@pytest.mark.parametrize("call, error, words", [
    (lambda m: m.complete("Mary", temperature=1, seed="a"), ConfigError, "seed must be a whole number from 0 to"),
    (lambda m: m.complete("Mary", temperature=1, seed=-1), ConfigError, "seed must be a whole number from 0 to"),
    (lambda m: m.complete(None), DataError, "the prompt must be a string, got NoneType"),
    (lambda m: m.complete(123), DataError, "the prompt must be a string, got int"),
    (lambda m: m.score(None), DataError, "give the sentences to score as a string or a list of them, got NoneType"),
    (lambda m: m.score(["fine", None]), DataError, "sentence 2 is NoneType, not a string"),
    (lambda m: m.unknown_words(None), DataError, "the prompt must be a string, got NoneType"),
    (lambda m: m.evaluate(None), DataError, "the corpus must be a path, a list of paths or a list of sentences"),
    (lambda m: m.complete("Mary", temprature=1), ConfigError, "^there is no completion option 'temprature'; use one "
                                                              "of cache, cache_lambda, cache_theta, no_repeat_ngram"),
    (lambda m: list(m.stream("Mary", k=3)), ConfigError, "^there is no completion option 'k'"),
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


def test_pandas_tables_are_read_by_their_columns_never_their_names(classifier, tiny_model, tmp_path, monkeypatch):
    """Iterating a DataFrame gives its column names: a table of one column is that column, a table of text and
    label columns trains and is scored as pairs, any other table is refused naming its columns."""
    import pandas as pd

    texts = ["a good film", "a bad film", "good fun"]
    assert classifier.predict(pd.DataFrame({"text": texts})) == classifier.predict(texts)
    with pytest.raises(DataError, match=r"as one column of the table \(df\['text'\]\), not a table of 2 columns "
                                        r"\(text, label\)"):
        classifier.predict(pd.DataFrame({"text": texts, "label": ["pos", "neg", "pos"]}))
    sentences = ["Mary rides the bicycle, the bicycle is hers.", "John drives the car, the car is his."]
    assert [r["logprob"] for r in tiny_model.score(pd.DataFrame({"sentence": sentences}))] == \
        [r["logprob"] for r in tiny_model.score(sentences)]
    table = pd.DataFrame(PAIRS, columns=["review", "y"])
    report = classifier.evaluate(table, text_column="review", label_column="y")
    assert report == classifier.evaluate(PAIRS) and report["count"] == len(PAIRS)
    with pytest.raises(DataError, match=r"the evaluation table has no text column \(looked for text or sentence\) "
                                        "among review, y; name it with text_column"):
        classifier.evaluate(table)
    with pytest.raises(ConfigError, match="text_column and label_column name the columns of a file or a table"):
        classifier.evaluate(PAIRS, text_column="review")
    with pytest.raises(ConfigError, match="text_column must be a column name"):
        classifier.evaluate(table, text_column=5)
    fitted = TextClassifier(embed=8, hidden=8, epochs=1, device="cpu", seed=0, valid_fraction=0.0)
    assert fitted.fit(pd.DataFrame(PAIRS, columns=["text", "label"])).summary["train_texts"] == len(PAIRS)
    assert fitted.fit(np.array(PAIRS)).summary["train_texts"] == len(PAIRS)  # rows of an array are pairs
    with pytest.raises(DataError, match="training example 2 has no label"):  # pandas' missing values: no class
        fitted.fit(pd.DataFrame({"text": ["good", "bad", "fine"], "label": [1.0, float("nan"), 0.0]}))
    with pytest.raises(DataError, match="training example 1 has no label"):
        fitted.fit(pd.DataFrame({"text": ["good", "bad"], "label": pd.array([pd.NA, "pos"], dtype="string")}))
    with pytest.raises(DataError, match="the training table names the column 'text' twice"):
        fitted.fit(pd.DataFrame([("a", "b", "pos")], columns=["text", "text", "label"]))
    with pytest.raises(DataError, match="the training data is a table; give a list of \\(words, tags\\) pairs"):
        SequenceTagger(epochs=1).fit(pd.DataFrame({"words": [["a"]], "tags": [["X"]]}))
    monkeypatch.chdir(tmp_path)  # where a directory named "None" would be written
    with pytest.raises(CheckpointError, match="the model directory must be a path .*, got NoneType"):
        classifier.save(None)
    assert not list(tmp_path.iterdir())


def test_a_model_says_what_it_is(classifier, forecaster):
    assert repr(TextClassifier(hidden=16)) == "TextClassifier(lstm, hidden=16, layers=1, bidirectional; untrained)"
    accuracy = classifier.summary["valid_accuracy"]
    assert repr(classifier) == f"TextClassifier(lstm, hidden=8, layers=1, bidirectional; validation accuracy " \
                               f"{accuracy:.4g})"
    assert repr(forecaster) == "Forecaster(rnn, hidden=4, layers=1; trained)"  # no validation share: no figure


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


def test_a_switch_given_as_a_string_is_refused_not_read_as_true(tiny_model_dir, tiny_model, forecaster, tmp_path):
    """``stop="false"`` would be true to Python: every on/off argument takes True or False (numpy's too) only."""
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load as load_export

    exported = load_export(export(tiny_model_dir, tmp_path / "onnx"))
    for model in (tiny_model, exported):
        for call, name in ((lambda m: m.complete("Mary rides", stop="false"), "stop"),
                           (lambda m: list(m.stream("Mary rides", stop=0)), "stop"),
                           (lambda m: m.score(["Mary rides the bicycle"], tokens="no"), "tokens")):
            with pytest.raises(ConfigError, match=f"^{name} must be True or False, got "):
                call(model)
        assert str(model.complete("Mary rides", words=3, stop=np.False_)) == \
            str(model.complete("Mary rides", words=3, stop=False))
    with pytest.raises(ConfigError, match="^per_sentence must be True or False, got 'no'"):
        tiny_model.evaluate(["Mary rides the bicycle ."], per_sentence="no")
    with pytest.raises(ConfigError, match="^one_step must be True or False, got 'yes'"):
        forecaster.evaluate(np.arange(1.0, 40.0), holdout=3, one_step="yes")


def test_a_tagger_names_a_word_that_is_not_a_string(tagger):
    """A number or None among the words is named as what it is, not called an empty word."""
    import pandas as pd

    for bad, kind in ((1, "int"), (None, "NoneType"), (pd.NA, "NAType"), (np.array(["a", "b"]), "ndarray")):
        for call in (tagger.predict, tagger.predict_proba):
            with pytest.raises(DataError, match=f"^a sentence to tag has a word that is {kind}, not a string"):
                call([["a", bad]])
    with pytest.raises(DataError, match="^a sentence to tag is empty or has an empty word"):
        tagger.predict([["a", " "]])
    assert SequenceTagger().tags == [] and TextClassifier().labels == []  # before training: none, as both say
    assert tagger.tags == ["A", "D", "N"]


@pytest.mark.parametrize("opener, args, kwargs", [
    ("seqtext.load", (None,), {}), ("seqtext.load", (3,), {}), ("seqtext.TextClassifier.load", (None,), {}),
    ("seqtext.SequenceTagger.load", (["runs/x"],), {}), ("seqtext.TextModel.resume", (None,), {}),
    ("seqtext.Forecaster.load", (1.5,), {}),
    # an export is refused as load refuses it
    ("seqtext.export.runtime.load", (None,), {}), ("seqtext.export.runtime.load", (3,), {"kind": "text"}),
    ("seqtext.export.open_text", (None,), {}), ("seqtext.export.open_model", (1.5, "series"), {}),
])
def test_a_model_directory_that_is_not_a_path_is_refused_naming_its_type(opener, args, kwargs):
    import pkgutil

    with pytest.raises(CheckpointError, match=r"^the model directory must be a path \(a string or pathlib"):
        pkgutil.resolve_name(opener)(*args, **kwargs)


def test_scoring_a_forecaster_on_no_data_says_to_give_the_series(forecaster):
    """data=None was read as the training series' last window, too short to score, and called too short."""
    for call in (lambda f: f.evaluate(None), lambda f: f.evaluate(None, holdout=1), lambda f: f.backtest(None),
                 lambda f: f.forecast_holdout(None)):
        with pytest.raises(DataError, match=r"^data is None; give the series to score \(a CSV path"):
            call(forecaster)
    assert forecaster.evaluate(np.arange(1.0, 40.0), holdout=3)["values_scored"] == 3


def test_labels_are_text_and_a_second_fit_starts_afresh(classifier):
    """As the README says: labels given as numbers come back as text, and fit again trains from the start."""
    numbered = [(text, int(label == "pos")) for text, label in PAIRS]
    model = TextClassifier(embed=8, hidden=8, epochs=1, device="cpu", seed=0)
    first = model.fit(numbered).predict_proba(["a good film"])
    assert model.labels == ["0", "1"] and model.predict(["a good film"])[0] in ("0", "1")
    assert model.fit(numbered).predict_proba(["a good film"]) == first and len(model.history) == 1


def test_a_misspelt_resume_option_is_named(tiny_model_dir, tmp_path):
    from seqtext import TextModel

    for call, misspelt in ((lambda: TextClassifier.resume(tmp_path, epoch=3), "epoch"),
                           (lambda: SequenceTagger.resume(tmp_path, data=None, batch_size=2), "batch_size")):
        with pytest.raises(ConfigError, match=f"^there is no resume option '{misspelt}'; use one of "
                                              "checkpoint_dir, data, dev, device, epochs, patience, progress[.]$"):
            call()  # the data and dev keywords are named in the list too
    for misspelt in ("lr", "data"):  # a text model's data is its corpus: the list names it
        with pytest.raises(ConfigError, match=f"^there is no resume option '{misspelt}'; use one of "
                                              "checkpoint_dir, corpus, device, epochs, patience, progress, valid[.]$"):
            TextModel.resume(tiny_model_dir, **{misspelt: 0.1})


def test_places_name_each_text_and_shipped_takes_a_path(classifier, tmp_path):
    from seqtext import shipped
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    exported = load(export(classifier.save(tmp_path / "m"), tmp_path / "x"))
    for model in (classifier, exported):
        for places, got in ((["x"], "1 place for 2 texts"), ("FILE line 1", "str for 2 texts")):
            with pytest.raises(ConfigError, match=f"^places names each text, one a text; got {got}"):
                model.predict_proba(["good", "bad"], places=places)
    assert classifier.predict_proba(["good", "bad"], places=("f line 1", "f line 2")) == \
        classifier.predict_proba(["good", "bad"])
    with pytest.raises(DataError, match="^shipped.. takes a path such as 'corpora/pronouns.txt', got NoneType"):
        shipped(None)


def test_a_sentence_given_where_a_corpus_path_goes_says_to_give_a_list(tiny_model):
    from seqtext import TextModel

    for call in (lambda: tiny_model.evaluate("Mary rides the bicycle."), lambda: TextModel(epochs=1).fit("Mary rides."),
                 lambda: TextModel(epochs=1).fit(["Mary rides ."] * 3, valid="John rides .")):
        with pytest.raises(DataError, match=r"^the (corpus|validation text) '.*' is not a file or directory; check "
                                            r"the path, or give sentences as a list of strings \(one string is read "
                                            r"as a path\)\.$"):
            call()
    with pytest.raises(DataError, match="^the corpus 'my data/train.txt' is not a file or directory; check the path"):
        TextModel(epochs=1).fit("my data/train.txt")  # a path with a space, missing: not called a sentence only
    with pytest.raises(DataError, match="^the corpus nope.txt does not exist"):  # a path, named as one
        tiny_model.evaluate("nope.txt")


def test_a_backtest_start_is_a_whole_row_number(forecaster):
    """start was cut to a whole number (20.7 to 20, True to 1, "20" to 20) and "x" raised a ValueError."""
    series = np.arange(1.0, 40.0)
    for start in (20.7, True, "20", "x", [20]):
        with pytest.raises(ConfigError, match="^start must be a whole number of at least 0, got "):
            forecaster.backtest(series, start=start, steps=2)
    assert forecaster.backtest(series, start=np.int64(20), steps=2) == forecaster.backtest(series, start=20, steps=2)


def test_actual_values_are_scored_from_the_end_of_the_training_series(forecaster):
    """With actuals, data=None forecasts from the training series' last window, as predict() does without a
    history; only a held-out part of data needs the series itself."""
    after = [40.0, 41.0]
    assert forecaster.evaluate(None, actuals=after) == forecaster.evaluate(np.arange(37.0, 40.0), actuals=after)
    assert forecaster.evaluate(None, actuals=after)["values_scored"] == 2

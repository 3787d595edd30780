"""Exported classifiers and taggers: every cell, both directions, every pooling; probabilities equal torch's on
200 inputs, the CLI runs them without torch, and what cannot be exported says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import assert_clean_failure, close, run_without_torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seqtext import SequenceTagger, TextClassifier  # noqa: E402
from seqtext.cli import cli  # noqa: E402
from seqtext.errors import CheckpointError, DataError  # noqa: E402
from seqtext.export.onnx import export  # noqa: E402
from seqtext.export.runtime import load  # noqa: E402

GOOD = ["a gorgeous witty film", "wonderful and moving", "a delight", "great acting and a fine script", "i loved it"]
BAD = ["a dull mess", "boring and long", "awful script", "i hated it", "a waste of time"]
WORDS = sorted({w for t in GOOD + BAD for w in t.split()}) + ["unseen", ",", "."]
TAGGED = [(["The", "cat", "sat", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
          (["A", "dog", "ran", "home", "."], ["DET", "NOUN", "VERB", "ADV", "PUNCT"]),
          (["Dogs", "bark", "."], ["NOUN", "VERB", "PUNCT"])]
FORMS = ["The", "the", "cat", "sat", "A", "dog", "ran", "home", ".", "Dogs", "bark", "Zebras", "quickly", ",",
         "didn't", "it", "?", "Supercalifragilisticexpialidociously-long-word"]


def texts(n: int = 200) -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 12)))) for _ in range(n)]


def sentences(n: int = 200) -> list[list[str]]:
    rng = np.random.default_rng(1)
    return [list(rng.choice(FORMS, size=int(rng.integers(1, 15)))) for _ in range(n)]


def probabilities(rows) -> np.ndarray:
    return np.array([list(p.values()) for p in rows])


CLASSIFIERS = {  # every cell and pooling; bidirectional (the default) and one-way; stacked layers
    "lstm-last": dict(cell="lstm", pooling="last", layers=2),
    "gru-attention": dict(cell="gru", pooling="attention"),
    "rnn-mean-oneway": dict(cell="rnn", pooling="mean", bidirectional=False),
    "lstm-max": dict(cell="lstm", pooling="max"),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_probabilities_equal_torchs_on_200_texts(tmp_path, name):
    clf = TextClassifier(epochs=2, hidden=8, embed=8, seed=0, device="cpu", **CLASSIFIERS[name])
    clf.fit([(t, "good") for t in GOOD] * 4 + [(t, "bad") for t in BAD] * 4)
    runtime = load(export(clf.save(tmp_path / "model"), tmp_path / "onnx"))
    assert runtime.labels == clf.labels == ["bad", "good"]
    batch = texts()
    mine, theirs = runtime.predict_proba(batch), clf.predict_proba(batch)
    close(probabilities(mine), probabilities(theirs))
    assert runtime.predict(batch) == clf.predict(batch)
    assert runtime.predict_proba("a delight")[0].keys() == {"bad", "good"}  # one string is one text


@pytest.mark.parametrize("chars,cell,extra", [(16, "lstm", {}), (0, "gru", {}),
                                               (8, "rnn", {"layers": 2, "bidirectional": False})])
def test_tagger_probabilities_equal_torchs_on_200_sentences(tmp_path, chars, cell, extra):
    tagger = SequenceTagger(epochs=2, hidden=8, embed=8, chars=chars, cell=cell, seed=0, device="cpu", **extra).fit(
        TAGGED * 5)
    out = export(tagger.save(tmp_path / "model"), tmp_path / "onnx")
    runtime = load(out)
    assert runtime.tags == tagger.tags and json.loads((out / "export.json").read_text())["chars"] == bool(chars)
    batch = sentences()
    mine, theirs = runtime.predict_proba(batch), tagger.predict_proba(batch)
    assert [len(s) for s in mine] == [len(s) for s in batch]
    close(np.concatenate([probabilities(s) for s in mine]), np.concatenate([probabilities(s) for s in theirs]))
    assert runtime.predict(batch) == tagger.predict(batch)
    raw = "A dog ran home quickly, didn't it?"
    assert runtime.predict(raw) == tagger.predict(raw)  # a string is split into words the same way


@pytest.fixture(scope="module")
def label_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("label-export")
    clf = TextClassifier(epochs=2, hidden=8, embed=8, seed=0, device="cpu")
    clf.fit([(t, "good") for t in GOOD] * 4 + [(t, "bad") for t in BAD] * 4)
    tagger = SequenceTagger(epochs=2, hidden=8, embed=8, chars=8, seed=0, device="cpu").fit(TAGGED * 5)
    dirs = {"classify": clf.save(root / "clf"), "tag": tagger.save(root / "tag")}
    return {kind: (d, export(d, root / f"{kind}-onnx")) for kind, d in dirs.items()}


def test_classify_and_tag_predict_on_exports_never_import_torch(label_models):
    clf_dir, clf_out = label_models["classify"]
    args = ["classify", "predict", "--json", "a delight", "boring and long"]
    done = run_without_torch(*args[:2], "--model", clf_out, *args[2:])
    assert done.returncode == 0, done.stderr
    theirs = CliRunner().invoke(cli, [*args[:2], "--model", str(clf_dir), *args[2:]])
    mine = [json.loads(line) for line in done.stdout.splitlines()]
    expected = [json.loads(line) for line in theirs.stdout.splitlines()]
    assert theirs.exit_code == 0 and len(expected) == 2, theirs.output
    assert [(m["text"], m["label"]) for m in mine] == [(e["text"], e["label"]) for e in expected]
    close([m["probability"] for m in mine], [e["probability"] for e in expected])
    close(probabilities(m["probabilities"] for m in mine), probabilities(e["probabilities"] for e in expected))
    tag_dir, tag_out = label_models["tag"]
    done = run_without_torch("tag", "predict", "--model", tag_out, "--json", "The dog sat.")
    assert done.returncode == 0, done.stderr
    theirs = CliRunner().invoke(cli, ["tag", "predict", "--model", str(tag_dir), "--json", "The dog sat."])
    assert json.loads(done.stdout) == json.loads(theirs.stdout)


def test_label_exports_refuse_bad_input_in_one_sentence(label_models, tmp_path):
    _, clf_out = label_models["classify"]
    _, tag_out = label_models["tag"]
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(tag_out), "a delight"])
    assert_clean_failure(result, "holds a tag model, not a classify model; use the commands for tag models "
                                 "(seqtext tag predict).")  # the command that fits, as a model directory names it
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", str(clf_out), "The dog"])
    assert_clean_failure(result, "holds a classify model, not a tag model; use the commands for classify models "
                                 "(seqtext classify predict).")
    with pytest.raises(CheckpointError, match=r"holds a classify model, not a tag model; use "
                                              r"seqtext.export.runtime.load\(path, kind='classify'\)[.]$"):
        load(clf_out, kind="tag")  # in Python, the call that opens it
    with pytest.raises(DataError, match="text 2 is empty"):
        load(clf_out).predict_proba(["fine", "  "])
    with pytest.raises(DataError, match="empty word"):
        load(tag_out).predict([["The", " "]])
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in clf_out.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "labels.json").write_text('["x", "y"]')  # written over: its size is not the one export recorded
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(broken), "a delight"])
    assert_clean_failure(result, "labels.json is damaged (10 bytes, not the", "export the model again")
    manifest = json.loads((broken / "export.json").read_text())
    manifest["sizes"]["labels.json"] = 10  # the size made to agree: the content's digest still differs
    (broken / "export.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(broken), "a delight"])
    assert_clean_failure(result, "labels.json is damaged (its content is not what export wrote)")
    del manifest["sha256"]  # an export from before digests were recorded: the labels themselves are compared too
    (broken / "export.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(broken), "a delight"])
    assert_clean_failure(result, "labels.json does not match export.json", "export the model again")


def test_a_kind_without_an_exporter_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    from seqtext import modeldir

    monkeypatch.setitem(modeldir._KINDS, "toy-unexportable", (object, (modeldir.CONFIG, modeldir.WEIGHTS)))
    model = tmp_path / "toy"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"format_version": 2, "kind": "toy-unexportable"}))
    (model / "model.safetensors").write_bytes(b"")
    result = CliRunner().invoke(cli, ["export", str(model), "--out", str(tmp_path / "out")])
    assert_clean_failure(result, "a toy-unexportable model cannot be exported", "text, series, classify, tag")
    assert not (tmp_path / "out").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_an_exported_classifier_names_a_long_text_by_its_file_line(label_models, tmp_path, monkeypatch):
    from seqtext.classify import data

    _, clf_out = label_models["classify"]
    monkeypatch.setattr(data, "MAX_TOKENS", 50)
    long = tmp_path / "long.txt"
    long.write_text("a delight\n\n" + " ".join(["boring"] * 60) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(clf_out), "--file", str(long)])
    assert_clean_failure(result, f"the text at {long} line 3 is 60 tokens long")
    with pytest.raises(DataError, match="^text 2 is 60 tokens long"):
        load(clf_out).predict_proba(["a delight", " ".join(["boring"] * 60)])

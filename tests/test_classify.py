"""Text classification (many-to-one): TextClassifier and `seqtext classify`."""

import json
import random

import pytest
import torch
from click.testing import CliRunner

from seqtext import TextClassifier, load
from seqtext.classify.data import read_labelled
from seqtext.cli import cli
from seqtext.errors import CheckpointError, DataError, SeqtextWarning

from conftest import assert_clean_failure

WORDS = "the a film movie plot actor scene story was is very quite good bad long short funny dull".split()
FAST = dict(embed=16, hidden=16, epochs=12, batch_size=16, lr=0.01, patience=12, device="cpu")


def not_examples(n, seed):
    """Label 1 exactly when the word "not" appears anywhere in the text (so the whole text must be read)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
        label = rng.random() < 0.5
        if label:
            words.insert(rng.randrange(len(words) + 1), "not")
        out.append((" ".join(words), str(int(label))))
    return out


def write_tsv(path, pairs, header=True):
    lines = (["sentence\tlabel"] if header else []) + [f"{t}\t{y}" for t, y in pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("clf")
    train, dev = write_tsv(root / "train.tsv", not_examples(600, 1)), write_tsv(root / "dev.tsv", not_examples(200, 2))
    clf = TextClassifier(**FAST, seed=0).fit(train, dev=dev, checkpoint_dir=root / "model")
    return clf, root


def test_the_not_task_is_learnt_from_anywhere_in_the_text(trained):
    clf, root = trained
    assert clf.summary["valid_accuracy"] >= 0.97
    assert clf.predict(["the film was good", "the film was not good", "not the film was very good funny"]) == \
        ["0", "1", "1"]
    assert clf.labels == ["0", "1"]


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
def test_every_pooling_and_cell_trains(pooling):
    cell = {"last": "gru", "mean": "rnn", "attention": "lstm"}[pooling]
    clf = TextClassifier(**{**FAST, "epochs": 3}, pooling=pooling, cell=cell, seed=0).fit(not_examples(200, 3))
    probs = clf.predict_proba("the film was not good")[0]
    assert set(probs) == {"0", "1"} and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)


def test_predictions_do_not_depend_on_batching_or_padding(trained):
    clf, _ = trained
    texts = ["not", "the film was very good", "a b", "the very long and quite dull story of the actor was not funny "
             "at all and the plot was long"]
    together = clf.predict_proba(texts)
    for text, probs in zip(texts, together):
        alone = clf.predict_proba([text])[0]
        for label in probs:
            assert alone[label] == pytest.approx(probs[label], abs=1e-6)


def test_save_and_load_give_identical_probabilities(trained, tmp_path):
    clf, root = trained
    texts = ["the film was not good", "funny"]
    again = load(root / "model")
    assert type(again) is TextClassifier
    assert again.predict_proba(texts) == clf.predict_proba(texts)
    path = clf.save(tmp_path / "copy")
    assert TextClassifier.load(path).predict_proba(texts) == clf.predict_proba(texts)
    config = json.loads((root / "model" / "config.json").read_text())
    assert config["kind"] == "classify" and config["core"]["bidirectional"] is True
    assert json.loads((root / "model" / "labels.json").read_text()) == ["0", "1"]


def test_evaluate_accuracy_equals_a_count_by_hand(trained, tmp_path):
    clf, _ = trained
    pairs = [("the film was not good", "1"), ("the film was good", "0"), ("not", "0"), ("dull dull", "1"),
             ("a funny story", "0")]
    file = write_tsv(tmp_path / "small.tsv", pairs, header=False)
    predicted = clf.predict([t for t, _ in pairs])
    by_hand = sum(p == y for p, (_, y) in zip(predicted, pairs)) / len(pairs)
    report = clf.evaluate(file)
    assert report["accuracy"] == by_hand and report["count"] == 5
    assert sum(map(sum, report["confusion"])) == 5
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(_model(trained)), "--data", str(file),
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accuracy"] == by_hand
    text = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(_model(trained)), "--data", str(file)])
    assert f"accuracy  {100 * by_hand:.2f}%" in text.output and "confusion" in text.output


def test_evaluate_reads_other_columns_and_labels_written_as_numbers(trained, tmp_path):
    """A file with its own column names (--text-column, --label-column), and labels as pandas writes them after a
    missing value (1.0 for 1), are scored as the same file written as training's."""
    clf, _ = trained
    pairs = [("the film was not good", "1"), ("the film was good", "0"), ("not", "0"), ("a funny story", "0")]
    plain = clf.evaluate(write_tsv(tmp_path / "plain.tsv", pairs))
    named = tmp_path / "named.csv"
    named.write_text("review,stars\n" + "".join(f"{t},{y}.0\n" for t, y in pairs))
    assert clf.evaluate(named, text_column="review", label_column="stars") == plain
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(_model(trained)), "--data", str(named),
                                      "--text-column", "review", "--label-column", "stars", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["accuracy"], report["confusion"], report["per_label"]) == \
        (plain["accuracy"], plain["confusion"], plain["per_label"])
    assert report["loss"] == pytest.approx(plain["loss"])
    assert clf.predict([]) == [] and clf.predict_proba([]) == []  # no texts, no labels (as the tagger's)
    # and the other way round: trained on labels written 1.0, scored on a file that writes 1
    floats = TextClassifier(embed=8, hidden=8, epochs=1, device="cpu", seed=0).fit([(t, y + ".0") for t, y in pairs],
                                                                                   dev=[(t, y + ".0") for t, y in pairs])
    assert floats.labels == ["0.0", "1.0"] and floats.evaluate(pairs)["count"] == len(pairs)
    assert floats.evaluate(pairs) == floats.evaluate([(t, y + ".0") for t, y in pairs])  # 1 scored as the 1.0 it is


def test_a_rare_label_held_out_with_its_only_examples_is_still_a_label(tmp_path):
    from seqtext.packing import held_out

    pairs = not_examples(60, 5)
    held = sorted(held_out(len(pairs) + 1, 0.1, 0))
    pairs.insert(held[0], ("a lone story", "rare"))  # its one example falls in the held-out validation share
    clf = TextClassifier(embed=8, hidden=8, epochs=1, valid_fraction=0.1, seed=0, device="cpu").fit(pairs)
    assert clf.labels == ["0", "1", "rare"] and clf.summary["valid_texts"] == len(held)
    assert clf.task.valid_targets.count(2) == 1 and 2 not in clf.task.train_targets  # held out, as meant


def _model(trained):
    return trained[1] / "model"


def test_predict_command_reads_arguments_files_and_stdin(trained, tmp_path):
    model = str(_model(trained))
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "the film was not good", "--json"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert obj["text"] == "the film was not good" and obj["label"] == "1"
    assert obj["probability"] == obj["probabilities"]["1"] and set(obj["probabilities"]) == {"0", "1"}
    file = tmp_path / "texts.txt"
    file.write_text("the film was good\nnot funny\n", encoding="utf-8")
    by_file = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--file", str(file)])
    by_stdin = CliRunner().invoke(cli, ["classify", "predict", "--model", model], input="the film was good\nnot funny\n")
    assert by_file.exit_code == 0 and by_file.output == by_stdin.output
    assert [line.split("\t")[0] for line in by_file.output.splitlines()] == ["0", "1"]
    gaps = CliRunner().invoke(cli, ["classify", "predict", "--model", model],
                              input="the film was good\n\n  \nnot funny\n")
    assert gaps.exit_code == 0 and gaps.stdout == by_stdin.stdout  # blank lines are not texts
    assert "note: 2 blank lines skipped" in gaps.stderr
    bom = tmp_path / "bom.txt"  # as Windows editors save UTF-8: the mark is no part of the first text
    bom.write_bytes(b"\xef\xbb\xbfthe film was good\nnot funny\n")
    assert CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--file", str(bom)]).output == \
        by_file.output
    bad = CliRunner().invoke(cli, ["classify", "predict", "--model", model], input=b"fine\n\xff bad\n")
    assert_clean_failure(bad, "stdin is not UTF-8 text")
    binary = CliRunner().invoke(cli, ["classify", "predict", "--model", model], input=b"fine\n\x00\x01\x02\n")
    assert_clean_failure(binary, "stdin looks like a binary file, not text")  # the readers of every command's inputs
    odd = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "not\tgood\nat all"])
    assert odd.exit_code == 0 and odd.stdout.count("\n") == 1 and odd.stdout.endswith("\tnot good at all\n")


def test_readers_find_headers_and_columns(tmp_path):
    glue = tmp_path / "glue.tsv"
    glue.write_text("sentence\tlabel\ngood film\t1\nbad film\t0\n")
    assert read_labelled(glue) == (["good film", "bad film"], ["1", "0"], [2, 3])
    bare = tmp_path / "bare.tsv"
    bare.write_text("good film\t1\nbad film\t0\n")  # the first row's label is a label: no header
    assert read_labelled(bare) == (["good film", "bad film"], ["1", "0"], [1, 2])
    csv = tmp_path / "data.csv"
    csv.write_text('id,text,label\n1,"good, really",pos\n2,bad,neg\n')
    assert read_labelled(csv) == (["good, really", "bad"], ["pos", "neg"], [2, 3])
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text('{"review": "good", "stars": 5}\n\n{"review": "bad", "stars": 1}\n')
    assert read_labelled(jsonl, "review", "stars") == (["good", "bad"], ["5", "1"], [1, 3])  # line 2 is blank
    mixed = tmp_path / "mixed.jsonl"  # one label written four ways is one label; JSON's true stays true
    mixed.write_text("".join(f'{{"text": "t{i}", "label": {v}}}\n' for i, v in enumerate(
        ['1', '1.0', '"1"', '" 1 "', '0', 'true', '0.5'])))
    assert read_labelled(mixed)[1] == ["1", "1", "1", "1", "0", "true", "0.5"]
    for value, fragment in (('[1]', "the label is a JSON list; give a string or a number"),
                            ('{"a": 1}', "the label is a JSON object"), ('null', "the label is missing")):
        (tmp_path / "odd.jsonl").write_text(f'{{"text": "fine", "label": {value}}}\n')
        with pytest.raises(DataError, match=fragment):
            read_labelled(tmp_path / "odd.jsonl")
    (tmp_path / "odd.jsonl").write_text('{"text": 5, "label": 1}\n')
    with pytest.raises(DataError, match="line 1: the text is a number, not a string"):
        read_labelled(tmp_path / "odd.jsonl")


def test_a_column_missing_from_a_header_is_named_at_the_header_line(trained, tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review,sentiment\ngood film,1\nbad film,0\n")
    with pytest.raises(DataError, match=r"reviews.csv line 1 has no text column \(looked for text or sentence among "
                                        r"review, sentiment\); name it with text_column[.]$"):
        read_labelled(reviews)
    with pytest.raises(DataError, match="reviews.csv line 1 has no label column"):
        read_labelled(reviews, text_column="review")
    assert read_labelled(reviews, text_column="review", need_labels=False)[0] == ["good film", "bad film"]
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("id\tsentence\tlabel\n1\tgood film\t1\n")
    with pytest.raises(DataError, match="reviews.tsv line 1 has no text column 'review' "):
        read_labelled(tsv, text_column="review")
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(_model(trained)), "--data",
                                      str(reviews), "--text-column", "review"])
    assert_clean_failure(result, "reviews.csv line 1 has no label column (looked for label among review, sentiment); "
                                 "name it with --label-column.")


def test_columns_named_at_training_are_not_asked_of_a_file_without_a_header(tmp_path):
    """A model trained on named columns (a CSV's review, sentiment) evaluates a text<TAB>label file without a
    header, and takes one as its dev file; the columns asked for a training file without a header are refused."""
    pairs = not_examples(60, 3)
    named = tmp_path / "train.csv"
    named.write_text("review,sentiment\n" + "".join(f"{t},{y}\n" for t, y in pairs))
    bare = write_tsv(tmp_path / "dev.tsv", pairs[:20], header=False)
    columns = ["--text-column", "review", "--label-column", "sentiment"]
    result = CliRunner().invoke(cli, ["classify", "train", "--data", str(named), "--dev", str(bare), "--out",
                                      str(tmp_path / "m"), "--epochs", "1", "--quiet", "--device", "cpu", *columns])
    assert result.exit_code == 0, result.output
    clf = TextClassifier.load(tmp_path / "m")
    report = clf.evaluate(bare)
    assert report["count"] == 20 and report["accuracy"] == pytest.approx(clf.summary["valid_accuracy"])
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(tmp_path / "m"), "--data", str(bare),
                                      "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["accuracy"] == report["accuracy"]
    asked = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(tmp_path / "m"), "--data", str(bare),
                                     "--text-column", "review"])
    assert_clean_failure(asked, "dev.tsv has no header row, so its columns have no names; drop --text-column")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["classify", "train", "--data", str(bare), "--out", str(out), "--epochs", "1",
                                      "--quiet", "--device", "cpu", *columns])
    assert_clean_failure(result, "dev.tsv has no header row, so its columns have no names; drop --text-column")
    assert not out.exists()


def test_bad_inputs_are_one_sentence_and_write_nothing(tmp_path, trained):
    def train(data, *extra):
        out = tmp_path / "out"
        result = CliRunner().invoke(cli, ["classify", "train", "--data", str(data), "--out", str(out), "--epochs", "1",
                                          "--quiet", "--device", "cpu", *extra])
        assert not out.exists()
        return result

    no_label = tmp_path / "nolabel.csv"
    no_label.write_text("text,stars\ngood,5\nbad,1\n")
    assert_clean_failure(train(no_label), "nolabel.csv line 1 has no label column", "--label-column")
    with pytest.raises(DataError, match=r"has no label column \(looked for label .*\); name it with label_column\."):
        TextClassifier(epochs=1).fit(no_label)  # Python is told the parameter, the command line the flag
    with pytest.raises(DataError, match=r"has no text column 'body' .*; name one with text_column\."):
        TextClassifier(epochs=1, text_column="body", label_column="stars").fit(no_label)
    same = write_tsv(tmp_path / "same.tsv", [("good", "1"), ("fine", "1")])
    assert_clean_failure(train(same), "every label in", "same.tsv is '1'")
    empty = tmp_path / "empty.tsv"
    empty.write_text("good\t1\n \t0\n")
    assert_clean_failure(train(empty), "empty.tsv line 2: the text is empty")
    folder = tmp_path / "folder"
    folder.mkdir()
    assert_clean_failure(train(folder), "folder is a directory; give the data file itself")
    unseen = write_tsv(tmp_path / "unseen.tsv", [("good", "1"), ("bad", "maybe")])
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(_model(trained)), "--data", str(unseen)])
    assert_clean_failure(result, "the label 'maybe' (", "unseen.tsv line 3) was never seen in training")
    with pytest.raises(DataError, match=r"the label 'maybe' \(evaluation example 2\) was never seen"):
        trained[0].evaluate([("good", "1"), ("bad", "maybe")])
    with pytest.raises(DataError, match="text 2 is empty"):
        trained[0].predict(["good", "  "])


def test_models_of_other_kinds_are_refused_by_kind(trained, tiny_model_dir):
    result = CliRunner().invoke(cli, ["complete", "--model", str(_model(trained)), "the film"])
    assert_clean_failure(result, "holds a classify model, not a text model", "seqtext classify predict")
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", str(tiny_model_dir), "good"])
    assert_clean_failure(result, "holds a text model, not a classify model", "seqtext complete")
    result = CliRunner().invoke(cli, ["train", "--resume", str(_model(trained))])  # the command that fits it
    assert_clean_failure(result, "holds a classify model, not a text model", "seqtext classify train --resume")
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", str(_model(trained)), "good"])
    assert_clean_failure(result, "holds a classify model, not a tag model")
    result = CliRunner().invoke(cli, ["tag", "train", "--resume", str(_model(trained))])
    assert_clean_failure(result, "holds a classify model, not a tag model", "seqtext classify train --resume")


def test_models_of_other_kinds_opened_in_python_name_the_class_that_opens_them(trained, tiny_model_dir):
    from seqtext import SequenceTagger, TextModel

    folder = _model(trained)
    for cls, what in ((TextModel, "text"), (SequenceTagger, "tag")):
        with pytest.raises(CheckpointError) as caught:
            cls.load(folder)
        assert str(caught.value) == f"{folder} holds a classify model, not a {what} model; use seqtext.TextClassifier."
    with pytest.raises(CheckpointError, match="not a classify model; use seqtext.TextModel[.]$"):
        TextClassifier.load(tiny_model_dir)


def test_a_directory_without_a_model_names_no_command(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    message = f"{tmp_path} is not a seqtext model directory (config.json is missing); give the directory that a " \
              "training or an export wrote."
    with pytest.raises(CheckpointError) as caught:
        TextClassifier.load(tmp_path)
    assert str(caught.value) == message
    result = CliRunner().invoke(cli, ["classify", "evaluate", "--model", str(tmp_path), "--data", str(tmp_path)])
    assert_clean_failure(result, message)



def test_init_from_a_language_model_maps_words_and_unfreezes_gradually(tmp_path):
    from seqtext import TextModel

    lm_dir = tmp_path / "lm"
    texts = [t for t, _ in not_examples(200, 4)]
    TextModel(embed=12, hidden=10, cell="gru", epochs=1, device="cpu").fit(texts, checkpoint_dir=lm_dir)
    lm = load(lm_dir)
    # one epoch of the head alone: the embedding and the core are still the language model's
    with pytest.warns(SeqtextWarning, match="is replaced by the language model's") as caught:
        clf = TextClassifier(**{**FAST, "epochs": 1}, init_from=str(lm_dir), unfreeze=1, seed=0).fit(
            not_examples(100, 5))
    assert sorted(str(w.message).split(" (")[0] for w in caught) == [
        "embed 16 is replaced by the language model's 12", "hidden 16 is replaced by the language model's 10"]
    assert (clf.settings.core.cell, clf.settings.core.hidden, clf.settings.classify.embed) == ("gru", 10, 12)
    for word in ("film", "not", "the"):
        mine, theirs = clf.task.tokenizer.token_to_id(word), lm.tokenizer.token_to_id(word)
        assert torch.equal(clf.net.embed.weight[mine], lm.net.embed.weight[theirs])
    assert torch.equal(clf.net.core.rnn.weight_hh_l0, lm.net.core.rnn.weight_hh_l0)
    assert not torch.equal(clf.net.core.rnn.weight_hh_l0_reverse[:, :5], lm.net.core.rnn.weight_hh_l0[:, :5])
    # the next epochs train the core, then the embedding too (the weights after each epoch, not the best ones)
    seen = []
    with pytest.warns(SeqtextWarning, match="is replaced by the language model's"):
        TextClassifier(**{**FAST, "epochs": 3}, init_from=str(lm_dir), unfreeze=1, seed=0).fit(
            not_examples(100, 5), callback=lambda model, _: seen.append(model.trainer_state["net"]))
    core, embed = "core.rnn.weight_hh_l0", "embed.weight"
    assert torch.equal(seen[0][core], lm.net.core.rnn.weight_hh_l0) and torch.equal(seen[1][embed], seen[0][embed])
    assert not torch.equal(seen[1][core], seen[0][core]) and not torch.equal(seen[2][embed], seen[1][embed])
    result = CliRunner().invoke(cli, ["classify", "train", "--data", str(write_tsv(tmp_path / "t.tsv", not_examples(20, 6))),
                                      "--out", str(tmp_path / "out"), "--init-from", str(tmp_path / "t.tsv"),
                                      "--quiet"])
    assert_clean_failure(result, "t.tsv is not a model directory")
    assert not (tmp_path / "out").exists()


def test_train_command_writes_a_model_and_resumes_it(tmp_path):
    data = write_tsv(tmp_path / "t.tsv", not_examples(80, 7))
    out = tmp_path / "m"
    args = ["classify", "train", "--data", str(data), "--out", str(out), "--embed", "8", "--hidden", "8", "--quiet",
            "--device", "cpu"]
    result = CliRunner().invoke(cli, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "model written to" in result.output and "validation accuracy" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "labels.json", "metrics.jsonl",
                                                     "model.safetensors", "tokenizer.json", "trainer.pt"]
    result = CliRunner().invoke(cli, ["classify", "train", "--resume", str(out), "--epochs", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(load(out).history) == 2
    result = CliRunner().invoke(cli, ["classify", "train", "--resume", str(out), "--epochs", "3", "--hidden", "4"])
    assert_clean_failure(result, "only --epochs, --patience and --device may change (got --hidden)")


def test_a_training_on_python_data_resumes_with_that_data(tmp_path):
    from seqtext import SequenceTagger, TextClassifier

    pairs = [("good movie", "pos"), ("bad film", "neg"), ("great fun", "pos"), ("awful plot", "neg")] * 5
    TextClassifier(epochs=1, hidden=8, embed=8, batch_size=4, device="cpu").fit(pairs).save(tmp_path / "c")
    assert len(TextClassifier.resume(tmp_path / "c", pairs, epochs=2).history) == 2
    tagged = [(["the", "dog", "runs"], ["D", "N", "V"]), (["a", "cat", "sleeps"], ["D", "N", "V"])] * 5
    SequenceTagger(epochs=1, hidden=8, embed=8, batch_size=4, device="cpu").fit(tagged).save(tmp_path / "t")
    assert len(SequenceTagger.resume(tmp_path / "t", tagged, epochs=2).history) == 2


@pytest.mark.parametrize("kind", ["classify", "tag"])
def test_a_resume_reads_the_data_its_training_began_on_and_keeps_its_dev_file(tmp_path, kind):
    """Other data, or the same file changed since, is refused (nothing written); --data naming the recorded file
    resumes with the recorded dev file, never with a held-out share of the training data."""
    if kind == "classify":
        train, dev = (write_tsv(tmp_path / f"{n}.tsv", not_examples(k, seed)) for n, k, seed in
                      (("train", 60, 1), ("dev", 20, 2)))
        other = write_tsv(tmp_path / "other.tsv", not_examples(30, 3))
    else:
        train, dev, other = (tmp_path / f"{n}.tsv" for n in ("train", "dev", "other"))
        for path, n in ((train, 30), (dev, 8), (other, 5)):
            path.write_text("\n".join(f"the\tDET\n{w}\tNOUN\nruns\tVERB\n" for w in ["dog", "cat"] * (n // 2)))
    out = tmp_path / "m"
    small = ["--embed", "8", "--hidden", "8", "--quiet", "--device", "cpu"]
    result = CliRunner().invoke(cli, [kind, "train", "--data", str(train), "--dev", str(dev), "--out", str(out),
                                      "--epochs", "1", *small])
    assert result.exit_code == 0, result.output
    before = (out / "model.safetensors").read_bytes()
    resume = [kind, "train", "--resume", str(out), "--epochs", "2", "--quiet"]
    refused = CliRunner().invoke(cli, [*resume, "--data", str(other)])
    assert_clean_failure(refused, f"this training started on {train.resolve()} as its training data, not "
                                  f"{other.resolve()}; resume it on the same data")
    saved = train.read_bytes()
    train.write_bytes(saved + saved[-200:])  # lines appended to the same file
    assert_clean_failure(CliRunner().invoke(cli, resume), f"{train.resolve()} has changed since this training started")
    assert (out / "model.safetensors").read_bytes() == before  # nothing written
    train.write_bytes(saved)
    result = CliRunner().invoke(cli, [*resume, "--data", str(train)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "config.json").read_text())["data"]
    assert data["train"] == str(train.resolve()) and data["dev"] == str(dev.resolve())  # the dev file kept
    assert set(data["sha256"]) == {str(train.resolve()), str(dev.resolve())}
    # the dev file moved: named, never replaced by a held-out share; --dev gives its new place, checked by content
    moved = dev.rename(tmp_path / "moved.tsv")
    resume[resume.index("2")] = "3"
    assert_clean_failure(CliRunner().invoke(cli, [*resume, "--data", str(train)]),
                         f"the dev file of this training, {dev.resolve()}, is gone; give its new path with --dev")
    assert_clean_failure(CliRunner().invoke(cli, [*resume, "--dev", str(moved)]), "--dev without --data")
    refused = CliRunner().invoke(cli, [*resume, "--data", str(train), "--dev", str(other)])
    assert_clean_failure(refused, f"{other.resolve()} does not hold the dev file this training started on")
    result = CliRunner().invoke(cli, [*resume, "--data", str(train), "--dev", str(moved)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["data"]["dev"] == str(moved.resolve())


def test_files_as_users_have_them(tmp_path):
    """Headers that are not named text/label, files joined with their headers, quoted CSV line breaks, pandas'
    TSV quoting, Unicode line separators inside a text, swapped columns, semicolons and gzip."""
    import csv
    import gzip

    rows = [("a good film", "1"), ("a bad film", "0"), ("good fun", "1"), ("bad acting", "0")] * 3
    header = tmp_path / "h.tsv"
    header.write_text("review\tsentiment\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows))
    with pytest.warns(SeqtextWarning, match=r"h.tsv line 1 \(review, sentiment\) is read as an example, but it may "
                                            "be a header: its label appears on no other line"):
        assert read_labelled(header)[1][0] == "sentiment"
    rare = tmp_path / "rare.tsv"  # a data row that looks the same way is kept: it is only warned of
    rare.write_text("Brilliant\tlabel_7\ngreat movie\tlabel_1\nawful film\tlabel_0\n")
    with pytest.warns(SeqtextWarning, match="may be a header"):
        assert read_labelled(rare)[0] == ["Brilliant", "great movie", "awful film"]
    words = tmp_path / "w.tsv"  # labels that are column names, in a file without a header, are labels
    words.write_text("Click here\tlink\nWelcome to our site\ttext\nSubmit\tbutton\n")
    assert read_labelled(words)[1] == ["link", "text", "button"]
    words.write_text("Welcome to our site\ttext\nprint ( x )\tsentence\nSubmit\tbutton\n")  # so in the first row
    assert read_labelled(words) == (["Welcome to our site", "print ( x )", "Submit"], ["text", "sentence", "button"],
                                    [1, 2, 3])
    words.write_text("label\tsentence\nSubmit\tbutton\n")  # both fields column names: a header, in either order
    assert read_labelled(words) == (["button"], ["Submit"], [2])
    joined = tmp_path / "j.tsv"
    one = "sentence\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows)
    joined.write_text(one + one)
    with pytest.raises(DataError, match="j.tsv line 14 is a header row inside the data"):
        read_labelled(joined)
    for name in ("jb.tsv", "jb.csv"):  # files saved with a byte-order mark each, then joined with cat
        one_bom = ("\ufeff" + one).replace("\t", "," if name.endswith(".csv") else "\t").encode("utf-8")
        (tmp_path / name).write_bytes(one_bom + one_bom)
        with pytest.raises(DataError, match=f"{name} line 14 is a header row inside the data"):
            read_labelled(tmp_path / name)
    twice = tmp_path / "twice.csv"
    twice.write_text("text,label,text\na,1,b\nc,0,d\n")
    with pytest.raises(DataError, match="twice.csv line 1 names the column 'text' twice; rename one of them"):
        read_labelled(twice)
    sheet = tmp_path / "sheet.csv"  # as spreadsheets export: empty columns after the last, notes twice: not read
    sheet.write_text("text,label,notes,notes,,\na good film,1,x,y,,\na bad film,0,,,,\n")
    assert read_labelled(sheet)[:2] == (["a good film", "a bad film"], ["1", "0"])
    quoted = tmp_path / "q.csv"
    with open(quoted, "w", newline="") as fh:
        csv.writer(fh).writerows([("text", "label"), ("first line, with comma\nsecond line", "1"), *rows])
    assert read_labelled(quoted)[0][0] == "first line, with comma\nsecond line"
    panda = tmp_path / "p.tsv"  # as pandas' to_csv(sep="\t") writes a text with quotes in it
    panda.write_text('text\tlabel\n"he said ""wow"", a must see"\t1\n"a quoted review"\t0\n' +
                     "".join(f"{t}\t{lab}\n" for t, lab in rows))
    assert read_labelled(panda)[0][:2] == ['he said "wow", a must see', "a quoted review"]
    import pandas as pd  # pandas quotes a text holding a tab or a line break: read whole, not split there

    pd.DataFrame({"text": ["a tab\there", "two\nlines", *(t for t, _ in rows)],
                  "label": ["1", "0", *(lab for _, lab in rows)]}).to_csv(panda, sep="\t", index=False)
    texts, labels, lines = read_labelled(panda)
    assert texts[:2] == ["a tab\there", "two\nlines"] and labels[:2] == ["1", "0"] and lines[:3] == [2, 3, 5]
    stray = tmp_path / "stray.tsv"  # a hand-made TSV: a stray quote does not join its lines over a wrong one
    stray.write_text('a fine film\t1\n"Unforgettable, said the critic\t1\ndull\tand\t0\nboring\t0\n'
                     'the "best" cast\t1\n')
    with pytest.raises(DataError, match="line 3 has 3 tab-separated fields, expected 2"):
        read_labelled(stray)
    (untabbed := tmp_path / "untabbed.tsv").write_text("good film\t1\nno tab here\nbad film\t0\n")
    with pytest.raises(DataError, match="line 2 has 1 tab-separated field, expected 2"):
        read_labelled(untabbed)
    quoting = tmp_path / "quoting.tsv"  # no CSV writer's doubled quotes: a text in quotes keeps them
    quoting.write_text('"I loved it"\t1\n' + "".join(f"{t}\t{lab}\n" for t, lab in rows))
    assert read_labelled(quoting)[0][0] == '"I loved it"'
    separator = tmp_path / "u.jsonl"
    separator.write_text('{"text": "a fine film\u2028with a line separator", "label": 1}\n{"text": "bad", "label": 0}\n')
    assert read_labelled(separator)[0] == ["a fine film\u2028with a line separator", "bad"]
    intents = [(f"please do thing {i}", f"intent name {i % 30}") for i in range(40)]  # few-shot intents: kept
    assert len(TextClassifier(epochs=1, embed=8, hidden=8).fit(intents, dev=intents).labels) == 30
    swapped = tmp_path / "s.tsv"
    swapped.write_text("".join(f"{lab}\t{t} number {i}\n" for i, (t, lab) in enumerate(rows * 3)))
    with pytest.raises(DataError, match=r"the labels of .*s.tsv look like texts \(36 different, most with spaces\): "
                                        "are the columns swapped"):
        TextClassifier(epochs=1).fit(swapped)
    semi = tmp_path / "semi.csv"
    semi.write_text("text;label\n" + "".join(f"{t};{lab}\n" for t, lab in rows))
    with pytest.raises(DataError, match=r"semi.csv line 1 looks separated by semicolons \(text;label\); save it with "
                                        "commas"):
        read_labelled(semi)
    packed = tmp_path / "z.tsv"
    packed.write_bytes(gzip.compress(header.read_bytes()))
    with pytest.raises(DataError, match="z.tsv is gzip-compressed; decompress it first"):
        read_labelled(packed)


def test_a_text_longer_than_any_text_is_refused_before_it_is_read(trained, monkeypatch, tmp_path):
    from seqtext.classify import data

    model = trained[0]
    monkeypatch.setattr(data, "MAX_TOKENS", 50)  # a 10 MB line took gigabytes to read
    with pytest.raises(DataError, match="text 2 is 60 tokens long, more than the 50 one may have; split it"):
        model.predict(["a good film", " ".join(["good"] * 60)])
    long = tmp_path / "long.tsv"
    long.write_text("sentence\tlabel\n" + "good\t1\nbad\t0\n" * 5 + " ".join(["good"] * 60) + "\t1\n")
    with pytest.raises(DataError, match=r"the text at .*long.tsv line 12 is 60 tokens long"):
        TextClassifier(epochs=1).fit(long)


def test_json_lines_as_people_write_them(tmp_path):
    listed = tmp_path / "a.json"
    listed.write_text('[{"text": "good", "label": 1},\n {"text": "bad", "label": 0}]\n')
    with pytest.raises(DataError, match="a.json holds a JSON list; give JSON Lines, one object a line"):
        read_labelled(listed)
    commas = tmp_path / "c.jsonl"
    commas.write_text('{"text": "good", "label": 1},\n{"text": "bad", "label": 0},\n')
    with pytest.raises(DataError, match=r"c.jsonl line 1 is not a JSON object; .* \(without a comma after it\)"):
        read_labelled(commas)
    joined = tmp_path / "j.jsonl"  # two files with byte-order marks joined with cat
    joined.write_bytes(b'\xef\xbb\xbf{"text": "good", "label": 1}\n\xef\xbb\xbf{"text": "bad", "label": 0}\n')
    assert read_labelled(joined)[:2] == (["good", "bad"], ["1", "0"])
    with pytest.raises(DataError, match=r"read from a file, not from stdin \('-'\)"):
        read_labelled("-")


def test_predict_refuses_labelled_tables_but_reads_any_prose(trained, tmp_path):
    model = str(_model(trained))
    tables = {"lab.tsv": "sentence\tlabel\nthe film was good\t0\nnot funny\t1\n",  # a training file as it is
              "lab.txt": "the film was good\t0\nnot funny\t1.0\n",  # no header, each line's last field a label
              "unseen.txt": "the film was good\t0\nnot funny\tneutral\na dull film\t0\nfun\t1\n",  # one unseen label
              "long.jsonl": '{"text": "%s", "label": 1}\n{"text": "not funny", "label": 0}\n' % ("good " * 25_000),
              "lab.jsonl": '{"text": "the film was good", "label": 0}\n\n{"text": "not funny"}\n',
              "lab.csv": "text,label\n\"the film, as ever, was good\",0\nnot funny,1\n",
              "odd.txt": "Sentence , Label\nthe film was good\n"}  # a header naming the model's columns, any case
    for name, content in tables.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        result = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--file", str(tmp_path / name)])
        assert_clean_failure(result, f"{name} holds", "give the texts alone, one a line",
                             "seqtext classify evaluate", code=1)
        assert result.stdout == ""
    piped = CliRunner().invoke(cli, ["classify", "predict", "--model", model], input=tables["lab.jsonl"])
    assert_clean_failure(piped, "stdin holds JSON Lines")
    prose = ["text, label and title are all words here", "the film, not the plot, was good", "{not json} at all",
             "a tab\there only", "label: good"]  # commas, a brace, a tab on one line of several: texts all
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", model], input="\n".join(prose) + "\n")
    assert result.exit_code == 0, result.output
    assert [line.split("\t", 2)[2] for line in result.stdout.splitlines()] == [p.replace("\t", " ") for p in prose]
    # texts that hold tabs (cells pasted from a sheet), JSON of other shapes, a first line too long for a header
    for texts in (["Name:\tthe film was good"], ["Pros:\tgood acting", "Cons:\tnot funny"], ["Chapter\t1", "Q2\t5"],
                  ['{"level": "info", "msg": "the film was good"}', '{"level": "warn", "msg": "not funny"}'],
                  ['{"a": ' + "[" * 5000], ["good " * 28_000, "not funny"]):
        result = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--json"],
                                    input="\n".join(texts) + "\n")
        assert result.exit_code == 0, result.output[-300:]
        assert [json.loads(line)["text"].split() for line in result.stdout.splitlines()] == [t.split() for t in texts]


def test_predict_reads_lines_as_training_does(trained, tmp_path, monkeypatch):
    from seqtext.classify import data

    model = str(_model(trained))
    expected = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--json", "the film was good",
                                        "not funny", "a dull movie"]).stdout
    mac = tmp_path / "mac.txt"  # old Mac line ends: three texts, not one
    mac.write_bytes(b"the film was good\rnot funny\r\ra dull movie\r")
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--json", "--file", str(mac)])
    assert result.exit_code == 0 and result.stdout == expected, result.output
    joined = b"\xef\xbb\xbfthe film was good\nnot funny\n\xef\xbb\xbfa dull movie\n"  # two files joined with cat
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--json"], input=joined)
    assert result.exit_code == 0 and result.stdout == expected, result.output
    monkeypatch.setattr(data, "MAX_TOKENS", 50)
    long = tmp_path / "long.txt"  # named by its line in the file, blank lines counted
    long.write_text("a good film\n\n" + " ".join(["good"] * 60) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "predict", "--model", model, "--file", str(long)])
    assert_clean_failure(result, f"the text at {long} line 3 is 60 tokens long")
    with pytest.raises(DataError, match="^text 2 is 60 tokens long"):  # the API names it by its number
        trained[0].predict_proba(["a good film", " ".join(["good"] * 60)])


def test_adversarial_training_adds_the_loss_at_the_words_moved_the_steepest_way():
    """``adversarial`` e: a batch's loss is its loss plus its loss with each text's word vectors moved by e times
    their length along the loss's gradient; that move raises the loss more than a random one of the same length,
    and the task is still learnt."""
    import torch.nn.functional as F

    from seqtext.packing import pad_rows

    quiet = dict(embed_dropout=0.0, output_dropout=0.0, word_dropout=0.0)  # the same forward pass every time
    clf = TextClassifier(**{**FAST, **quiet, "epochs": 2}, adversarial=0.1, seed=0).fit(not_examples(100, 7))
    net, task = clf.net.train(), clf.task
    ids, lengths = pad_rows(task.train_rows[:16], task.pad_id)
    target = torch.tensor(task.train_targets[:16])
    zero = torch.zeros(*ids.shape, net.embed.embedding_dim, requires_grad=True)
    clean = F.cross_entropy(net(ids, lengths, zero), target)
    grad, = torch.autograd.grad(clean, zero)
    size = net.embed(ids).detach().flatten(1).norm(dim=1).view(-1, 1, 1)

    def moved(direction):
        return F.cross_entropy(net(ids, lengths, 0.1 * size * direction / direction.flatten(1).norm(dim=1).view(
            -1, 1, 1)), target).item()

    steepest = moved(grad)
    assert task.loss(net, (ids, lengths, target)).item() == pytest.approx(clean.item() + steepest, rel=1e-5)
    randomly = [moved(torch.randn(grad.shape, generator=torch.Generator().manual_seed(s))) for s in range(5)]
    assert steepest > max(randomly) and steepest > clean.item()
    learnt = TextClassifier(**FAST, adversarial=0.05, seed=0).fit(not_examples(400, 5), dev=not_examples(100, 6))
    assert learnt.summary["valid_accuracy"] >= 0.95
    assert learnt.settings.classify.adversarial == 0.05

"""``init_from``: a classifier that starts from a seqtext language model (weights compared tensor by tensor)."""

import pytest
import torch

from seqtext import TextClassifier, TextModel, load
from seqtext.errors import SeqtextWarning

from test_classify import FAST, not_examples

# text tokenised already, as SST-2 and PTB are: "n't" and "'s" are words of their own
SENTENCES = [f"the {w} film was n't {v} and it 's {u}" for w in ("long", "short", "funny", "dull")
             for v in ("good", "bad") for u in ("long", "very good", "quite bad")]


def language_model(directory, bidirectional_stack=2):
    TextModel(embed=12, hidden=10, layers=bidirectional_stack, cell="lstm", epochs=1, split_punctuation=False,
              device="cpu", seed=0).fit(SENTENCES * 4, checkpoint_dir=directory)
    return load(directory)


def test_init_from_copies_the_embedding_and_every_forward_layer(tmp_path):
    lm = language_model(tmp_path / "lm")
    pairs = [(s, str(int("n't" in s and "good" in s))) for s in SENTENCES] + [("a new word", "0"), ("zzz", "1")]
    # one epoch with the transferred weights frozen (unfreeze=1): they are still the language model's after it
    with pytest.warns(SeqtextWarning) as said:  # FAST's sizes, replaced by the language model's
        clf = TextClassifier(**{**FAST, "epochs": 1}, init_from=str(tmp_path / "lm"), unfreeze=1, seed=0).fit(pairs)
    assert [str(w.message).split(" (")[0] for w in said] == ["hidden 16 is replaced by the language model's 10",
                                                              "embed 16 is replaced by the language model's 12"]
    assert (clf.settings.core.layers, clf.settings.core.hidden, clf.settings.classify.embed) == (2, 10, 12)
    assert clf.settings.classify.split_punctuation is False  # the words are split as the language model split them
    mine, theirs = clf.task.tokenizer.get_vocab(), lm.tokenizer.get_vocab()
    assert "n't" in mine and "'s" in mine
    shared = [w for w in mine if w in theirs and w != "<pad>"]
    assert len(shared) == len(theirs) - 1  # every word of the language model is in these texts
    for word in shared:
        assert torch.equal(clf.net.embed.weight[mine[word]], lm.net.embed.weight[theirs[word]]), word
    assert clf.task.transfer == {"words_mapped": len(shared), "core_tensors": 8}
    # words the language model never saw start at its scale, not at nn.Embedding's N(0, 1)
    new = clf.net.embed.weight[[mine["new"], mine["zzz"]]]
    assert new.abs().mean() < 3 * lm.net.embed.weight[1:].abs().mean()
    ours, its = dict(clf.net.core.rnn.named_parameters()), dict(lm.net.core.rnn.named_parameters())
    for name, weight in its.items():
        if name == "weight_ih_l1":  # layer 2 reads both directions of layer 1: the backward half starts at zero
            assert torch.equal(ours[name][:, :10], weight) and not ours[name][:, 10:].any()
        else:
            assert torch.equal(ours[name], weight), name
    # so the classifier's forward stack computes what the language model's core computes
    ids = torch.tensor([[mine[w] for w in "the funny film was n't good".split()]])
    lm_ids = torch.tensor([[theirs[w] for w in "the funny film was n't good".split()]])
    clf.net.eval()
    with torch.no_grad():
        out, _ = clf.net.core(clf.net.embed(ids))  # (1, T, 2H)
        expected, _ = lm.net.core(lm.net.embed(lm_ids))  # (1, T, H)
    torch.testing.assert_close(out[..., :10], expected, rtol=0, atol=1e-6)
    # the backward direction is new and trains from the first epoch on: the same start, built again, differs
    from seqtext.session import seed_everything

    again = TextClassifier(**{**FAST, "epochs": 1}, init_from=str(tmp_path / "lm"), unfreeze=1, seed=0)
    seed_everything(0)
    with pytest.warns(SeqtextWarning, match="is replaced by the language model's"):  # FAST's sizes, as above
        again.task.prepare({"train": pairs, "dev": None}, fresh=True)
    start = again.task.build()
    assert torch.equal(start.core.rnn.weight_hh_l0, clf.net.core.rnn.weight_hh_l0)
    assert not torch.equal(start.core.rnn.weight_hh_l0_reverse, clf.net.core.rnn.weight_hh_l0_reverse)


def test_a_classifier_from_a_language_model_still_learns_the_task(tmp_path):
    texts = [t for t, _ in not_examples(300, 4)]
    TextModel(embed=16, hidden=16, cell="lstm", epochs=2, device="cpu").fit(texts, checkpoint_dir=tmp_path / "lm")
    clf = TextClassifier(**FAST, init_from=str(tmp_path / "lm"), seed=0).fit(not_examples(400, 5),
                                                                             dev=not_examples(100, 6))
    assert clf.summary["valid_accuracy"] >= 0.95


def test_word_splitting_set_otherwise_is_warned_of_and_replaced_by_the_language_models(tiny_model_dir):
    """init_from takes the language model's word splitting as it takes its sizes: split_punctuation set to
    something else is said to be replaced, not dropped without a word."""
    pairs = [(s, str(int("good" in s))) for s in SENTENCES]
    with pytest.warns(SeqtextWarning) as said:  # tiny_model_dir: embed 16, hidden 64, punctuation split off words
        clf = TextClassifier(**{**FAST, "epochs": 1, "hidden": 64}, init_from=str(tiny_model_dir),
                             split_punctuation=False, seed=0).fit(pairs)
    assert [str(w.message) for w in said] == [
        "split_punctuation off is replaced by the language model's on (init_from takes its cell, sizes and word "
        "splitting); drop it or start without init_from."]
    assert clf.settings.classify.split_punctuation is True


def test_a_model_started_from_a_language_model_repeats_its_settings_from_its_config(tmp_path):
    """config.json's ``transfer`` record (what init_from copied) is a record, not a section of options: the
    directory's settings replay with --config, the language model to start from among them."""
    import json

    from click.testing import CliRunner

    from seqtext.cli import cli

    lm = language_model(tmp_path / "lm")
    data = tmp_path / "train.tsv"
    data.write_text("".join(f"{s}\t{int('good' in s)}\n" for s in SENTENCES), encoding="utf-8")
    run = CliRunner().invoke(cli, ["classify", "train", "--data", str(data), "--out", str(tmp_path / "first"),
                                   "--init-from", str(tmp_path / "lm"), "--epochs", "1", "--quiet"])
    assert run.exit_code == 0, run.output
    first = json.loads((tmp_path / "first" / "config.json").read_text())
    # every word of the language model but its padding is in these texts
    assert first["transfer"] == {"words_mapped": len(lm.tokenizer.get_vocab()) - 1, "core_tensors": 8}
    run = CliRunner().invoke(cli, ["classify", "train", "--config", str(tmp_path / "first" / "config.json"),
                                   "--data", str(data), "--out", str(tmp_path / "again"), "--quiet"])
    assert run.exit_code == 0, run.output
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert again["classify"] == first["classify"] and again["classify"]["init_from"] == str(tmp_path / "lm")
    assert again["transfer"] == first["transfer"] and again["core"] == first["core"]

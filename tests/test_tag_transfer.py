"""``init_from`` for the tagger: a SequenceTagger that starts from a seqtext language model (the transfer code
the classifier uses; weights compared tensor by tensor)."""

import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from seqtext import SequenceTagger, TextClassifier, TextModel, load
from seqtext.cli import cli
from seqtext.errors import ConfigError, SeqtextWarning
from seqtext.session import seed_everything

from conftest import assert_clean_failure
from test_classify import FAST as CLASSIFY_FAST
from test_classify import not_examples, write_tsv
from test_classify_transfer import SENTENCES, language_model
from test_tag import write_wordtag

FIXTURES = Path(__file__).parent / "fixtures"
FAST = dict(chars=8, epochs=1, batch_size=8, lr=0.01, device="cpu", seed=0)
TAGS = {"the": "DET", "it": "PRON", "and": "CCONJ", "was": "AUX", "'s": "AUX", "n't": "PART", "film": "NOUN",
        "ﬁlm": "NOUN", "very": "ADV", "quite": "ADV"}


def tagged(sentences=SENTENCES):
    """The language model's sentences tagged, every other one capitalised as a treebank writes it, and one
    with the "ﬁ" ligature (which NFKC, the language model's normalisation, reads as "fi")."""
    pairs = []
    for i, sentence in enumerate(sentences):
        words = sentence.split()
        if i % 2:
            words[0] = words[0].capitalize()
        pairs.append((words, [TAGS.get(w.lower(), "ADJ") for w in words]))
    pairs.append((["The", "ﬁlm", "was", "Zorbly"], ["DET", "NOUN", "AUX", "ADJ"]))
    return pairs


def fresh_start(lm_dir, seed=0, **options):
    """The tagger's network as init_from builds it, before any training (the seed as fit() sets it)."""
    tagger = SequenceTagger(**{**FAST, **options}, init_from=str(lm_dir))
    seed_everything(seed)
    tagger.task.prepare({"train": tagged(), "dev": None}, fresh=True)
    return tagger, tagger.task.build()


def test_init_from_copies_the_word_rows_and_the_forward_core(tmp_path):
    lm = language_model(tmp_path / "lm")  # LSTM, 2 layers, embed 12, hidden 10
    with pytest.warns(SeqtextWarning) as said:  # the sizes asked for are replaced, and that is said
        tagger, net = fresh_start(tmp_path / "lm", hidden=32, embed=50)
    assert [str(w.message) for w in said] == [
        f"{name} {asked} is replaced by the language model's {theirs} (init_from takes its cell, sizes and word "
        "splitting); drop it or start without init_from." for name, asked, theirs in (("hidden", 32, 10),
                                                                                      ("embed", 50, 12))]
    settings = tagger.settings
    assert (settings.core.cell, settings.core.layers, settings.core.hidden, settings.tag.embed) == ("lstm", 2, 10, 12)
    assert settings.core.bidirectional and settings.tag.chars == 8
    mine, theirs = tagger.task.vocab.word_id, lm.tokenizer.get_vocab()
    shared = [w for w in mine if w in theirs and w != "<pad>"]
    assert "the" in shared and "n't" in shared and "'s" in shared and "zorbly" not in theirs
    for word in shared:  # the tagger's words are lower-cased: "The" and "the" are one row, the language model's
        assert torch.equal(net.embed.weight[mine[word]], lm.net.embed.weight[theirs[word]]), word
    assert torch.equal(net.embed.weight[mine["ﬁlm"]], lm.net.embed.weight[theirs["film"]])  # NFKC, as the LM reads
    assert tagger.task.transfer == {"words_mapped": len(shared) + 1, "core_tensors": 8}
    assert not net.embed.weight[0].any()  # padding
    ours, its = dict(net.core.rnn.named_parameters()), dict(lm.net.core.rnn.named_parameters())
    for name, weight in its.items():
        if name == "weight_ih_l0":  # the first layer reads the word embedding, then the character features
            assert torch.equal(ours[name][:, :12], weight) and not ours[name][:, 12:].any()
        elif name == "weight_ih_l1":  # the second reads both directions of the first: the backward half is zero
            assert torch.equal(ours[name][:, :10], weight) and not ours[name][:, 10:].any()
        else:
            assert torch.equal(ours[name], weight), name
    # so the tagger's forward stack computes what the language model's core computes, whatever the characters
    words = "The funny film was n't good".split()
    encoded = tagger.task.encode([words])
    ids, forms, chars, _, _ = encoded.batch([0])
    lm_ids = torch.tensor([[theirs[w.lower()] for w in words]])
    net.eval()
    with torch.no_grad():
        x = torch.cat([net.embed(ids), net.chars(chars)[forms]], dim=-1)  # (1, T, 12 + 8)
        assert x[..., 12:].abs().sum() > 0
        out, _ = net.core(x)  # (1, T, 2 * 10)
        expected, _ = lm.net.core(lm.net.embed(lm_ids))  # (1, T, 10)
    torch.testing.assert_close(out[..., :10], expected, rtol=0, atol=1e-6)
    # the backward direction and the character features are the tagger's own: another seed, other weights
    _, other = fresh_start(tmp_path / "lm", seed=1)
    assert torch.equal(other.core.rnn.weight_hh_l0, net.core.rnn.weight_hh_l0)
    assert not torch.equal(other.core.rnn.weight_hh_l0_reverse, net.core.rnn.weight_hh_l0_reverse)
    assert not torch.equal(other.chars.conv.weight, net.chars.conv.weight)


def test_gradual_unfreezing_holds_the_core_then_trains_it_layer_by_layer(tmp_path):
    lm = language_model(tmp_path / "lm")
    _, start = fresh_start(tmp_path / "lm")
    seen = []
    tagger = SequenceTagger(**{**FAST, "epochs": 4, "patience": 4}, init_from=str(tmp_path / "lm"), unfreeze=1)
    tagger.fit(tagged(), callback=lambda model, _: seen.append(model.trainer_state["net"]))
    assert len(seen) == 4
    lm_core = dict(lm.net.core.rnn.named_parameters())
    embed, top, bottom = "embed.weight", "core.rnn.weight_hh_l1", "core.rnn.weight_hh_l0"
    # epoch 1: the transferred weights are held (the language model's), the new parts train
    assert torch.equal(seen[0][top], lm_core["weight_hh_l1"]) and torch.equal(seen[0][bottom], lm_core["weight_hh_l0"])
    assert torch.equal(seen[0]["core.rnn.weight_ih_l0"], start.core.rnn.weight_ih_l0)  # the zero columns too
    assert torch.equal(seen[0][embed], start.embed.weight)
    for name in ("core.rnn.weight_hh_l0_reverse", "chars.conv.weight", "head.weight"):
        assert not torch.equal(seen[0][name], start.state_dict()[name]), name
    # epoch 2: the top layer trains; epoch 3: the bottom one; epoch 4: the embedding
    assert not torch.equal(seen[1][top], seen[0][top]) and torch.equal(seen[1][bottom], seen[0][bottom])
    assert not torch.equal(seen[2][bottom], seen[1][bottom]) and torch.equal(seen[2][embed], seen[0][embed])
    assert not torch.equal(seen[3][embed], seen[2][embed])
    # without --unfreeze everything trains from the first epoch
    seen.clear()
    SequenceTagger(**FAST, init_from=str(tmp_path / "lm")).fit(
        tagged(), callback=lambda model, _: seen.append(model.trainer_state["net"]))
    assert not torch.equal(seen[0][bottom], lm_core["weight_hh_l0"]) and not torch.equal(seen[0][embed],
                                                                                         start.embed.weight)


def test_a_tagger_from_a_language_model_saves_loads_and_answers_the_same(tmp_path):
    language_model(tmp_path / "lm", 1)
    data = write_wordtag(tmp_path / "train.txt", tagged() * 3)
    out = tmp_path / "pos"
    result = CliRunner().invoke(cli, ["tag", "train", "--data", str(data), "--out", str(out), "--init-from",
                                      str(tmp_path / "lm"), "--unfreeze", "1", "--epochs", "8", "--patience", "8", "--chars", "8",
                                      "--lr", "0.02", "--batch-size", "8", "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["tag"]["init_from"] == str(tmp_path / "lm") and config["tag"]["unfreeze"] == 1
    assert (config["core"]["hidden"], config["core"]["layers"], config["tag"]["embed"]) == (10, 1, 12)
    assert config["transfer"]["core_tensors"] == 4 and config["transfer"]["words_mapped"] > 10
    tagger = load(out)
    assert isinstance(tagger, SequenceTagger) and tagger.task.transfer == config["transfer"]
    assert tagger.summary["valid_accuracy"] >= 0.9  # it learnt the tags
    sentences = ["The film was n't good", "It 's a Zorbly film and it was quite long"]
    again = SequenceTagger.load(tagger.save(tmp_path / "copy"))
    assert again.predict_proba(sentences) == tagger.predict_proba(sentences)
    assert again.predict(sentences) == tagger.predict(sentences)
    assert tagger.predict(sentences)[0] == ["DET", "NOUN", "AUX", "PART", "ADJ"]
    result = CliRunner().invoke(cli, ["tag", "predict", "--model", str(out), "--json", sentences[0]])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tags"] == tagger.predict(sentences)[0]


def test_options_that_init_from_replaces_are_warned_of_on_the_command_line(tmp_path):
    language_model(tmp_path / "lm")  # LSTM, 2 layers, embed 12, hidden 10, words split on spaces alone
    data = write_tsv(tmp_path / "t.tsv", not_examples(20, 6))

    def train(*options):
        return CliRunner().invoke(cli, ["classify", "train", "--data", str(data), "--out", str(tmp_path / "out"),
                                        "--init-from", str(tmp_path / "lm"), "--epochs", "1", "--hidden", "10",
                                        "--quiet", *options])

    result = train()  # the language model's own size, and the defaults, say nothing
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    result = train("--cell", "gru", "--layers", "3")
    assert result.exit_code == 0, result.output
    assert "warning: --cell gru is replaced by the language model's lstm (--init-from takes its cell" in result.output
    assert "warning: --layers 3 is replaced by the language model's 2" in result.output
    assert load(tmp_path / "out").settings.core.layers == 2


@pytest.mark.parametrize("task", ["classify", "tag"])
def test_init_from_refuses_what_is_not_a_word_language_model_and_writes_nothing(tmp_path, task):
    TextClassifier(embed=8, hidden=8, epochs=1, device="cpu", seed=0).fit(not_examples(40, 1),
                                                                         checkpoint_dir=tmp_path / "classify")
    for tokenizer in ("bpe", "char"):
        TextModel(tokenizer=tokenizer, **({"vocab_size": 200} if tokenizer == "bpe" else {}), embed=8, hidden=8,
                  epochs=1, device="cpu").fit(SENTENCES * 4, checkpoint_dir=tmp_path / tokenizer)
    if task == "tag":
        data, examples, model = write_wordtag(tmp_path / "t.txt", tagged()), tagged(), SequenceTagger
    else:
        data, examples, model = write_tsv(tmp_path / "t.tsv", not_examples(20, 6)), not_examples(20, 6), \
            TextClassifier
    cases = {"classify": "holds a classify model, not a text model; --init-from takes a language model (a text "
                         "model's directory)",  # no command named: the API says it too
             "bpe": "has a BPE vocabulary; --init-from maps words, so give a word-level language model",
             "char": "has a character vocabulary; --init-from maps words, so give a word-level language model",
             data.name: "is not a model directory"}
    for name, message in cases.items():
        source = tmp_path / name
        result = CliRunner().invoke(cli, [task, "train", "--data", str(data), "--out", str(tmp_path / "out"),
                                          "--init-from", str(source), "--quiet"])
        assert_clean_failure(result, f"{source} {message}", code=None if name == data.name else 2)
        assert not (tmp_path / "out").exists()
        if name != data.name:
            with pytest.raises(ConfigError, match=re.escape(message.replace("--init-from", "init_from"))):
                model(**(FAST if task == "tag" else CLASSIFY_FAST), init_from=str(source)).fit(examples)


def test_a_tagger_directory_from_before_init_from_loads_and_answers_as_before():
    """tests/fixtures/tag-v2 was written by the release before the tagger took init_from
    (scripts/make_fixture_tag.py); its config.json has neither init_from nor unfreeze."""
    expected = json.loads((FIXTURES / "tag-v2.json").read_text(encoding="utf-8"))
    assert "init_from" not in json.loads((FIXTURES / "tag-v2" / "config.json").read_text())["tag"]
    tagger = load(FIXTURES / "tag-v2")
    assert isinstance(tagger, SequenceTagger)
    assert (tagger.settings.tag.init_from, tagger.settings.tag.unfreeze, tagger.task.transfer) == (None, 0, {})
    assert tagger.predict(expected["sentences"]) == expected["tags"]
    got = [[{t: round(p, 6) for t, p in word.items()} for word in sentence]
           for sentence in tagger.predict_proba(expected["sentences"])]
    assert got == expected["probabilities"]

"""Stream-mode training through TextModel, and generation in O(n)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from seqtext import TextModel, load
from seqtext.core import RecurrentCore

from conftest import TINY_LINES


@pytest.fixture
def running_text(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQTEXT_CACHE", str(tmp_path / "cache"))
    rng = random.Random(0)
    path = tmp_path / "running.txt"
    path.write_text("\n".join(rng.choice(TINY_LINES) for _ in range(600)) + "\n", encoding="utf-8")
    return path


def test_stream_mode_trains_and_perplexity_falls(running_text, tmp_path):
    valid = tmp_path / "valid.txt"
    valid.write_text("\n".join(TINY_LINES[:5]) + "\n", encoding="utf-8")
    model = TextModel(mode="stream", embed=16, hidden=32, batch_size=4, bptt=12, epochs=4, lr=1e-2,
                      embed_dropout=0.0, output_dropout=0.0, device="cpu", patience=10)
    model.fit(running_text, valid=valid, checkpoint_dir=tmp_path / "m")
    ppl = [row["valid_perplexity"] for row in model.history]
    vocab = model.tokenizer.get_vocab_size()
    assert ppl[-1] < ppl[0] and ppl[-1] < 2.0 < vocab, ppl  # uniform guessing would be ~vocab
    assert model.settings.text.mode == "stream" and model.summary["train_tokens"] > 5000
    back = load(tmp_path / "m")
    assert back.settings.text.mode == "stream"
    # the training summary counts the validation tokens scored, as evaluate does
    short = back.evaluate(valid)
    assert model.summary["valid_tokens"] == short["tokens"] > 0
    # a short text is read as one running stream, each token after all before it: its perplexity by hand
    from seqtext.text import stream
    from seqtext.text.corpus import corpus_files

    ids = torch.tensor(stream.encode_corpus(corpus_files([valid]), back.tokenizer).ids.tolist())
    with torch.no_grad():
        logits, _, _ = back.net.eval()(ids[None, :-1])
    nll = -torch.log_softmax(logits[0].double(), -1).gather(1, ids[1:, None]).mean().item()
    assert short["tokens"] == len(ids) - 1 and short["perplexity"] == pytest.approx(math.exp(nll), rel=1e-5)
    metrics = back.evaluate(running_text)
    assert metrics["perplexity"] < 4.0 and "last_word_accuracy" not in metrics
    assert back.complete("Mary rides the bicycle, the bicycle is ___").endswith(("hers.", "his.", "mine.", "ours."))


def test_auto_mode_picks_sentence_mode_for_a_sentence_corpus(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("\n".join(TINY_LINES))
    model = TextModel(embed=8, hidden=8, epochs=1, device="cpu").fit(path)
    assert model.settings.text.mode == "sentence"


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_cells_are_interchangeable_through_the_core(cell, tmp_path):
    model = TextModel(cell=cell, embed=8, hidden=16, epochs=2, device="cpu", valid_fraction=0.0)
    model.fit(TINY_LINES * 3)
    back = load(model.save(tmp_path / cell))
    assert back.settings.core.cell == cell
    assert back.complete("Mary rides") == model.complete("Mary rides")


def test_generation_is_linear_in_length(tiny_model, monkeypatch):
    """Each generated token costs one core step over one new token: the prefix is never re-read."""
    calls = []
    forward, step = RecurrentCore.forward, RecurrentCore.step

    def counting_forward(self, x, hidden=None):
        calls.append(x.shape[1])  # (B, T, E): T tokens read
        return forward(self, x, hidden)

    def counting_step(self, x, hidden=None):
        assert x.dim() == 2 and x.shape[0] == 1  # (1, E): one token
        calls.append(1)
        return step(self, x, hidden)

    monkeypatch.setattr(RecurrentCore, "forward", counting_forward)
    monkeypatch.setattr(RecurrentCore, "step", counting_step)
    out = tiny_model.complete("Mary", words=40)
    generated = len(tiny_model.tokenizer.encode(out[len("Mary"):], add_special_tokens=False).ids)
    assert calls[0] == 2  # <s> mary, read once
    assert all(n == 1 for n in calls[1:])
    assert generated - 1 <= len(calls) - 1 <= generated


def test_stream_model_prompts_start_like_its_training_lines(running_text, tmp_path):
    """A stream model never saw <s>: its prompt starts after a </s>, as every line did in training."""
    model = TextModel(mode="stream", embed=16, hidden=32, batch_size=4, bptt=12, epochs=3, lr=1e-2,
                      embed_dropout=0.0, output_dropout=0.0, device="cpu")
    model.fit(running_text)
    out = model.complete("Mary rides", words=12)
    assert len(out.words) >= 3  # "the bicycle , the bicycle is hers" and the like, not an instant </s>
    assert out.endswith(".")


def test_adaptive_softmax_trains_in_stream_mode_and_round_trips(running_text, tmp_path):
    model = TextModel(mode="stream", softmax="adaptive", cutoffs=[8, 20], embed=16, hidden=32, batch_size=4,
                      bptt=12, epochs=4, lr=1e-2, embed_dropout=0.0, output_dropout=0.0, device="cpu", patience=10)
    model.fit(running_text, checkpoint_dir=tmp_path / "m")
    ppl = [row["valid_perplexity"] for row in model.history]
    assert ppl[-1] < ppl[0] and ppl[-1] < 2.5, ppl
    back = load(tmp_path / "m")
    assert back.settings.text.softmax == "adaptive" and back.settings.text.cutoffs == [8, 20]
    assert back.evaluate(running_text)["perplexity"] == pytest.approx(model.evaluate(running_text)["perplexity"])
    assert back.complete("Mary rides the bicycle, the bicycle is ___").endswith(("hers.", "his.", "mine.", "ours."))


def test_corpus_arguments_other_than_paths_and_lists(running_text, tmp_path, monkeypatch):
    """Any iterable of sentences reads as a list; an empty path, None or a number is one sentence; a stream-mode
    model given sentences says how to read them, not that a file named like the sentence does not exist."""
    import numpy as np

    from seqtext.errors import DataError

    options = dict(embed=8, hidden=8, epochs=1, device="cpu", seed=0)
    as_list = TextModel(**options).fit(TINY_LINES * 3)
    for other in (np.array(TINY_LINES * 3), (line for line in TINY_LINES * 3)):
        assert TextModel(**options).fit(other).evaluate(TINY_LINES) == as_list.evaluate(TINY_LINES)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("unrelated text here .\n")
    monkeypatch.chdir(tmp_path)  # "" used to read every .txt file under the current directory
    for bad, words in (("", "the corpus is an empty path"), (None, "got NoneType"), (5, "got int"),
                       ([TINY_LINES[0], 5], "item 2 is int")):
        with pytest.raises(DataError, match=words):
            TextModel(**options).fit(bad)
        if bad != "":
            continue
        with pytest.raises(DataError, match=words):
            as_list.evaluate(bad)
    streamed = TextModel(mode="stream", embed=8, hidden=8, batch_size=4, bptt=12, epochs=1, device="cpu")
    streamed.fit(running_text)
    with pytest.raises(DataError, match=r"stream-mode model evaluates running text read from files; give the corpus "
                                        r"as a path, or per_sentence=True"):
        streamed.evaluate(TINY_LINES)
    assert streamed.evaluate(TINY_LINES, per_sentence=True)["sentences"] == len(TINY_LINES)


def test_a_stream_model_given_a_missing_file_in_a_list_names_the_file(running_text):
    streamed = TextModel(mode="stream", embed=8, hidden=8, batch_size=4, bptt=12, epochs=1, device="cpu")
    streamed.fit(running_text)
    from seqtext.errors import DataError

    with pytest.raises(DataError, match="the corpus nope.txt does not exist"):
        streamed.evaluate(["nope.txt"])
    with pytest.raises(DataError, match="per_sentence=True"):  # words without spaces are sentences all the same
        streamed.evaluate(["hello", "world"])
    for sentences in (["Mary rides and/or walks ."], ["the notes are in notes.txt"]):  # sentences, not missing paths
        with pytest.raises(DataError, match="per_sentence=True"):
            streamed.evaluate(sentences)
    with pytest.raises(DataError, match="the corpus data/nope.txt does not exist"):
        streamed.evaluate(["data/nope.txt"])
    with pytest.raises(DataError, match="^a stream-mode model evaluates running text read from files, and there is "
                                        "no file 'my data/nope.txt'; give the corpus as a path, or per_sentence"):
        streamed.evaluate(["my data/nope.txt"])  # a path with a space that is not there: named, not taken for text
    with pytest.raises(DataError, match="^no validation text was given; pass a text file"):  # not "no corpus"
        TextModel(mode="stream", embed=8, hidden=8, epochs=1, device="cpu").fit(running_text, valid=[])


def test_a_validation_text_too_short_to_score_is_refused_not_dropped(tmp_path):
    """One character of validation text predicts nothing: training went on without validation (no early
    stopping), saying only that none was given."""
    from seqtext import TextModel
    from seqtext.errors import DataError

    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be, that is the question.\n" * 40)
    short = tmp_path / "v.txt"
    short.write_text("a")
    with pytest.raises(DataError, match=r"v\.txt holds 1 token, too few to validate on .*give a longer validation"):
        TextModel(tokenizer="char", mode="stream", embed=4, hidden=4, epochs=1, device="cpu").fit(corpus, valid=short)


def test_evaluating_one_token_says_there_is_nothing_to_score_not_to_change_a_batch_size(tmp_path):
    from seqtext.errors import DataError

    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be, that is the question.\n" * 40)
    model = TextModel(tokenizer="char", mode="stream", embed=4, hidden=4, epochs=1, device="cpu").fit(corpus)
    one = tmp_path / "one.txt"
    one.write_text("a")
    with pytest.raises(DataError, match=r"^the text holds 1 token, too few to score \(each is predicted from those "
                                        r"before it\); give more text\.$"):
        model.evaluate(one)


def test_a_held_out_share_that_leaves_too_little_to_train_on_names_its_option(tmp_path):
    from seqtext.errors import DataError

    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be, that is the question.\n" * 40)
    with pytest.raises(DataError, match=r"^holding out valid_fraction 0\.999 of the 1680 tokens leaves 2 to train "
                                        r"on, too few for batch_size 16 parallel streams"):
        TextModel(tokenizer="char", mode="stream", embed=4, hidden=4, epochs=1, valid_fraction=0.999,
                  device="cpu").fit(corpus)


def test_a_token_cache_that_cannot_be_written_is_named_without_a_usage_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from conftest import assert_clean_failure, write_corpus
    from seqtext.cli import cli

    corpus = write_corpus(tmp_path / "corpus.txt", TINY_LINES * 4)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("SEQTEXT_CACHE", str(blocker))
    out = tmp_path / "model"
    result = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--mode", "stream", "--epochs", "1",
                                       "--out", str(out)])
    assert_clean_failure(result, "cannot write the token cache in", "set SEQTEXT_CACHE", code=1)
    assert "Usage:" not in result.output
    assert not out.exists()

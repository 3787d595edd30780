"""Scoring sentences, streaming generation and repetition control."""

import json
import math

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TINY_LINES, assert_clean_failure, write_corpus
from seqtext import TextModel
from seqtext.cli import cli
from seqtext.errors import ConfigError, DataError
from seqtext.text.decoding import Repetition

SENTENCES = ["Mary rides the bicycle, the bicycle is hers.", "We drive the car, the car is ours.",
             "John drives the bicycle, the bicycle is his.", "Mary zorps the car."]


def test_score_equals_evaluate_for_a_sentence_model(tiny_model, tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", SENTENCES)
    records = tiny_model.score(SENTENCES)
    evaluated = tiny_model.evaluate(corpus)
    total = sum(r["logprob"] for r in records)
    tokens = sum(r["tokens"] for r in records)
    assert tokens == evaluated["tokens"]
    assert math.exp(-total / tokens) == pytest.approx(evaluated["perplexity"], rel=1e-4)
    assert records.summary["perplexity"] == pytest.approx(evaluated["perplexity"], rel=1e-4)
    for r in records:
        assert set(r) == {"text", "logprob", "tokens", "perplexity", "unknown"}
        assert r["perplexity"] == pytest.approx(math.exp(-r["logprob"] / r["tokens"]))
    assert records[3]["unknown"] == ["zorps"] and records[0]["unknown"] == []
    assert records.summary["unknown_tokens"] == 1
    assert records.summary["perplexity_known"] < records.summary["perplexity"]


def test_a_sentence_scores_the_same_alone_and_in_a_padded_batch(tiny_model):
    together = tiny_model.score(SENTENCES)
    for sentence, record in zip(SENTENCES, together):
        assert tiny_model.score([sentence])[0]["logprob"] == pytest.approx(record["logprob"], rel=1e-6)


def test_surprisal_bits_sum_to_minus_logprob(tiny_model):
    for r in tiny_model.score(SENTENCES, tokens=True):
        assert len(r["surprisal_bits"]) == r["tokens"]
        assert sum(r["surprisal_bits"]) * math.log(2) == pytest.approx(-r["logprob"], rel=1e-9)
        assert len(r["token_texts"]) == r["tokens"] and r["token_texts"][-1] == "</s>"
    # each token's text is its span of the sentence as typed: punctuation apart, an unknown word as written
    record = tiny_model.score(["Mary rides the Zyzzyva, hers."], tokens=True)[0]
    assert record["token_texts"] == ["Mary", "rides", "the", "Zyzzyva", ",", "hers", ".", "</s>"]


def test_a_character_that_normalisation_splits_is_shown_once():
    """NFKC turns "½" into "1⁄2", three BPE pieces of one character: the first shows it, the others are empty."""
    from seqtext.text import tokenizer as tk
    from seqtext.text.records import token_texts

    bpe = tk.train_tokenizer(TINY_LINES + ["1 2 3"], kind="bpe", vocab_size=200)
    sentence = "Mary has ½ car"
    pieces = bpe.encode(sentence, add_special_tokens=False)
    assert len(pieces.ids) > 4  # "½" is more than one token here, or this test shows nothing
    texts = token_texts(bpe, sentence, [0, *pieces.ids, bpe.token_to_id(tk.EOS)])
    assert len(texts) == len(pieces.ids) + 1 and texts[-1] == "</s>"
    assert "".join(texts[:-1]) == sentence.replace(" ", "") and texts.count("½") == 1


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_an_accent_written_apart_stays_with_its_word(tiny_model, kind):
    """NFKC joins NFD 'cafe' + U+0301 into one character whose offsets end before the accent: the unknown word and
    its token text still carry the accent, and the token texts still give every character of the sentence."""
    import unicodedata

    from seqtext.text import tokenizer as tk
    from seqtext.text.records import token_texts

    sentence = unicodedata.normalize("NFD", "Mary rides the café, hers.")
    assert "e\u0301" in sentence
    tok = tiny_model.tokenizer if kind == "word" else tk.train_tokenizer(TINY_LINES, kind="bpe", vocab_size=200)
    pieces = tok.encode(sentence, add_special_tokens=False)
    texts = token_texts(tok, sentence, [0, *pieces.ids, tok.token_to_id(tk.EOS)])
    assert "".join(texts[:-1]) == sentence.replace(" ", "")
    if kind == "word":
        assert "caf\u00e9" not in sentence and "cafe\u0301" in texts
        assert tk.unknown_words(tok, sentence) == ["cafe\u0301"]
        assert tiny_model.score([sentence])[0]["unknown"] == ["cafe\u0301"]


def test_a_long_line_is_scored_in_windows_like_a_short_one(tiny_model, monkeypatch):
    from seqtext.text import scoring

    line = " ".join(TINY_LINES * 20)  # about 250 tokens
    whole = tiny_model.score([line])[0]["logprob"]
    monkeypatch.setattr(scoring, "MAX_SCORE_WINDOW", 16)  # the state carried across 16-token windows
    assert tiny_model.score([line])[0]["logprob"] == pytest.approx(whole, rel=1e-6)


def test_per_sentence_evaluation_of_a_stream_model_equals_score(tmp_path):
    corpus = write_corpus(tmp_path / "c.txt", TINY_LINES * 3)
    model = TextModel(mode="stream", embed=8, hidden=16, epochs=2, batch_size=2, bptt=8, device="cpu",
                      valid_fraction=0.0).fit(corpus)
    records = model.score(TINY_LINES * 3)
    evaluated = model.evaluate(corpus, per_sentence=True)
    assert evaluated["perplexity"] == pytest.approx(records.summary["perplexity"], rel=1e-9)
    assert evaluated["tokens"] == records.summary["tokens"]
    long_line = " ".join(TINY_LINES * 60)  # over 2,000 characters: read whole, as score reads it, not in pieces
    assert len(long_line) > 2000
    whole = model.evaluate([long_line], per_sentence=True)
    assert whole["sentences"] == 1 and whole["perplexity"] == pytest.approx(model.score([long_line]).summary[
        "perplexity"], rel=1e-6)
    # the accuracies of the same reading, counted by hand: each line after </s>, its tokens and </s> predicted
    import torch

    from seqtext.text.records import frame

    hits = tokens = last_ok = 0
    for line in TINY_LINES * 3:
        ids = frame(model.tokenizer, line, True)
        with torch.no_grad():
            logits, _, _ = model.net.eval()(torch.tensor([ids[:-1]]))
        right = (logits[0].argmax(-1) == torch.tensor(ids[1:])).tolist()
        hits, tokens = hits + sum(right), tokens + len(right)
        last_ok += right[-3]  # "... is hers ." </s>: the pronoun is the third target from the end
    assert evaluated["accuracy"] == pytest.approx(hits / tokens)
    assert evaluated["last_word_accuracy"] == pytest.approx(last_ok / len(TINY_LINES * 3))


def test_stream_evaluation_scores_every_token_once(tmp_path, monkeypatch):
    """Parallel rows read the text in pieces: row b from a zero state, the last row carried on into the tail.
    Their sum equals each piece read as a stream of its own, and every token after the first is a target."""
    from seqtext.text import scoring, stream
    from seqtext.text.scoring import score_stream

    monkeypatch.setattr(scoring, "MIN_SCORED_ROW", 2)  # rows of a few tokens, as a long text's are of thousands

    corpus = write_corpus(tmp_path / "c.txt", TINY_LINES * 4)
    model = TextModel(mode="stream", embed=8, hidden=16, epochs=1, batch_size=2, bptt=8, device="cpu",
                      valid_fraction=0.0).fit(corpus)
    ids = stream.encode_corpus(corpus, model.tokenizer).ids
    rows, n = 3, (len(ids) - 1) // 3
    assert (len(ids) - 1) % rows  # a tail that does not fill a row

    def nll(piece, batch):
        r = score_stream(model.net, piece, 5, model.device, batch_size=batch)
        return r["loss"] * r["tokens"], r["tokens"]

    together, tokens = nll(ids, rows)
    pieces = [nll(ids[b * n:(b + 1) * n + 1], 1) for b in range(rows - 1)] + [nll(ids[(rows - 1) * n:], 1)]
    assert tokens == len(ids) - 1 == sum(t for _, t in pieces)
    assert together == pytest.approx(sum(v for v, _ in pieces), rel=1e-5)
    assert model.evaluate(corpus)["tokens"] == len(ids) - 1
    # the real rule: rows of at least MIN_SCORED_ROW tokens, at most batch_size of them
    monkeypatch.setattr(scoring, "MIN_SCORED_ROW", 1000)
    seen = []

    class Counted(Exception):
        pass

    def rows_asked(ids, rows):
        seen.append(rows)
        raise Counted

    monkeypatch.setattr(stream, "scoring_rows", rows_asked)
    for length, rows in ((10_001, 10), (2_501, 2), (1_500, 1), (100_001, 10)):
        with pytest.raises(Counted):
            score_stream(model.net, list(range(3)) * (length // 3) + [0] * (length % 3), 5, model.device)
        assert seen[-1] == rows, (length, seen)


def test_score_cli_table_json_rank_and_tokens(tiny_model_dir):
    runner = CliRunner()
    r = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), "--json", *SENTENCES[:2]])
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [set(x) for x in lines] == [{"text", "logprob", "tokens", "perplexity", "unknown"}] * 2
    r = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), "--json", "--tokens", SENTENCES[0]])
    assert "surprisal_bits" in json.loads(r.stdout)
    r = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), "--rank", *SENTENCES])
    scores = [float(line.split("\t")[0]) for line in r.stdout.splitlines()]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    ranked = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), "--rank", "--tokens", *SENTENCES])
    lines = ranked.stdout.splitlines()  # each ranked sentence, then its tokens' surprisal, as the table gives them
    assert [float(line.split("\t")[0]) for line in lines[::2]] == scores
    table = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), "--tokens", *SENTENCES]).stdout.splitlines()
    assert sorted(lines[1::2]) == sorted(table[2::2]) and all(":" in line for line in lines[1::2])
    r = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), *SENTENCES])
    assert "perplexity" in r.stdout.splitlines()[0] and "without the 1 unknown-word token\n" in r.stderr


@pytest.mark.parametrize("content, fragment", [(b"\n\n  \n", "only blank lines"), (b"\x00\x01\x02binary", "binary"),
                                               (b"caf\xe9\n", "not UTF-8")])
def test_score_bad_files(tiny_model_dir, tmp_path, content, fragment):
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    assert_clean_failure(CliRunner().invoke(cli, ["score", "--model", str(tiny_model_dir), "--file", str(path)]),
                         fragment)


def test_score_refuses_an_empty_sentence(tiny_model_dir, tiny_model):
    assert_clean_failure(CliRunner().invoke(cli, ["score", "--model", str(tiny_model_dir), " "]), "empty")
    with pytest.raises(DataError, match="sentence 2 is empty"):
        tiny_model.score(["Mary rides.", ""])


# ------------------------------------------------------------------------------ streaming

@pytest.mark.parametrize("prompt", ["Mary rides", "We", "the car is"])
def test_stream_writes_what_complete_returns(tiny_model, prompt):
    for options in ({"words": 12}, {"words": 40, "stop": False}, {"words": 20, "no_repeat_ngram": 2}):
        assert prompt + "".join(tiny_model.stream(prompt, **options)) == str(tiny_model.complete(prompt, **options))
    with pytest.raises(DataError, match="filled in place"):
        next(tiny_model.stream(prompt + " ___"))


def test_stream_is_a_generator_that_leaves_grad_mode_alone(tiny_model):
    stream = tiny_model.stream("Mary", words=5, stop=False)
    first = next(stream)
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert first.strip()
    assert len(list(stream)) >= 1


def test_complete_stream_cli(tiny_model_dir):
    r = CliRunner().invoke(cli, ["complete", "--model", str(tiny_model_dir), "--stream", "--json", "Mary rides",
                                 "--words", "5"])
    assert r.exit_code == 0, r.output
    words = [json.loads(line) for line in r.stdout.splitlines()]
    r2 = CliRunner().invoke(cli, ["complete", "--model", str(tiny_model_dir), "--no-stream", "Mary rides",
                                  "--words", "5"])
    assert "Mary rides" + "".join(w["text"] for w in words) == r2.stdout.strip()
    assert all(set(w) == {"word", "text"} for w in words)


# -------------------------------------------------------------------------- repetition control

def random_model(seed: int) -> TextModel:
    """A model with random weights over the tiny corpus's vocabulary (a tokenizer, an untrained net)."""
    from seqtext.text import tokenizer as tk

    model = TextModel(embed=8, hidden=16, cell=["rnn", "gru", "lstm"][seed % 3], device="cpu")
    model.task.tokenizer = tk.train_tokenizer(TINY_LINES, "word", 100, 1)
    torch.manual_seed(seed)
    model.net = model.task.build().eval()
    with torch.no_grad():
        for p in model.net.parameters():
            p.mul_(4.0)  # peaked distributions: an untrained model that loops readily
    return model


def ngrams(tokens, n):
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(1, 4), prompt=st.sampled_from(["Mary", "We drive the", "the car"]),
       sampled=st.booleans())
def test_no_repeat_ngram_never_writes_a_repeated_ngram(seed, n, prompt, sampled):
    from seqtext.text import tokenizer as tk

    model = random_model(seed)
    extra = {"temperature": 1.0, "seed": seed} if sampled else {}
    pieces = list(model.stream(prompt, words=40, stop=False, no_repeat_ngram=n, **extra))
    tok = model.tokenizer
    # the token sequence the rule sees: the prompt's, then each written word's (</s> for a line end)
    ids = tok.encode(prompt, add_special_tokens=False).ids
    ids += [tok.token_to_id(tk.EOS) if p == "\n" else tok.token_to_id(p.strip().lower()) for p in pieces]
    assert None not in ids
    eos = tok.token_to_id(tk.EOS)  # a sentence may end as another did: an n-gram ending in </s> is no repeat
    grams = [g for g in ngrams(ids, n) if g[-1] != eos]
    assert len(grams) == len(set(grams)), "".join(pieces)


def test_the_repetition_penalty_lowers_a_written_tokens_probability():
    logits = torch.tensor([2.0, -1.0, 0.5, 1.0])
    r = Repetition(repetition_penalty=1.5, tokens=[0, 1])
    before, after = torch.softmax(logits, 0), torch.softmax(r.apply(logits), 0)
    assert after[0] < before[0] and after[1] < before[1]  # positive divided, negative multiplied
    assert r.apply(logits)[1] == pytest.approx(-1.5) and r.apply(logits)[0] == pytest.approx(2.0 / 1.5)
    assert torch.equal(logits, torch.tensor([2.0, -1.0, 0.5, 1.0]))  # the input is left alone


def test_repetition_control_leaves_blank_filling_alone(tiny_model):
    for prompt in ["Mary rides the bicycle, the bicycle is ___", "___ and John ride the car, the car is theirs."]:
        plain = str(tiny_model.complete(prompt))
        assert str(tiny_model.complete(prompt, no_repeat_ngram=1, repetition_penalty=5.0)) == plain


@pytest.mark.parametrize("args, fragment", [(["--no-repeat-ngram", "0"], "--no-repeat-ngram"),
                                            (["--no-repeat-ngram", "-2"], "--no-repeat-ngram"),
                                            (["--repetition-penalty", "0"], "--repetition-penalty"),
                                            (["--repetition-penalty", "-1"], "--repetition-penalty")])
def test_bad_repetition_options(tiny_model_dir, args, fragment):
    r = CliRunner().invoke(cli, ["complete", "--model", str(tiny_model_dir), "Mary", *args])
    assert_clean_failure(r, fragment, code=2)


def test_bad_repetition_options_in_python_name_the_parameter(tiny_model):
    with pytest.raises(ConfigError, match="^no_repeat_ngram must be"):
        tiny_model.complete("Mary", no_repeat_ngram=0)
    with pytest.raises(ConfigError, match="^repetition_penalty must be"):
        list(tiny_model.stream("Mary", repetition_penalty=-1))


def test_repetition_adjusts_numpy_scores_as_torch_logits():
    import numpy as np

    r = Repetition(no_repeat_ngram=2, repetition_penalty=1.5, tokens=[1, 2, 3, 1])
    scores = np.array([1.0, -1.0, 2.0, 0.5, 3.0], dtype=np.float32)
    from_numpy, from_torch = r.apply(scores), r.apply(torch.tensor(scores))
    assert np.allclose(from_numpy, from_torch.numpy()) and from_numpy[2] == -np.inf  # (1, 2) written: 2 banned
    assert from_numpy[1] == pytest.approx(-1.5) and from_numpy[3] == pytest.approx(0.5 / 1.5)
    assert scores[2] == 2.0  # the input is left alone


def test_a_byte_order_mark_is_no_text(tiny_model_dir, tiny_model, tmp_path):
    """A file saved with a UTF-8 byte-order mark scores, evaluates and trains as the same file without it."""
    from seqtext.text.corpus import load_lines
    from seqtext.text.corpus import iter_lines

    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_text("\n".join(SENTENCES[:2]) + "\n", encoding="utf-8")
    marked.write_text("\n".join(SENTENCES[:2]) + "\n", encoding="utf-8-sig")
    assert marked.read_bytes()[:3] == b"\xef\xbb\xbf"
    runner = CliRunner()
    for args in (["score", "--json", "--file"], ["evaluate", "--json", "--corpus"]):
        mine, theirs = (runner.invoke(cli, [args[0], "--model", str(tiny_model_dir), *args[1:], str(f)])
                        for f in (marked, plain))
        assert mine.exit_code == 0 and mine.stdout == theirs.stdout, (mine.output, theirs.output)
    piped = runner.invoke(cli, ["score", "--model", str(tiny_model_dir), "--json"], input=marked.read_bytes())
    assert json.loads(piped.stdout.splitlines()[0])["text"] == SENTENCES[0]
    assert load_lines(marked) == load_lines(plain) == SENTENCES[:2]
    assert list(iter_lines(marked)) == list(iter_lines(plain))


def test_a_streamed_sentence_break_is_a_line_with_no_word(tiny_model_dir):
    """With --no-stop a continuation runs on into the next sentence: the break is one line of its own, as the
    README says, and the text still joins up to what --no-stream prints."""
    args = ["complete", "--model", str(tiny_model_dir), "Mary rides", "--words", "30", "--no-stop"]
    r = CliRunner().invoke(cli, [*args, "--stream", "--json"])
    assert r.exit_code == 0, r.output
    pieces = [json.loads(line) for line in r.stdout.splitlines()]
    breaks = [p for p in pieces if "\n" in p["text"]]
    assert breaks and all(p == {"word": "", "text": "\n"} for p in breaks)
    plain = CliRunner().invoke(cli, [*args, "--no-stream"])
    assert "Mary rides" + "".join(p["text"] for p in pieces) == plain.stdout.strip()

"""Character-level models: the tokenizer, the raw-text stream, bits per character, completion, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqtext import ConfigError, DataError, TextModel, load
from seqtext.cli import cli
from seqtext.text import chars, stream
from seqtext.text import corpus as cp
from seqtext.text import tokenizer as tk

from conftest import assert_clean_failure, free_tokens_of_continuations

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SPEECHES = ("ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n\n"
            "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\n\n")
TRICKY = ["<s>", "</s>", "<unk>", "<pad>", "\n", "\r\n", " ", "\t", "\u0301", "👍🏽", "\ufffd"]
# any text, with the specials' spellings, line breaks and combining marks mixed in
TEXTS = st.lists(st.one_of(st.text(), st.sampled_from(TRICKY)), max_size=12).map("".join)


def run(args):
    return CliRunner().invoke(cli, args)


@pytest.fixture(scope="module")
def romeo(tmp_path_factory):
    """A small character model trained until it knows its two speeches by heart (a few seconds)."""
    root = tmp_path_factory.mktemp("char")
    corpus = root / "romeo.txt"
    corpus.write_text(SPEECHES * 30, encoding="utf-8")
    model = TextModel(tokenizer="char", mode="stream", embed=16, hidden=64, bptt=32, batch_size=4, epochs=8,
                      patience=8, lr=1e-2, embed_dropout=0.0, output_dropout=0.0, lr_decay=1.0, seed=0,
                      device="cpu").fit(corpus)
    return model, model.save(root / "model"), corpus


# ------------------------------------------------------------------ tokenizer


def test_char_pipeline_keeps_case_spaces_line_breaks_and_code_points():
    text = "Hello World\n\n  ab\tC\r\nÉté 👍🏽 e\u0301"
    tok = tk.train_tokenizer([text], kind="char")
    assert tk.is_char(tok) and not tk.is_char(tk.train_tokenizer(["a b"]))
    assert [tok.id_to_token(i) for i in range(4)] == tk.SPECIALS
    enc = tok.encode(text, add_special_tokens=False)
    assert enc.tokens == list(text)  # one token per code point: no normalisation, nothing dropped
    assert tok.decode(enc.ids) == text  # joined without spaces


@FUZZ
@given(TEXTS.filter(bool))
def test_round_trip_over_arbitrary_unicode(text):
    tok = tk.train_tokenizer([text], kind="char")
    ids = tok.encode(text, add_special_tokens=False).ids
    assert len(ids) == len(text)  # "<s>" typed in a text is three characters, never the special token
    assert tok.decode(ids) == text


@FUZZ
@given(TEXTS)
def test_unknown_characters_are_one_unk_each_and_decode_as_replacement_characters(text):
    tok = tk.train_tokenizer(["abc ABC\n"], kind="char")
    ids = tok.encode(text, add_special_tokens=False).ids
    known = set("abc ABC\n")
    assert len(ids) == len(text)
    assert [i == tok.token_to_id(tk.UNK) for i in ids] == [c not in known for c in text]
    assert tok.decode(ids) == "".join(c if c in known else tk.UNKNOWN_CHAR for c in text)
    assert tk.unknown_words(tok, text) == list(dict.fromkeys(c for c in text if c not in known))


def test_char_vocabulary_min_frequency_line_break_and_reload(tmp_path):
    tok = tk.train_tokenizer(["aaab"], kind="char", min_frequency=2)
    assert "a" in tok.get_vocab() and "b" not in tok.get_vocab()
    assert tok.token_to_id(tk.LINE_BREAK) is not None  # a stream starts after a line break, even without one
    tk.save_tokenizer(tok, tmp_path / "tokenizer.json")
    back = tk.load_tokenizer(tmp_path / "tokenizer.json")
    assert tk.is_char(back) and back.encode("ab\n").ids == tok.encode("ab\n").ids
    with pytest.raises(DataError, match="no characters"):
        tk.train_tokenizer([""], kind="char")


def test_the_stream_is_the_files_characters_exactly(tmp_path):
    corpus = tmp_path / "raw.txt"
    text = "  First line\r\n\n\nindented\tline\nno final break"
    corpus.write_bytes(text.encode("utf-8"))
    tok = tk.train_tokenizer(cp.iter_text(corpus, raw=True), kind="char")
    ids = stream.encode_corpus(corpus, tok, cache_dir=tmp_path / "cache").ids
    assert tok.decode([int(i) for i in ids]) == text  # blank lines, indentation and \r kept; no </s> added
    again = stream.encode_corpus(corpus, tok, cache_dir=tmp_path / "cache")
    assert again.from_cache and again.eos_id is None



def test_a_file_without_a_final_line_break_never_runs_into_the_next(tmp_path):
    """Two files, the first not ending its last line: a line break between them (a word model ends each line
    with </s>), and none added after a file that ends its line, nor after the last file."""
    first, second, third = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    first.write_text("the company said")
    second.write_text("it rose\n")
    third.write_text("no end")
    tok = tk.train_tokenizer(cp.iter_text([first, second, third], raw=True), kind="char")
    ids = stream.encode_corpus([first, second, third], tok, cache_dir=tmp_path / "cache").ids
    assert tok.decode([int(i) for i in ids]) == "the company said\nit rose\nno end"


# ---------------------------------------------------------- bits per character


def test_bits_per_char_is_nats_over_ln2_per_character():
    assert chars.bits_per_char(3 * math.log(2), 3) == pytest.approx(1.0)
    assert chars.bits_per_char(10.0, 4) == pytest.approx(10.0 / math.log(2) / 4)


def _fixed_distribution(model, probs: dict[str, float]):
    """Make the network predict the same distribution at every step: p[token] given, the rest shared."""
    tok, head = model.tokenizer, model.net.head
    vocab = tok.get_vocab_size()
    rest = (1.0 - sum(probs.values())) / (vocab - len(probs))
    logp = torch.full((vocab,), math.log(rest))
    for token, p in probs.items():
        logp[tok.token_to_id(token)] = math.log(p)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(logp)


def test_bits_per_char_hand_computed_in_sentence_mode():
    model = TextModel(tokenizer="char", mode="sentence", embed=4, hidden=4, epochs=1, valid_fraction=0.0,
                      device="cpu").fit(["ab", "aab"])
    assert model.tokenizer.get_vocab_size() == 7  # 4 specials, a, b and the line break
    # a: 1 bit, b: 2 bits, </s> (the line's line break): 3 bits; the other 4 tokens 1/32 each
    _fixed_distribution(model, {"a": 1 / 2, "b": 1 / 4, tk.EOS: 1 / 8})
    metrics = model.evaluate(["ab", "aab"])
    # "ab\n" = 1 + 2 + 3 bits, "aab\n" = 1 + 1 + 2 + 3 bits: 13 bits over 7 characters
    assert metrics["characters"] == 7
    assert metrics["bits_per_char"] == pytest.approx(13 / 7, rel=1e-6)
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / math.log(2), rel=1e-12)


def test_bits_per_char_hand_computed_in_stream_mode(tmp_path):
    corpus = tmp_path / "ab.txt"
    corpus.write_text("ab\naab\n" * 20, encoding="utf-8")
    model = TextModel(tokenizer="char", mode="stream", embed=4, hidden=4, epochs=1, batch_size=2, device="cpu",
                      valid_fraction=0.0).fit(corpus)
    _fixed_distribution(model, {"a": 1 / 2, "b": 1 / 4, "\n": 1 / 8})
    lines = tmp_path / "lines.txt"
    lines.write_text("ab\naab\n", encoding="utf-8")
    alone = model.evaluate(lines, per_sentence=True)  # each line read alone: its characters and line break
    assert (alone["characters"], alone["bits_per_char"]) == (7, pytest.approx(13 / 7, rel=1e-6))
    # running text: whichever characters are scored, each costs 1 bit when all are "a"
    only_a = tmp_path / "a.txt"
    only_a.write_text("a" * 60, encoding="utf-8")
    running = model.evaluate(only_a)
    assert running["bits_per_char"] == pytest.approx(1.0, rel=1e-6) and 0 < running["characters"] < 60
    _fixed_distribution(model, {})  # uniform: log2(V) bits for every character
    assert model.evaluate(corpus)["bits_per_char"] == pytest.approx(math.log2(7), rel=1e-6)


# ------------------------------------------------------------------- training


def test_training_reports_bits_per_char(romeo):
    model, model_dir, _ = romeo
    history = [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text().splitlines()]
    for row in history:
        assert row["valid_bits_per_char"] == pytest.approx(row["valid_loss"] / math.log(2))
        assert row["valid_characters"] == row["valid_tokens"] > 0
    assert history[-1]["valid_bits_per_char"] < 1.0  # it learnt its two speeches
    assert model.task.headline == "bits_per_char"


def test_complete_writes_characters_as_they_come(romeo):
    model, _, _ = romeo
    assert model.complete("ROMEO:") == "ROMEO:\nBut soft, what light through yonder window breaks?"
    long = model.complete("JULIET:", words=12, stop=False)
    assert long == "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\n\nROMEO:\nBut soft, what light"
    assert long.words == long[len("JULIET:"):].split() and len(long.words) == 12
    pieces = list(model.stream("JULIET:", words=12, stop=False))
    assert "JULIET:" + "".join(pieces) == long
    assert all(len(p.lstrip()) == 1 for p in pieces)  # a character at a time, white space before it
    assert [c for c, _ in model.next_words("ROMEO:", k=1)] == ["\n"]


def test_model_directory_reloads_and_the_cli_completes(romeo):
    model, model_dir, corpus = romeo
    assert json.loads((model_dir / "config.json").read_text())["text"]["tokenizer"] == "char"
    back = load(model_dir)
    assert tk.is_char(back.tokenizer) and back.complete("ROMEO:") == model.complete("ROMEO:")
    result = run(["complete", "ROMEO:", "--model", str(model_dir), "--no-stream"])
    assert result.exit_code == 0, result.output
    assert result.stdout == model.complete("ROMEO:") + "\n"
    result = run(["evaluate", "--model", str(model_dir), "--corpus", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / math.log(2))
    table = run(["evaluate", "--model", str(model_dir), "--corpus", str(corpus)]).output
    assert "bits per character" in table and "next-character accuracy" in table and "word" not in table


def test_cli_trains_a_char_model_and_completes_romeo(tmp_path):
    corpus = tmp_path / "romeo.txt"
    corpus.write_text(SPEECHES * 10, encoding="utf-8")
    out = tmp_path / "model"
    result = run(["train", "--corpus", str(corpus), "--tokenizer", "char", "--mode", "stream", "--epochs", "2",
                  "--embed", "8", "--hidden", "16", "--bptt", "16", "--out", str(out), "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "bits per character" in result.output
    result = run(["complete", "ROMEO:", "--model", str(out), "--no-stream", "--no-stop", "--words", "5"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ROMEO:") and result.stdout == load(out).complete(
        "ROMEO:", words=5, stop=False) + "\n"


def test_shipped_char_config_trains_as_written(tmp_path):
    """Every key of configs/shakespeare-char.toml is read; only size and data are overridden here."""
    from seqtext.optionfiles import read_options_file

    config = Path(__file__).resolve().parents[1] / "configs" / "shakespeare-char.toml"
    corpus = tmp_path / "romeo.txt"
    corpus.write_text(SPEECHES * 10, encoding="utf-8")
    out = tmp_path / "m"
    result = run(["train", "--config", str(config), "--corpus", str(corpus), "--out", str(out), "--epochs", "1",
                  "--hidden", "8", "--embed", "8", "--batch-size", "4", "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    settings = load(out).settings.flat()
    for key, value in read_options_file(config).items():
        if key not in ("corpus", "out", "epochs", "hidden", "embed", "batch_size"):
            assert settings[key] == value, key


def test_exported_char_model_completes_as_torch(romeo, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load as load_export

    model, model_dir, _ = romeo
    onnx = load_export(export(model_dir, tmp_path / "onnx"))
    for prompt in ("ROMEO:", "JULIET:\nO Rom", "It is"):
        assert onnx.complete(prompt, words=15, stop=False) == model.complete(prompt, words=15, stop=False)
        assert "".join(onnx.stream(prompt)) == "".join(model.stream(prompt))
    eos = model.tokenizer.token_to_id(tk.EOS)  # repetition control, when asked for, leaves the line's end free
    frees = free_tokens_of_continuations(monkeypatch, lambda: [
        "".join(m.stream("ROMEO:", words=10, stop=False, no_repeat_ngram=3)) for m in (model, onnx)])
    assert frees == [{eos}] * 2
    with pytest.raises(DataError, match="cannot fill"):
        onnx.complete("the ___ is")


def test_a_served_char_model_lists_its_real_vocabulary_and_answers_in_characters(romeo, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from seqtext.export.onnx import export
    from seqtext.export.registry import Registry, parse_models
    from seqtext.export.serve import create_app

    model, model_dir, _ = romeo
    registry = Registry(parse_models([f"torch={model_dir}", f"onnx={export(model_dir, tmp_path / 'onnx')}"]))
    with TestClient(create_app(registry, load_now=False)) as client:
        registry.load_all()
        listed = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
        for name in ("torch", "onnx"):
            text = listed[name]["settings"]["text"]
            assert text["tokenizer"] == "char" and "vocab_size" not in text and "split_punctuation" not in text
            assert listed[name]["vocabulary"] == model.tokenizer.get_vocab_size() < 100  # characters, not 8,000
            words = client.post("/v1/next-words", json={"model": name, "prompt": "ROMEO", "k": 3}).json()["words"]
            assert [w["word"] for w in words] == [w for w, _ in model.next_words("ROMEO", 3)]
            assert all(len(w["word"]) == 1 for w in words)



def test_score_gives_a_character_models_bits_per_character(romeo):
    model, model_dir, _ = romeo
    result = CliRunner().invoke(cli, ["score", "--model", str(model_dir), "ROMEO: But soft"])
    assert result.exit_code == 0, result.output
    record = model.score(["ROMEO: But soft"])[0]
    summary = result.stderr.strip().splitlines()[-1]
    assert summary == (f"1 sentence, {record['tokens']} characters: perplexity {record['perplexity']:.3f}, "
                       f"{math.log2(record['perplexity']):.4f} bits per character")
    assert record["tokens"] == len("ROMEO: But soft") + 1  # each character and the line's end


# ------------------------------------------------------------------ bad input


def test_vocab_size_is_refused_with_char(tmp_path):
    with pytest.raises(ConfigError, match="vocab_size does not apply to tokenizer char"):
        TextModel(tokenizer="char", vocab_size=100)
    corpus = tmp_path / "c.txt"
    corpus.write_text(SPEECHES, encoding="utf-8")
    for size in ("100", "8000"):  # even the default, when typed
        result = run(["train", "--corpus", str(corpus), "--tokenizer", "char", "--vocab-size", size,
                      "--out", str(tmp_path / "m")])
        assert_clean_failure(result, "--vocab-size does not apply to --tokenizer char", code=2)
        assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("prompt", ["the ___ is", "ROMEO: ___", "___"])
def test_a_blank_is_refused_by_a_char_model(romeo, prompt):
    model, model_dir, _ = romeo
    for call in (model.complete, model.next_words, lambda p: list(model.stream(p))):
        with pytest.raises(DataError, match="cannot fill a ___ blank"):
            call(prompt)
    result = run(["complete", prompt, "--model", str(model_dir)])
    assert_clean_failure(result, "character model", "drop the blank", code=1)


def test_suggest_is_refused_by_a_char_model(romeo):
    model, model_dir, _ = romeo
    with pytest.raises(DataError) as caught:
        model.suggest("Rom")
    assert str(caught.value).endswith("a character model has none; use TextModel.complete to continue the text a "
                                      "character at a time.")  # in Python, the method; no command
    result = CliRunner().invoke(cli, ["suggest", "--model", str(model_dir)], input="Rom\n")
    assert_clean_failure(result, "a character model has none; use `seqtext complete` to continue the text", code=1)

"""Stream mode's data layer: cached token streams, parallel streams, BPTT windows, mode detection."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtext.text import corpus as cp
from seqtext.text import stream as sm
from seqtext.text import tokenizer as tk
from seqtext.text.corpus import MAX_LINE_CHARS
from seqtext.errors import ConfigError, DataError

from conftest import CORPORA
LINES = [
    "the cat sat on the mat.",
    "the dog ran to the cat, and the cat ran away.",
    "a bird sang in the tree.",
]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own token cache, never the user's."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SEQTEXT_CACHE", str(folder))
    return folder / "streams"


@pytest.fixture(scope="module")
def tok():
    return tk.train_tokenizer(LINES)


def write(path: Path, lines) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def encoded(tok, line: str) -> list[int]:
    return tok.encode(line, add_special_tokens=False).ids


class Counting:
    """A tokenizer stand-in that counts (or forbids) batch encoding."""

    def __init__(self, tok, fail: bool = False):
        self.tok, self.fail, self.calls = tok, fail, 0

    def __getattr__(self, name):
        return getattr(self.tok, name)

    def encode_batch_fast(self, lines, add_special_tokens=False):
        self.calls += 1
        if self.fail:
            raise AssertionError("the corpus was tokenised again instead of read from the cache")
        return self.tok.encode_batch_fast(lines, add_special_tokens=add_special_tokens)

    encode_batch = encode_batch_fast


# ----------------------------------------------------------------- encode_corpus


def test_eos_follows_every_line_and_files_keep_their_order(tmp_path, tok, cache):
    a = write(tmp_path / "a.txt", [LINES[0], "", "   ", LINES[1]])  # blank lines carry no </s>
    b = write(tmp_path / "b.txt", [LINES[2]])
    stream = sm.encode_corpus([a, b], tok)
    eos = tok.token_to_id(tk.EOS)
    want = [i for line in LINES for i in (*encoded(tok, line), eos)]
    assert stream.ids.tolist() == want
    assert len(stream) == len(want)
    assert stream.eos_id == eos and stream.files == (a, b)
    assert isinstance(stream.ids, np.memmap) and stream.path.parent == cache


def test_without_eos_lines_simply_follow_each_other(tmp_path, tok):
    corpus = write(tmp_path / "c.txt", LINES)
    stream = sm.encode_corpus(corpus, tok, eos=False)
    assert stream.ids.tolist() == [i for line in LINES for i in encoded(tok, line)]
    assert stream.eos_id is None


def test_small_chunks_give_the_same_ids(tmp_path, tok):
    corpus = write(tmp_path / "c.txt", LINES * 5)
    whole = sm.encode_corpus(corpus, tok, cache_dir=tmp_path / "one").ids.tolist()
    assert sm.encode_corpus(corpus, tok, cache_dir=tmp_path / "two", chunk_lines=2).ids.tolist() == whole


def test_an_over_long_line_is_encoded_whole_with_one_eos(tmp_path, tok):
    long_line = " ".join(["the cat sat on the mat ."] * (MAX_LINE_CHARS // 10))
    assert len(long_line) > MAX_LINE_CHARS
    stream = sm.encode_corpus(write(tmp_path / "long.txt", [long_line]), tok)
    assert stream.ids.tolist() == encoded(tok, long_line) + [tok.token_to_id(tk.EOS)]


def test_a_chunk_may_end_inside_an_over_long_line(tmp_path, tok, monkeypatch):
    long_line = " ".join(["the dog ran ."] * (MAX_LINE_CHARS // 4))  # several pieces of at most MAX_LINE_CHARS
    corpus = write(tmp_path / "c.txt", [LINES[0], long_line, LINES[1]])
    whole = sm.encode_corpus(corpus, tok, cache_dir=tmp_path / "one").ids.tolist()
    monkeypatch.setattr(sm, "_CHUNK_CHARS", 100)  # flush after every piece
    assert sm.encode_corpus(corpus, tok, cache_dir=tmp_path / "two", chunk_lines=1).ids.tolist() == whole
    eos = tok.token_to_id(tk.EOS)
    assert whole.count(eos) == 3 and whole[-1] == eos


def test_literal_unk_in_the_text_is_the_unknown_token(tmp_path, tok):
    stream = sm.encode_corpus(write(tmp_path / "u.txt", ["the <unk> sat"]), tok)
    unk = tok.token_to_id(tk.UNK)
    assert stream.ids.tolist() == [tok.token_to_id("the"), unk, tok.token_to_id("sat"), tok.token_to_id(tk.EOS)]


def test_ids_are_uint16_for_small_vocabularies(tmp_path, tok):
    assert sm.encode_corpus(write(tmp_path / "c.txt", LINES), tok).ids.dtype == np.uint16


def test_ids_are_uint32_from_65536_words(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {t: i for i, t in enumerate(tk.SPECIALS)}
    vocab.update({f"w{i}": len(tk.SPECIALS) + i for i in range(70_000)})
    big = Tokenizer(models.WordLevel(vocab, unk_token=tk.UNK))
    big.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    stream = sm.encode_corpus(write(tmp_path / "c.txt", ["w0 w69999", "w65535"]), big)
    assert stream.ids.dtype == np.uint32
    assert stream.ids.tolist() == [4, 70_003, 3, 65_539, 3]


def test_second_call_reads_the_cache_without_tokenising(tmp_path, tok, cache):
    corpus = write(tmp_path / "c.txt", LINES)
    counting = Counting(tok)
    first = sm.encode_corpus(corpus, counting)
    assert counting.calls == 1 and not first.from_cache
    mtime = first.path.stat().st_mtime_ns
    second = sm.encode_corpus(corpus, Counting(tok, fail=True))
    assert second.from_cache and second.path == first.path
    assert second.path.stat().st_mtime_ns == mtime
    assert second.ids.tolist() == first.ids.tolist()
    assert [p.name for p in cache.iterdir()] == [first.path.name]  # no temporary files left behind


def test_editing_the_corpus_invalidates_the_cache(tmp_path, tok):
    corpus = write(tmp_path / "c.txt", LINES)
    first = sm.encode_corpus(corpus, tok)
    before = corpus.stat()
    write(corpus, [LINES[2], LINES[1], LINES[0]])  # same size, other content
    os.utime(corpus, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    second = sm.encode_corpus(corpus, tok)
    assert not second.from_cache and second.path != first.path
    assert second.ids.tolist()[: len(encoded(tok, LINES[2]))] == encoded(tok, LINES[2])


def test_another_tokenizer_or_eos_setting_gets_its_own_file(tmp_path, tok):
    corpus = write(tmp_path / "c.txt", LINES)
    paths = {
        sm.encode_corpus(corpus, tok).path,
        sm.encode_corpus(corpus, tok, eos=False).path,
        sm.encode_corpus(corpus, tk.train_tokenizer(LINES, kind="bpe", vocab_size=60)).path,
    }
    assert len(paths) == 3


def test_a_damaged_cache_file_is_rebuilt(tmp_path, tok):
    corpus = write(tmp_path / "c.txt", LINES)
    first = sm.encode_corpus(corpus, tok)
    want = first.ids.tolist()
    del first
    path = sm.encode_corpus(corpus, tok).path
    path.write_bytes(b"not an npy file")
    again = sm.encode_corpus(corpus, tok)
    assert not again.from_cache and again.ids.tolist() == want


def test_cache_location_follows_the_argument_then_the_environment(tmp_path, tok, monkeypatch):
    corpus = write(tmp_path / "c.txt", LINES)
    assert sm.encode_corpus(corpus, tok, cache_dir=tmp_path / "here").path.parent == tmp_path / "here"
    monkeypatch.delenv("SEQTEXT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sm.default_cache_dir() == tmp_path / "xdg" / "seqtext" / "streams"


def test_missing_empty_and_blank_corpora_are_data_errors(tmp_path, tok, cache):
    with pytest.raises(DataError, match="does not exist"):
        sm.encode_corpus(tmp_path / "nope.txt", tok)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="no text"):
        sm.encode_corpus(tmp_path / "empty.txt", tok)
    (tmp_path / "blank.txt").write_text("\n   \n\t\n")
    with pytest.raises(DataError, match="no text"):
        sm.encode_corpus(tmp_path / "blank.txt", tok)
    assert list(cache.iterdir()) == []  # the failed runs left no temporary files


def test_a_tokenizer_without_eos_is_refused(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    bare = Tokenizer(models.WordLevel({"<unk>": 0, "the": 1}, unk_token="<unk>"))
    bare.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    with pytest.raises(ConfigError, match="</s>"):
        sm.encode_corpus(write(tmp_path / "c.txt", LINES), bare)
    assert sm.encode_corpus(tmp_path / "c.txt", bare, eos=False).ids.tolist()[:1] == [1]


def test_iter_lines_trains_a_tokenizer_from_a_generator(tmp_path):
    corpus = write(tmp_path / "c.txt", ["", *LINES, "  "])
    lines = cp.iter_lines(corpus)
    assert not isinstance(lines, list)
    tok = tk.train_tokenizer(lines)
    assert tok.get_vocab() == tk.train_tokenizer(LINES).get_vocab()


# ---------------------------------------------------------------------- batchify


def test_batchify_lays_out_contiguous_streams_and_drops_the_tail():
    ids = np.arange(23, dtype=np.uint16)  # (23,)
    streams = sm.batchify(ids, 4)  # (4, 5): 3 trailing tokens dropped
    assert streams.shape == (4, 5)
    assert streams.tolist() == [list(range(b * 5, b * 5 + 5)) for b in range(4)]
    assert np.shares_memory(streams, ids) and streams.dtype == np.uint16  # a view, not a copy


def test_batchify_accepts_tensors_and_token_streams(tmp_path, tok):
    t = torch.arange(10)
    streams = sm.batchify(t, 3)  # (3, 3)
    assert streams.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert streams.data_ptr() == t.data_ptr()
    stream = sm.encode_corpus(write(tmp_path / "c.txt", LINES), tok)
    n = len(stream) // 2
    assert sm.batchify(stream, 2).tolist() == [stream.ids[:n].tolist(), stream.ids[n : 2 * n].tolist()]


def test_scoring_rows_share_their_boundaries_and_keep_the_tail():
    ids = np.arange(23, dtype=np.uint16)  # 22 targets: 4 rows of 5, then a tail of 2
    rows, tail = sm.scoring_rows(ids, 4)
    assert rows.tolist() == [list(range(b * 5, b * 5 + 6)) for b in range(4)]  # (4, 6): each ends where the next starts
    assert tail.tolist() == [20, 21, 22]
    assert np.shares_memory(rows, ids) and rows.dtype == np.uint16  # a view, as batchify's
    targets = [t for row in rows.tolist() for t in row[1:]] + tail.tolist()[1:]
    assert targets == list(range(1, 23))  # every token after the first, once
    rows, tail = sm.scoring_rows(torch.arange(10), 3)  # 9 targets: 3 rows of 3, no tail
    assert rows.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]] and tail.tolist() == [9]
    with pytest.raises(DataError, match="too few to score"):
        sm.scoring_rows(np.arange(4), 4)
    with pytest.raises(DataError, match="1-D token stream"):
        sm.scoring_rows(np.arange(12).reshape(3, 4), 2)


def test_batchify_refuses_bad_sizes():
    with pytest.raises(DataError, match="too few"):
        sm.batchify(np.arange(7), 4)  # 1 token per stream gives no (input, target) pair
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match="batch_size"):
            sm.batchify(np.arange(10), bad)
    with pytest.raises(DataError, match="1-D"):
        sm.batchify(np.zeros((2, 5)), 2)


# ------------------------------------------------------------------ bptt_windows


def test_windows_are_shifted_pairs_and_the_last_is_shorter():
    streams = sm.batchify(np.arange(44, dtype=np.uint16), 4)  # (4, 11)
    windows = list(sm.bptt_windows(streams, 3))
    assert [x.shape for x, _ in windows] == [(4, 3), (4, 3), (4, 3), (4, 1)]
    assert sm.count_windows(streams, 3) == 4
    for x, y in windows:
        assert x.dtype == y.dtype == torch.long
        assert torch.equal(y, x + 1)  # the stream is 0, 1, 2, ... so the next token is x + 1
        assert x.is_contiguous() and y.is_contiguous()


def test_consecutive_windows_continue_each_stream(tmp_path, tok):
    stream = sm.encode_corpus(write(tmp_path / "c.txt", LINES * 3), tok)
    streams = sm.batchify(stream, 3)  # (3, N)
    windows = list(sm.bptt_windows(streams, 4))
    xs = torch.cat([x for x, _ in windows], dim=1)  # (B, N - 1)
    ys = torch.cat([y for _, y in windows], dim=1)  # (B, N - 1)
    full = torch.from_numpy(streams.astype(np.int64))  # (B, N)
    assert torch.equal(xs, full[:, :-1]) and torch.equal(ys, full[:, 1:])


def test_start_skips_windows_already_done():
    streams = sm.batchify(np.arange(60), 3)  # (3, 20): 19 steps -> windows of 5, 5, 5, 4
    every = list(sm.bptt_windows(streams, 5))
    rest = list(sm.bptt_windows(streams, 5, start=2))
    assert len(every) == 4 and len(rest) == 2
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(every[2:], rest))
    assert list(sm.bptt_windows(streams, 5, start=4)) == []
    with pytest.raises(ConfigError, match="only 4 windows"):
        sm.bptt_windows(streams, 5, start=5)
    for bad in (-1, 1.5):
        with pytest.raises(ConfigError, match="start"):
            sm.bptt_windows(streams, 5, start=bad)
    with pytest.raises(ConfigError, match="bptt"):
        sm.bptt_windows(streams, 0)


def test_shuffle_reorders_whole_windows_reproducibly():
    streams = sm.batchify(np.arange(200), 2)  # (2, 100)
    plain = [x[0, 0].item() for x, _ in sm.bptt_windows(streams, 7)]
    mixed = [x[0, 0].item() for x, _ in sm.bptt_windows(streams, 7, shuffle=True,
                                                       generator=torch.Generator().manual_seed(0))]
    again = [x[0, 0].item() for x, _ in sm.bptt_windows(streams, 7, shuffle=True,
                                                       generator=torch.Generator().manual_seed(0))]
    assert sorted(mixed) == plain and mixed != plain and mixed == again


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), b=st.integers(1, 8), bptt=st.integers(1, 40))
def test_windows_cover_every_stream_exactly_once(n, b, bptt):
    if n // b < 2:
        return
    ids = np.arange(n, dtype=np.uint32)  # (n,)
    streams = sm.batchify(ids, b)  # (B, N)
    assert streams.shape == (b, n // b)
    windows = list(sm.bptt_windows(streams, bptt))
    assert len(windows) == sm.count_windows(streams, bptt)
    assert all(0 < x.shape[1] <= bptt for x, _ in windows)
    xs = torch.cat([x for x, _ in windows], dim=1)  # (B, N - 1)
    last = torch.cat([xs, windows[-1][1][:, -1:]], dim=1)  # (B, N)
    assert last.tolist() == streams.tolist()


# ------------------------------------------------------------------- detect_mode


def test_short_sentences_are_sentence_mode(tmp_path):
    assert cp.detect_mode(write(tmp_path / "s.txt", LINES * 100)) == "sentence"
    assert cp.detect_mode(CORPORA / "pronouns.txt") == "sentence"


def test_a_large_corpus_is_stream_mode(tmp_path):
    words = ["the", "market", "rose", "as", "investors", "bought", "shares", "of", "banks", "."]
    rng = np.random.default_rng(0)
    line = lambda: " ".join(rng.choice(words, 20))  # noqa: E731
    big = write(tmp_path / "big.txt", [line() for _ in range(cp.STREAM_MIN_BYTES // 100)])
    assert big.stat().st_size >= cp.STREAM_MIN_BYTES
    assert cp.detect_mode(big) == "stream"
    assert cp.detect_mode(tmp_path) == "stream"  # a directory counts its .txt files together


def test_paragraph_lines_are_stream_mode_even_when_small(tmp_path):
    paragraph = " ".join(LINES * 10)
    assert len(paragraph) >= cp.STREAM_MIN_LINE_CHARS
    assert cp.detect_mode(write(tmp_path / "p.txt", [paragraph] * 5)) == "stream"


def test_detect_mode_refuses_a_missing_corpus(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        cp.detect_mode(tmp_path / "nope.txt")


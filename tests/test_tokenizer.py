import pytest

from seqtext.text import tokenizer as tk
from seqtext.errors import CheckpointError, DataError

from conftest import CORPORA

LINES = [
    "Mary rides the bicycle, the bicycle is hers.",
    "John and Mary ride the car, the car is theirs.",
    "I ride the car every day, the car is mine.",
]


def test_word_pipeline_normalises_and_splits_punctuation():
    tok = tk.train_tokenizer(LINES)
    enc = tok.encode("MARY rides the bicycle,the bicycle is HERS.", add_special_tokens=False)
    assert enc.tokens == ["mary", "rides", "the", "bicycle", ",", "the", "bicycle", "is", "hers", "."]
    # NFKC folds compatibility forms (full-width letters) before lower-casing
    assert tok.encode("ＭＡＲＹ", add_special_tokens=False).tokens == ["mary"]


def test_specials_come_first_and_unknown_maps_to_unk():
    tok = tk.train_tokenizer(LINES)
    assert [tok.id_to_token(i) for i in range(4)] == tk.SPECIALS
    enc = tok.encode("Zelda rides", add_special_tokens=False)
    assert enc.ids[0] == tok.token_to_id(tk.UNK)
    assert tk.unknown_words(tok, "Zelda rides the Zeppelin") == ["Zelda", "Zeppelin"]


def test_min_frequency_drops_rare_words():
    tok = tk.train_tokenizer(LINES, min_frequency=2)
    vocab = tok.get_vocab()
    assert "the" in vocab and "bicycle" in vocab
    assert "hers" not in vocab  # seen once


def test_round_trip_through_file(tmp_path):
    tok = tk.train_tokenizer(LINES)
    tk.save_tokenizer(tok, tmp_path / "tokenizer.json")
    back = tk.load_tokenizer(tmp_path / "tokenizer.json")
    for line in LINES:
        assert back.encode(line).ids == tok.encode(line).ids
    text = "mary rides the bicycle, the bicycle is hers."
    words = back.encode(text, add_special_tokens=False).tokens
    assert tk.join_words(words) == text.capitalize()
    assert tk.join_words(words, after="Yes: ") == text


def test_bpe_marks_word_ends_and_decodes():
    tok = tk.train_tokenizer(LINES * 5, kind="bpe", vocab_size=60)
    assert tk.is_bpe(tok)
    enc = tok.encode("the bicycle is hers.", add_special_tokens=False)
    ends = [tk.token_ends_word(tok, t) for t in enc.tokens]
    assert ends[-1] and sum(ends) == 5  # the, bicycle, is, hers, .
    assert tok.decode(enc.ids) == "the bicycle is hers ."
    # a word with characters the pieces lack is named whole, as the user wrote it, not as its unknown pieces
    assert tk.unknown_words(tok, "the zxqv bicycle, qqq! is hers") == ["zxqv", "qqq", "!"]


def test_a_bpe_vocabulary_too_small_for_the_characters_is_warned_of():
    import warnings

    from seqtext.errors import SeqtextWarning

    with pytest.warns(SeqtextWarning, match=r"vocab_size 8 is fewer tokens than the text's characters need: the BPE "
                                            r"vocabulary holds (\d+) \(the specials, each character, and no merges\)") \
            as caught:
        tok = tk.train_tokenizer(LINES, kind="bpe", vocab_size=8)
    assert tok.get_vocab_size() > 8
    assert f"holds {tok.get_vocab_size()} (" in str(caught[0].message)  # the size it says is the one it has
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tk.train_tokenizer(LINES, kind="bpe", vocab_size=60)  # room for merges: no warning


def test_join_words_spacing_and_capitals():
    assert tk.join_words(["hers", "."], after="the bicycle is ") == "hers."
    assert tk.join_words(["hers", "."], after="the bicycle is") == " hers."
    assert tk.join_words(["(", "red", ")", ",", "i", "see"], after="a") == " (red), I see"
    assert tk.join_words(["the", "end"], after="Done.") == " The end"


def test_empty_corpus_and_bad_file(tmp_path):
    with pytest.raises(DataError):
        tk.train_tokenizer(["", "   "])
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(CheckpointError, match="tokenizer.json"):
        tk.load_tokenizer(bad)


def test_special_strings_in_the_corpus_do_not_become_words():
    tok = tk.train_tokenizer(["the <unk> rose", "a <unk> fell </s>"])
    vocab = tok.get_vocab()
    assert "<" not in vocab and "unk" not in vocab and ">" not in vocab
    assert tok.encode("the <unk> rose", add_special_tokens=False).ids[1] == tok.token_to_id(tk.UNK)


def test_white_space_only_for_pre_tokenised_text():
    tok = tk.train_tokenizer(["mr. smith 's car", "the car ."], split_punctuation=False)
    assert tok.encode("mr. smith 's car", add_special_tokens=False).tokens == ["mr.", "smith", "'s", "car"]


def test_a_min_frequency_above_every_count_is_named():
    with pytest.raises(DataError, match=r"no word of the corpus is seen 3 times or more .*lower min_frequency"):
        tk.train_tokenizer(["the cat", "the dog"], min_frequency=3)
    with pytest.raises(DataError, match=r"no character of the corpus is seen 9 times"):
        tk.train_tokenizer(["the cat"], kind="char", min_frequency=9)
    with pytest.raises(DataError, match="the corpus has no words to learn a vocabulary from"):
        tk.train_tokenizer(["", "   "])  # nothing at all: nothing to lower


def test_a_bpe_vocabulary_has_the_same_ids_in_every_process(tmp_path):
    """The trainer orders equally frequent characters by a per-process hash: the ids are put in a fixed order
    (specials, alphabet, merges), so the same corpus and seed give the same ids and so the same weights (where
    no two merges tie in count, as in this corpus at 300: a tie is broken by the same hash, out of reach)."""
    import subprocess
    import sys

    script = ("import sys; from seqtext.text import tokenizer as tk; "
              "lines = open(sys.argv[1], encoding='utf-8').read().splitlines(); "
              "print(tk.train_tokenizer(lines, 'bpe', 300, 1, True).to_str())")
    corpus = CORPORA / "pronouns.txt"
    runs = [subprocess.run([sys.executable, "-c", script, str(corpus)], capture_output=True, text=True, timeout=120,
                           check=True).stdout for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(runs[0])
    assert [tok.id_to_token(i) for i in range(4)] == tk.SPECIALS
    encoded = tok.encode("Mary rides the bicycle, the bicycle is hers.")
    assert tk.UNK not in encoded.tokens and [tok.id_to_token(i) for i in encoded.ids] == encoded.tokens

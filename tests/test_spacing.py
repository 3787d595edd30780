"""Generated tokens are written back the way text is written: a round trip through the tokenizer."""

import pytest

from seqtext.text import tokenizer as tk
from seqtext.text.spacing import Spacer, join_words

SENTENCES = [
    'He said "kiss you" is a song recorded by the band.',
    "The song's title isn't known (yet), but it's well-known.",
    "It cost $3.5 million, or 1,000 dollars a person in 2005, 3 years ago.",
    "The students' books were 20% cheaper; they bought 3/4 of them.",
    'Do you know [this]? Yes! "Kiss you" is "a song."',
    "She said: 'no.' Then she left...",
    "We don't know; I think it's 10.5 or 11.",
]


def pieces(text: str) -> list[str]:
    """The tokens the word-level pipeline makes of ``text`` (lower-cased, punctuation split off)."""
    from tokenizers import models

    pipeline = tk._pipeline(models.WordLevel(unk_token=tk.UNK))
    return [piece for piece, _ in pipeline.pre_tokenizer.pre_tokenize_str(pipeline.normalizer.normalize_str(text))]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_tokenise_then_join_gives_back_the_original_spacing(sentence):
    assert join_words(pieces(sentence)) == sentence


def test_the_whole_paragraph_round_trips():
    paragraph = " ".join(SENTENCES)
    assert join_words(pieces(paragraph)) == paragraph


def test_ptb_style_tokens_join_as_prose():
    assert join_words("the company 's chief said they do n't know .".split()) == \
        "The company's chief said they don't know."


def test_quote_parity_is_read_from_the_prompt():
    assert join_words(['"', "and", "so"], after='He said "hi') == '" and so'
    assert join_words(['"', "hi", '"'], after="He said") == ' "hi"'


@pytest.mark.parametrize("after,words,text", [
    ('Eve said "', ["hello", "there", '"', "to", "me", "."], 'Eve said "hello there" to me.'),
    ("the well-", ["known", "club"], "the well-known club"),
    ("costs 3.", ["5", "dollars"], "costs 3.5 dollars"),
    ("costs 3.", ["the", "end"], "costs 3. The end"),
    ("the song'", ["s", "end"], "the song's end"),
    ("the singers'", ["song"], "the singers' song"),
    ('"hi" ', ["said", "eve"], '"hi" said eve'),
])
def test_a_prompt_that_stops_inside_a_word_is_carried_on(after, words, text):
    """Where the prompt meets the generated words: an open quote, a hyphen, a digit's point or an apostrophe at
    its very end joins the next word as it would inside generated text."""
    assert after + join_words(words, after=after) == text


def test_words_come_one_piece_at_a_time():
    spacer = Spacer("the bicycle is")
    assert [spacer.piece(w) for w in ["hers", ".", "it", "is", '"', "red", '"', "."]] == \
        [" hers", ".", " It", " is", ' "', "red", '"', "."]


def test_generated_text_from_a_model_trained_on_quotes_is_readable(tmp_path):
    from seqtext import TextModel

    lines = ['"kiss you" is a song recorded by the band.', "the song's title is \"kiss you\".",
             "\"kiss you\" is the band's song."] * 30
    model = TextModel(embed=16, hidden=48, epochs=60, patience=60, lr=5e-3, batch_size=8, seed=0,
                      embed_dropout=0.0, output_dropout=0.0, device="cpu", valid_fraction=0.0).fit(lines)
    out = str(model.complete('"kiss', words=12))
    assert out.startswith('"kiss you" is'), out  # the prompt is kept as typed
    assert '" "' not in out and '""' not in out and " ' s" not in out and "' s" not in out
    assert out.count('"') % 2 == 0, out


def test_a_decimal_point_does_not_end_the_continuation(tmp_path):
    """3 . 5 is one number: generation holds a "." after digits open until the next word shows whether it was a
    decimal point (digits follow) or the sentence's end; torch and the export alike."""
    from seqtext import TextModel
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    lines = ["the red song costs 3.5 dollars today.", "the blue song costs 7 dollars. it is old."] * 30
    model = TextModel(embed=16, hidden=48, epochs=60, patience=60, lr=5e-3, batch_size=8, seed=0,
                      embed_dropout=0.0, output_dropout=0.0, device="cpu", valid_fraction=0.0).fit(lines)
    assert str(model.complete("the red song", words=12)) == "the red song costs 3.5 dollars today."
    assert str(model.complete("the blue song", words=12)) == "the blue song costs 7 dollars."  # a real end
    runtime = load(export(model.save(tmp_path / "m"), tmp_path / "onnx"))
    assert str(runtime.complete("the red song", words=12)) == "the red song costs 3.5 dollars today."
    assert "".join(model.stream("the red song", words=12)) == " costs 3.5 dollars today."

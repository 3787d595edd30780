"""Generated tokens are written back the way text is written: a round trip through the tokenizer."""

import pytest

from seqtext.text import tokenizer as tk
from seqtext.text.spacing import Spacer, join_words, spaced

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



@pytest.mark.parametrize("words,text", [
    (["he", "said", "'", "hello", "'", "and", "left", "."], "He said 'hello' and left."),
    (["hang", "'", "em", "!"], "Hang 'em!"),
    (["and", "'", "tis", "true", ",", "as", "'", "twere", "."], "And 'tis true, as 'twere."),
    (["'", "tis", "so"], "'Tis so"),
    (["they", "ne", "'", "er", "cared", ",", "thou", "go", "'", "st", "o", "'", "er", "it"],
     "They ne'er cared, thou go'st o'er it"),
    (["o", "'", "erwhelm", "'", "d", "i", "'", "the", "neck"], "O'erwhelm'd I' the neck"),
    (["the", "singers", "'", "song", "and", "clarence", "'", "death"], "The singers' song and clarence' death"),
    (["it", "is", "the", "singers", "'"], "It is the singers'"),
])
def test_an_apostrophe_after_a_word_goes_where_the_next_word_shows(words, text):
    """A quote opened after a word, an elision ('em, 'tis) and an archaic word cut by the pre-tokenizer (ne'er) are
    written as typed; possessives and contractions stay as they were."""
    assert join_words(words) == text


def test_a_held_apostrophe_streams_with_the_next_word_and_none_is_lost():
    """Streamed pieces are never empty and each is one token's text: the apostrophe comes when the word after it
    has placed it (just before that word), or last."""
    assert list(spaced(["hang", "'", "em", "!"])) == ["Hang", " '", "em", "!"]
    assert list(spaced(["the", "song", "'", "s"], after="I like")) == [" the", " song", "'", "s"]
    assert list(spaced(["the", "singers", "'", "song"])) == ["The", " singers", "'", " song"]
    assert list(spaced(["'"], after="the singers")) == ["'"]
    assert list(spaced(["'", "s", "end"], after="the song")) == ["'", "s", " end"]


def test_a_dash_of_two_hyphens_is_written_solid():
    assert join_words(["she", "said", "-", "-", "no"]) == "She said--no"
    assert join_words(["the", "body", ",", "-", "-"]) == "The body,--"
    assert join_words(["is", "it", "?", "-", "-", "coriolanus", "must"]) == "Is it?--Coriolanus must"
    assert join_words(["a", "well", "-", "known", "club"]) == "A well-known club"  # one hyphen as before


def test_a_line_break_starts_a_sentence():
    """</s> is written as a line break in a continuation; the next line starts with a capital, as after "."."""
    assert join_words(["he", "left", "\n", "she", "stayed"]) == "He left\nShe stayed"
    assert join_words(["she", "stayed"], after="He left\n") == "She stayed"
    assert join_words(["he", "left", "\n", "i", "stayed"], after="") == "He left\nI stayed"


def test_a_point_after_digits_that_is_no_decimal_point_ends_the_sentence():
    assert join_words(["it", "costs", "3", ".", "the", "end"]) == "It costs 3. The end"
    assert join_words(["it", "costs", "3", ".", "5", "now"]) == "It costs 3.5 now"


@pytest.mark.parametrize("after,words,text", [
    ("the singers", ["'", "song"], "the singers' song"),
    ("the song", ["'", "s", "end"], "the song's end"),
    ("the well", ["-", "known"], "the well-known"),
    ("it costs 3", [".", "5"], "it costs 3.5"),
    ("x.", ["-", "-", "y"], "x.--Y"),  # the prompt's closing punctuation takes a dash as a generated one would
    ("he said '", ["hello", "'", "and", "left"], "he said 'hello' and left"),  # a quote the prompt opened
    ("he said ' hello '", ["and", "left"], "he said ' hello ' and left"),  # ... and one it closed
    ("the dogs '", ["bone"], "the dogs ' bone"),  # PTB's plural possessive, not a quote
])
def test_the_prompts_last_word_takes_an_apostrophe_hyphen_or_point_as_a_generated_one_would(after, words, text):
    assert after + join_words(words, after=after) == text


def test_tiny_shakespeare_lines_round_trip():
    """Lines that mixed all the cases above, from the first 60 kB of Tiny Shakespeare (case aside: it is lost)."""
    for line in ["which now we'll show 'em in deeds. They say poor", "Which ne'er came from the lungs, but even thus--",
                 "As well as speak--it tauntingly replied", "Who is the sink o' the body,--",
                 "Whither 'tis bent: most likely 'tis for you:", "An o'er-press'd Roman and i' the consul's view"]:
        assert join_words(pieces(line)).lower() == line.lower()

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


def test_names_are_recorded_in_the_form_the_text_writes_them_where_no_sentence_starts():
    from seqtext.text import tokenizer as tk
    from seqtext.text.casing import surface_forms

    lines = ["Harry and Ben ride the bus.", "They said Ben drives. Harry waves.", "The bus is Ben's.",
             "On Saturday we ride.", "Apple pie. We like apple pie and apple juice.", "I think I like it.",
             "Harry and Harry and Harry."]
    tok = tk.train_tokenizer(lines)
    forms = surface_forms(lines, tok)
    # Ben: three times where no sentence starts; Harry: twice (after "and"; "Harry waves" follows a sentence end,
    # not counted); Saturday and the second I once each (too few); apple lower-cased where no sentence starts
    assert forms == {"ben": "Ben", "harry": "Harry"}
    assert surface_forms([line.lower() for line in lines], tok) == {}  # a text without capitals records nothing
    # what says nothing of a word's usual form: one letter (PTB's N, the n of n't), a heading in capitals, a word
    # after an opening quote or a colon; an acronym only when short and never written lower-cased
    others = ["they do n't know N . they do n't .", "KING RICHARD II:", "KING RICHARD II:", 'he said "The cat" .',
              'they said "The dog" .', "note: The end .", "we met: The end .", "help us now .", "we saw the US .",
              "we saw the US and the UN .", "the UN and the US .", "they say richard here .", "TV and TV ."]
    tok = tk.train_tokenizer(others)
    assert surface_forms(others, tok) == {"un": "UN"}  # us is written lower-cased too; TV once where none starts


def test_a_recorded_form_is_written_and_a_sentence_still_starts_with_a_capital():
    casing = {"ben": "Ben", "mcdonald": "McDonald"}
    assert join_words(["ben", "and", "mcdonald", "ride", ".", "ben", "waves"], after="Harry and", casing=casing) == \
        " Ben and McDonald ride. Ben waves"
    assert join_words(["ben", "and", "the", "bus"], after="", casing=casing) == "Ben and the bus"
    assert join_words(["ben"], after="Harry and") == " ben"  # a model without the record: its tokens as they are
    assert "".join(spaced(["mcdonald", "'", "s"], "at", casing)) == " McDonald's"

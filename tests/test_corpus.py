"""The possessive-pronoun corpus: reproducible, grammatical, and split so that
the test file holds only unseen (subject, verb, object) combinations."""

from __future__ import annotations

import importlib.util
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from conftest import CORPORA

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_pronouns.py"
TRAIN = CORPORA / "pronouns.txt"
TEST = CORPORA / "pronouns_test.txt"

# Written out here rather than taken from the script, so the script's own
# pronoun rule is checked against an independent statement of it.
EXPECTED_PERSONAL = {
    "I": "mine", "you": "yours", "he": "his", "she": "hers", "we": "ours", "they": "theirs",
}


def _load_script():
    spec = importlib.util.spec_from_file_location("make_pronouns", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mp = _load_script()


@pytest.fixture(scope="module")
def train_lines() -> list[str]:
    return TRAIN.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def test_lines() -> list[str]:
    return TEST.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def train(train_lines):
    return [mp.parse_sentence(line) for line in train_lines]


@pytest.fixture(scope="module")
def test(test_lines):
    return [mp.parse_sentence(line) for line in test_lines]


def _names(subject: str) -> list[str]:
    return subject.split(" and ")


def _expected_pronoun(subject: str) -> str:
    if subject in EXPECTED_PERSONAL:
        return EXPECTED_PERSONAL[subject]
    if " and " in subject:
        return "theirs"
    if subject in mp.FEMALE_NAMES:
        return "hers"
    assert subject in mp.MALE_NAMES, subject
    return "his"


def _words(lines: list[str]) -> set[str]:
    return {w for line in lines for w in re.findall(r"[A-Za-z]+", line)}


# --------------------------------------------------------------------------
# Files


def test_shipped_files_match_a_fresh_generation(tmp_path):
    out, test_out = tmp_path / "train.txt", tmp_path / "test.txt"
    assert mp.main(["--out", str(out), "--test-out", str(test_out)]) == 0
    assert out.read_bytes() == TRAIN.read_bytes()
    assert test_out.read_bytes() == TEST.read_bytes()


def test_generate_is_deterministic_and_seeded():
    first = mp.generate(400, 100, seed=3)
    assert first == mp.generate(400, 100, seed=3)
    assert first != mp.generate(400, 100, seed=4)
    assert len(first[0]) == 400 and len(first[1]) == 100


def test_file_format():
    for path, count in ((TRAIN, mp.DEFAULT_SENTENCES), (TEST, mp.DEFAULT_TEST_SENTENCES)):
        data = path.read_bytes()
        assert b"\r" not in data
        assert data.endswith(b"\n") and not data.endswith(b"\n\n")
        lines = data.decode("utf-8").split("\n")[:-1]
        assert len(lines) == count
        assert all(line == line.strip() and line.endswith(".") for line in lines)


# --------------------------------------------------------------------------
# Coverage


def test_lexicon_sizes():
    assert len(mp.FEMALE_NAMES) >= 20 and len(mp.MALE_NAMES) >= 20
    assert len(mp.NAMES) >= 40 and len(set(mp.NAMES)) == len(mp.NAMES)
    assert not set(mp.FEMALE_NAMES) & set(mp.MALE_NAMES)
    assert len(mp.OBJECTS) >= 30
    assert len(mp.VERBS) >= 12
    forms = [v for v in mp.VERBS] + [mp.third_person(v) for v in mp.VERBS]
    assert len(set(forms)) == len(forms)  # a verb form names one verb in one person


def test_train_covers_the_grammar(train):
    sole = {s.subject for s in train if " and " not in s.subject and s.subject in mp.NAMES}
    paired = {n for s in train if " and " in s.subject for n in _names(s.subject)}
    assert sole == set(mp.NAMES)
    assert paired == set(mp.NAMES)
    assert len(sole & set(mp.FEMALE_NAMES)) >= 20 and len(sole & set(mp.MALE_NAMES)) >= 20
    assert {s.lemma for s in train} == set(mp.VERBS)
    assert {s.object for s in train} == set(mp.OBJECTS)
    assert len({s.object for s in train}) >= 30 and len({s.lemma for s in train}) >= 12

    counts = Counter(s.subject for s in train)
    for subject in EXPECTED_PERSONAL:
        assert counts[subject] >= 0.05 * len(train), subject
    assert sum(1 for s in train if " and " in s.subject) >= 0.2 * len(train)


def test_test_file_represents_all_subjects(test):
    subjects = {s.subject for s in test}
    assert set(mp.NAMES) <= subjects
    assert set(EXPECTED_PERSONAL) <= subjects
    assert any(" and " in s.subject for s in test)


# --------------------------------------------------------------------------
# Grammar


def test_agreement_and_pronouns(train, test):
    third_singular = set(mp.NAMES) | {"he", "she"}
    for s in train + test:
        assert s.verb in (s.lemma, mp.third_person(s.lemma))
        if s.subject in third_singular:
            assert s.verb == mp.third_person(s.lemma), s
        else:
            assert s.verb == s.lemma, s
        assert s.pronoun == _expected_pronoun(s.subject), s
        assert s.object in mp.VERBS[s.lemma], s
        if s.phrase is not None:
            assert s.phrase in mp.PHRASES[s.lemma], s
        if s.adjective is not None:
            assert s.adjective in mp.ADJECTIVES, s


def test_sample_sentences_read_right(train_lines):
    rng = random.Random(0)
    for line in rng.sample(train_lines, 200):
        s = mp.parse_sentence(line)
        assert line[0].isupper()
        assert line.endswith(f", the {s.object} is {s.pronoun}.")
        assert mp.render(s.subject, s.lemma, s.object, s.adjective, s.phrase) == line
    for line in train_lines:
        first = line.split(" ", 1)[0]
        assert first in {"I", "You", "He", "She", "We", "They"} | set(mp.NAMES), line
        assert " i " not in line and not line.startswith(("You rides", "They rides"))


@pytest.mark.parametrize("verb, form", [
    ("ride", "rides"), ("play", "plays"), ("buy", "buys"), ("fix", "fixes"),
    ("wash", "washes"), ("polish", "polishes"), ("carry", "carries"), ("fly", "flies"),
])
def test_third_person(verb, form):
    assert mp.third_person(verb) == form


def test_parse_sentence():
    s = mp.parse_sentence("Mary rides the red bicycle every day, the bicycle is hers.")
    assert s.subject == "Mary" and s.verb == "rides" and s.lemma == "ride"
    assert s.object == "bicycle" and s.pronoun == "hers"
    assert s.adjective == "red" and s.phrase == "every day"
    s = mp.parse_sentence("You ride the bicycle in the park, the bicycle is yours.")
    assert (s.subject, s.verb, s.adjective, s.phrase) == ("you", "ride", None, "in the park")
    assert mp.combination("John and Mary ride the car, the car is theirs.") == (
        "John and Mary", "ride", "car")
    assert mp.combination("Mary and John ride the car, the car is theirs.") == (
        "John and Mary", "ride", "car")
    with pytest.raises(ValueError):
        mp.parse_sentence("Mary rides the bicycle.")


def test_some_sentences_have_a_longer_gap(train, test):
    for sentences in (train, test):
        gapped = sum(1 for s in sentences if s.adjective or s.phrase)
        assert 0.3 * len(sentences) <= gapped <= 0.5 * len(sentences)
        assert any(s.adjective and s.phrase for s in sentences)


# --------------------------------------------------------------------------
# Split


def test_no_combination_repeats_in_train(train):
    combos = [s.combination for s in train]
    assert len(set(combos)) == len(combos)


def test_test_combinations_are_unseen(train, test):
    seen = {s.combination for s in train}
    combos = [s.combination for s in test]
    assert len(set(combos)) == len(combos)
    assert not seen & set(combos)


def test_test_words_all_occur_in_train(train_lines, test_lines):
    assert _words(test_lines) <= _words(train_lines)


def test_a_directory_corpus_reads_upper_case_txt_files_too(tmp_path):
    from seqtext.text.corpus import corpus_files

    (tmp_path / "a.txt").write_text("one line .\n")
    (tmp_path / "B.TXT").write_text("another line .\n")
    (tmp_path / "notes.md").write_text("not a corpus\n")
    assert [p.name for p in corpus_files(tmp_path)] == ["B.TXT", "a.txt"]


def test_stdin_and_utf16_corpora_are_named_as_such(tmp_path):
    from seqtext.errors import DataError
    from seqtext.text.corpus import corpus_files

    with pytest.raises(DataError, match=r"read from files, not from stdin \('-'\)"):
        corpus_files("-")
    wide = tmp_path / "wide.txt"
    wide.write_text("hello there\n", encoding="utf-16")
    with pytest.raises(DataError, match="wide.txt is UTF-16 text; convert it to UTF-8"):  # not "a binary file"
        corpus_files(wide)


def test_the_shipped_corpora_are_found_by_name_from_any_directory_and_a_users_own_file_comes_first(tmp_path,
                                                                                                  monkeypatch):
    from seqtext.errors import DataError
    from seqtext.series.table import read_table
    from seqtext.bundled import CORPORA, shipped
    from seqtext.text.corpus import corpus_files, is_path_list

    monkeypatch.chdir(tmp_path)
    assert corpus_files("corpora/pronouns.txt") == [CORPORA / "pronouns.txt"] == [TRAIN.resolve()]
    assert is_path_list(["corpora/pronouns.txt", "corpora/pronouns_test.txt"])
    assert read_table("corpora/series/airline.csv", "passengers", date="month").n == 144
    with pytest.raises(DataError, match="the corpus corpora/nothing.txt does not exist"):
        corpus_files("corpora/nothing.txt")
    own = tmp_path / "corpora" / "pronouns.txt"
    own.parent.mkdir()
    own.write_text("my own sentence .\n")
    assert corpus_files("corpora/pronouns.txt") == [Path("corpora/pronouns.txt")]  # the user's, not the shipped one
    assert shipped("corpora/series/energy.csv") == CORPORA / "series" / "energy.csv"
    assert shipped(tmp_path / "corpora" / "series" / "energy.csv") == tmp_path / "corpora" / "series" / "energy.csv"


def test_a_long_sentence_in_a_list_is_a_sentence_and_only_paths_below_corpora_are_shipped_names(tmp_path,
                                                                                               monkeypatch):
    """A sentence of 300 bytes is no path to look up ("File name too long" was an OSError); "corpora" alone, or a
    path climbing out of it, names nothing shipped."""
    from seqtext.bundled import shipped
    from seqtext.text.corpus import is_path_list, load_lines

    monkeypatch.chdir(tmp_path)
    long = "Mary rides the bicycle and " * 12 + "the bicycle is hers."
    assert not is_path_list([long, "John washes the cup."])
    assert load_lines([long, "John washes the cup."])[1] == "John washes the cup."
    assert load_lines(["corpora"]) == ["corpora"]
    assert shipped("corpora") == Path("corpora") and shipped("corpora/../bundled.py") == Path("corpora/../bundled.py")

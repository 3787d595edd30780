"""Generate the possessive-pronoun corpus ``corpora/pronouns.txt`` and its
held-out companion ``corpora/pronouns_test.txt``.

Every line is one sentence of the form::

    Mary rides the bicycle, the bicycle is hers.

A language model that predicts the last word has to remember who the subject
was, and map it to the right possessive pronoun.

Grammar
-------
sentence   SUBJECT VERB "the" [ADJECTIVE] OBJECT [PHRASE] "," "the" OBJECT "is" PRONOUN "."

SUBJECT    one of three kinds, chosen with fixed weights:

           * a given name (35 %): 22 female names (``FEMALE_NAMES``) and
             22 male names (``MALE_NAMES``), uniformly;
           * a personal subject (35 %): I, you, he, she, we, they, uniformly,
             so each one is about 5.8 % of the lines;
           * a pair of two different names, "Mary and John" (30 %): both names
             uniform, in either order, any mix of genders.

VERB       23 verbs (``VERBS``), each with the list of objects it fits
           ("plays" takes instruments, "drives" takes road vehicles, "likes"
           takes everything).  Agreement: a single name, "he" and "she" take
           the third person singular form; I, you, we, they and pairs take the
           base form.  The third person form adds -es after s, sh, ch, x, z
           and o (fixes, washes, polishes), turns consonant + y into -ies
           (carries, flies), and adds -s otherwise (rides, plays, buys).

OBJECT     55 singular concrete nouns (``OBJECTS``), each one word.

modifiers  About 40 % of the sentences put extra words between the subject and
           the blank: 15 % an adjective before the object ("the red bicycle"),
           15 % a phrase after it that fits the verb ("every day", "in the
           park", "to school"; see ``PHRASES``), and 10 % both.  The final
           clause never repeats the adjective: it is always
           "the OBJECT is PRONOUN.", so the pronoun is the last word before the
           full stop.

PRONOUN    female name or she -> hers, male name or he -> his, I -> mine,
           you -> yours, we -> ours, they or a pair -> theirs.

The first word is capitalised ("You ride ...", "He rides ..."; "I" always).

Combinations and the train/test split
-------------------------------------
A combination is (subject, verb, object), where the verb is its base form and
a pair counts as one subject whichever name comes first ("Mary and John" and
"John and Mary" are the same combination).  Each combination occurs at most
once in ``pronouns.txt``, so any random held-out fraction of its lines holds
combinations never seen in the remaining lines.

``pronouns_test.txt`` is drawn from the combinations ``pronouns.txt`` does not
use (and never repeats one either), with the same subject weights and
modifiers.  Every name as a sole subject and every personal subject occurs in
it.  Every word of the test file also occurs in the training file: only the
combinations are new.

The training file is built in two steps.  First a coverage pass writes one
sentence for each name as a sole subject, each name inside a pair, each
personal subject, each verb in both of its forms, each object, each adjective
and each (verb, phrase) pair, filling the unnamed parts at random.  Then
random sentences are added until there are ``--sentences`` lines, and the
lines are shuffled.  Sampling uses ``random.Random(seed)`` only, and every
list is in a fixed order, so a run with the same arguments reproduces both
files byte for byte (UTF-8, ``\\n`` line endings).

The grammar has 689 (verb, object) pairs, so one personal subject can take
part in at most 689 sentences over both files; a run that asks for far more
than the defaults stops with an error rather than repeat a combination.

Usage
-----
    python scripts/make_pronouns.py [--out corpora/pronouns.txt]
        [--test-out corpora/pronouns_test.txt] [--sentences 6000]
        [--test-sentences 1000] [--seed 0]

``generate(n_train, n_test, seed)`` returns both lists of lines without writing
anything, and ``parse_sentence(line)`` recovers the parts of a sentence.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "seqtext" / "corpora" / "pronouns.txt"
DEFAULT_TEST_OUT = ROOT / "seqtext" / "corpora" / "pronouns_test.txt"
DEFAULT_SENTENCES = 6000
DEFAULT_TEST_SENTENCES = 1000
DEFAULT_SEED = 0

# --------------------------------------------------------------------------
# Lexicon (every list in a fixed, sorted order)

FEMALE_NAMES = tuple(sorted((
    "Alice", "Amy", "Anna", "Chloe", "Clara", "Ellen", "Emily", "Emma", "Grace",
    "Hannah", "Helen", "Jane", "Julia", "Kate", "Laura", "Lucy", "Mary", "Nora",
    "Olivia", "Rachel", "Sarah", "Sophie",
)))
MALE_NAMES = tuple(sorted((
    "Adam", "Ben", "Daniel", "David", "Edward", "Frank", "George", "Harry", "Henry",
    "Jack", "James", "John", "Leo", "Luke", "Michael", "Oliver", "Oscar", "Paul",
    "Peter", "Robert", "Simon", "Tom",
)))
NAMES = tuple(sorted(FEMALE_NAMES + MALE_NAMES))

# Personal subjects in their in-sentence spelling, with their possessive pronoun.
PERSONAL = {
    "I": "mine",
    "you": "yours",
    "he": "his",
    "she": "hers",
    "we": "ours",
    "they": "theirs",
}
PERSONAL_SUBJECTS = tuple(PERSONAL)  # insertion order: I you he she we they
THIRD_SINGULAR_PERSONAL = ("he", "she")

# Subject-kind weights: names, personal subjects, pairs of names.
SUBJECT_WEIGHTS = (("name", 0.35), ("personal", 0.35), ("pair", 0.30))

# Objects by group; the groups only serve to build the verb lists below.
RIDDEN = ("bicycle", "motorbike", "scooter", "skateboard", "sledge", "tricycle")
DRIVEN = ("car", "jeep", "tractor", "truck", "van")
BOATS = ("boat", "canoe", "yacht")
INSTRUMENTS = ("cello", "drum", "flute", "guitar", "harp", "piano", "trumpet", "violin")
READABLE = ("book", "comic", "diary", "letter", "magazine", "map", "newspaper", "notebook")
WEARABLE = ("coat", "hat", "helmet", "jacket", "necklace", "ring", "scarf", "sweater", "watch")
THINGS = (
    "bag", "ball", "camera", "chair", "clock", "cup", "drone", "kettle", "kite",
    "lamp", "laptop", "phone", "radio", "table", "teapot", "umbrella",
)
OBJECTS = tuple(sorted(RIDDEN + DRIVEN + BOATS + INSTRUMENTS + READABLE + WEARABLE + THINGS))


def _only(*groups: tuple[str, ...]) -> list[str]:
    return sorted(w for g in groups for w in g)


def _without(*excluded: str) -> list[str]:
    return [o for o in OBJECTS if o not in excluded]


# Base form -> the objects it fits.
VERBS: dict[str, list[str]] = {
    "borrow": list(OBJECTS),
    "buy": _without("letter"),
    "carry": _only(
        ("bicycle", "scooter", "skateboard", "sledge", "canoe"),
        tuple(i for i in INSTRUMENTS if i != "piano"),
        READABLE, WEARABLE, THINGS,
    ),
    "clean": _only(RIDDEN, DRIVEN, BOATS, INSTRUMENTS, WEARABLE, THINGS),
    "drive": _only(DRIVEN),
    "find": list(OBJECTS),
    "fix": _only(
        RIDDEN, DRIVEN, BOATS, INSTRUMENTS,
        ("bag", "camera", "chair", "clock", "drone", "kettle", "kite", "lamp", "laptop",
         "necklace", "phone", "radio", "table", "umbrella", "watch"),
    ),
    "fly": ["drone", "kite"],
    "keep": list(OBJECTS),
    "like": list(OBJECTS),
    "paint": _only(
        RIDDEN, DRIVEN, BOATS,
        ("chair", "clock", "cup", "helmet", "kite", "lamp", "table", "teapot"),
    ),
    "play": _only(INSTRUMENTS),
    "polish": _only(
        ("bicycle", "motorbike", "scooter"), DRIVEN, BOATS,
        ("cello", "flute", "trumpet", "violin"),
        ("helmet", "necklace", "ring", "watch"),
        ("clock", "kettle", "table", "teapot"),
    ),
    "read": _only(READABLE),
    "ride": _only(RIDDEN),
    "row": ["boat", "canoe"],
    "sail": ["boat", "yacht"],
    "sell": _without("letter"),
    "show": list(OBJECTS),
    "use": _only(
        ("bicycle", "car", "scooter", "van"),
        ("map", "notebook"),
        ("bag", "camera", "cup", "drone", "kettle", "lamp", "laptop", "phone", "radio",
         "umbrella"),
    ),
    "want": list(OBJECTS),
    "wash": _only(
        ("bicycle", "motorbike", "scooter"), DRIVEN, BOATS,
        ("coat", "hat", "jacket", "scarf", "sweater"),
        ("cup", "kettle", "teapot"),
    ),
    "wear": _only(WEARABLE),
}
VERB_NAMES = tuple(sorted(VERBS))

# Base form -> phrases that may follow the object.
PHRASES: dict[str, list[str]] = {
    "borrow": ["every week", "for the weekend", "on Fridays"],
    "buy": ["at the market", "in town", "on Saturday"],
    "carry": ["every day", "into the house", "to school", "up the hill"],
    "clean": ["after lunch", "every week", "on Saturdays", "with care"],
    "drive": ["every day", "in the rain", "into town", "on Sundays", "to work"],
    "find": ["again", "at last", "in the morning"],
    "fix": ["after lunch", "in the shed", "with care"],
    "fly": ["in the park", "on the beach", "on windy days"],
    "keep": ["at home", "for years", "all year"],
    "like": ["a lot", "very much"],
    "paint": ["every spring", "in the shed", "with care"],
    "play": ["after school", "at the party", "every evening", "in the band", "on Sundays"],
    "polish": ["every week", "on Saturdays", "with care"],
    "read": ["after school", "before bed", "every morning", "in the garden", "on the train"],
    "ride": ["after school", "down the hill", "every day", "in the park", "on Sundays",
             "to school"],
    "row": ["across the river", "every summer", "on Sundays", "on the lake"],
    "sail": ["across the bay", "every summer", "on Sundays", "on the lake"],
    "sell": ["at the market", "in town", "on Saturday"],
    "show": ["at school", "to everyone", "to the class"],
    "use": ["at school", "at work", "every day"],
    "want": ["for the holidays", "for the summer", "very much"],
    "wash": ["every week", "in the yard", "on Saturdays"],
    "wear": ["at the party", "every day", "in the winter", "on Sundays", "to school"],
}

ADJECTIVES = tuple(sorted((
    "big", "black", "blue", "brown", "green", "new", "old", "red", "small", "white",
    "yellow",
)))

# Modifier mix: (adjective, phrase) flags and their probabilities.
MODIFIER_WEIGHTS = (
    ((False, False), 0.60),
    ((True, False), 0.15),
    ((False, True), 0.15),
    ((True, True), 0.10),
)

_MAX_TRIES = 1_000
_QUICK_TRIES = 50


# --------------------------------------------------------------------------
# Grammar helpers

def third_person(verb: str) -> str:
    """Third person singular present of a base form: ride -> rides, fix -> fixes."""
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


# Surface form -> base form, for parsing.
_LEMMAS = {v: v for v in VERB_NAMES} | {third_person(v): v for v in VERB_NAMES}


def split_pair(subject: str) -> tuple[str, ...]:
    """The names in a subject: ("Mary", "John") for "Mary and John", else (subject,)."""
    return tuple(subject.split(" and ")) if " and " in subject else (subject,)


def subject_kind(subject: str) -> str:
    """"personal", "name" or "pair"."""
    if subject in PERSONAL:
        return "personal"
    if " and " in subject:
        return "pair"
    return "name"


def is_third_singular(subject: str) -> bool:
    """Whether the subject takes the -s form of the verb."""
    kind = subject_kind(subject)
    return kind == "name" or (kind == "personal" and subject in THIRD_SINGULAR_PERSONAL)


def verb_form(subject: str, verb: str) -> str:
    return third_person(verb) if is_third_singular(subject) else verb


def pronoun_for(subject: str) -> str:
    """The possessive pronoun for a subject (in-sentence spelling, e.g. "you")."""
    kind = subject_kind(subject)
    if kind == "personal":
        return PERSONAL[subject]
    if kind == "pair":
        return "theirs"
    if subject in FEMALE_NAMES:
        return "hers"
    if subject in MALE_NAMES:
        return "his"
    raise ValueError(f"unknown subject {subject!r}")


def subject_key(subject: str) -> str:
    """The subject as it counts for combinations: pairs in name order."""
    return " and ".join(sorted(split_pair(subject))) if subject_kind(subject) == "pair" else subject


def render(subject: str, verb: str, obj: str,
           adjective: str | None = None, phrase: str | None = None) -> str:
    """One sentence; ``verb`` is the base form, ``subject`` the in-sentence spelling."""
    noun = f"{adjective} {obj}" if adjective else obj
    tail = f" {phrase}" if phrase else ""
    text = (f"{subject} {verb_form(subject, verb)} the {noun}{tail}, "
            f"the {obj} is {pronoun_for(subject)}.")
    return text[0].upper() + text[1:]


class Sentence(NamedTuple):
    subject: str            # in-sentence spelling: "I", "you", "Mary", "Mary and John"
    verb: str               # as written: "rides" or "ride"
    lemma: str              # base form: "ride"
    object: str
    pronoun: str
    adjective: str | None
    phrase: str | None

    @property
    def combination(self) -> tuple[str, str, str]:
        return (subject_key(self.subject), self.lemma, self.object)


def parse_sentence(line: str) -> Sentence:
    """Split a corpus line back into its parts; raises ValueError if it does not fit."""
    text = line.strip()
    if not text.endswith("."):
        raise ValueError(f"no full stop: {line!r}")
    main, sep, final = text[:-1].rpartition(", the ")
    if not sep:
        raise ValueError(f"no final clause: {line!r}")
    final_words = final.split(" ")
    if len(final_words) != 3 or final_words[1] != "is":
        raise ValueError(f"bad final clause: {line!r}")
    obj, _, pronoun = final_words
    head, sep, rest = main.partition(" the ")
    if not sep:
        raise ValueError(f"no object: {line!r}")
    subject, _, verb = head.rpartition(" ")
    if subject != "I" and subject.lower() in PERSONAL:
        subject = subject.lower()
    words = rest.split(" ")
    adjective = None
    if words[0] != obj:
        adjective, words = words[0], words[1:]
    if not words or words[0] != obj:
        raise ValueError(f"object mismatch: {line!r}")
    phrase = " ".join(words[1:]) or None
    if verb not in _LEMMAS:
        raise ValueError(f"unknown verb {verb!r}: {line!r}")
    return Sentence(subject, verb, _LEMMAS[verb], obj, pronoun, adjective, phrase)


def combination(line: str) -> tuple[str, str, str]:
    """(subject, base verb, object) of a corpus line, pairs in name order."""
    return parse_sentence(line).combination


# --------------------------------------------------------------------------
# Sampling

def _weighted(rng: random.Random, table):
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return rng.choices(values, weights=weights, k=1)[0]


def _random_pair(rng: random.Random, including: str | None = None) -> str:
    if including is None:
        a, b = rng.sample(NAMES, 2)
    else:
        a = including
        b = rng.choice([n for n in NAMES if n != including])
        if rng.random() < 0.5:
            a, b = b, a
    return f"{a} and {b}"


def _random_subject(rng: random.Random, kind: str | None = None) -> str:
    kind = kind or _weighted(rng, SUBJECT_WEIGHTS)
    if kind == "name":
        return rng.choice(NAMES)
    if kind == "personal":
        return rng.choice(PERSONAL_SUBJECTS)
    return _random_pair(rng)


_RANDOM = object()  # "draw this part at random"


def _draw(rng: random.Random, used: set, *, subject=None, kind=None, verb=None, obj=None,
          adjective=_RANDOM, phrase=_RANDOM) -> str:
    """A sentence with an unused combination; the named parts are kept fixed.

    ``subject`` may be a callable that draws a subject.  The subject is drawn
    first and kept while the verb and object are redrawn, so the subject
    weights hold however many combinations are already used.  The combination
    is added to ``used``.
    """
    verbs = [verb] if verb is not None else [
        v for v in VERB_NAMES if obj is None or obj in VERBS[v]]
    if not verbs or (verb is not None and obj is not None and obj not in VERBS[verb]):
        raise ValueError(f"no verb fits {verb!r} with {obj!r}")
    for _ in range(_MAX_TRIES):
        if callable(subject):
            subj = subject()
        else:
            subj = subject or _random_subject(rng, kind)
        skey = subject_key(subj)
        choice = None
        for _ in range(_QUICK_TRIES):
            v = rng.choice(verbs)
            o = obj if obj is not None else rng.choice(VERBS[v])
            if (skey, v, o) not in used:
                choice = (v, o)
                break
        if choice is None:  # nearly exhausted: pick among what is left, if anything
            left = [(v, o) for v in verbs for o in VERBS[v]
                    if (obj is None or o == obj) and (skey, v, o) not in used]
            if not left:
                continue
            choice = rng.choice(left)
        v, o = choice
        with_adj = with_phrase = False
        if adjective is _RANDOM or phrase is _RANDOM:
            with_adj, with_phrase = _weighted(rng, MODIFIER_WEIGHTS)
        adj = adjective if adjective is not _RANDOM else (
            rng.choice(ADJECTIVES) if with_adj else None)
        phr = phrase if phrase is not _RANDOM else (
            rng.choice(PHRASES[v]) if with_phrase else None)
        used.add((skey, v, o))
        return render(subj, v, o, adj, phr)
    raise RuntimeError("ran out of unused combinations; ask for fewer sentences")


def _coverage(rng: random.Random, used: set) -> list[str]:
    """One sentence for every name, subject, verb form, object, adjective and phrase."""
    lines = []
    for name in NAMES:
        lines.append(_draw(rng, used, subject=name))
        lines.append(_draw(rng, used, subject=lambda name=name: _random_pair(rng, name)))
    for subj in PERSONAL_SUBJECTS:
        lines.append(_draw(rng, used, subject=subj))
    singular = NAMES + THIRD_SINGULAR_PERSONAL
    plural = tuple(s for s in PERSONAL_SUBJECTS if s not in THIRD_SINGULAR_PERSONAL)
    for v in VERB_NAMES:
        lines.append(_draw(rng, used, verb=v, subject=lambda: rng.choice(singular)))
        lines.append(_draw(rng, used, verb=v, subject=lambda: (
            rng.choice(plural) if rng.random() < 0.5 else _random_pair(rng))))
    for o in OBJECTS:
        lines.append(_draw(rng, used, obj=o))
    for adj in ADJECTIVES:
        lines.append(_draw(rng, used, adjective=adj, phrase=None))
    for v in VERB_NAMES:
        for phr in PHRASES[v]:
            lines.append(_draw(rng, used, verb=v, adjective=None, phrase=phr))
    return lines


def _words(lines: list[str]) -> set[str]:
    return {w.strip(",.") for line in lines for w in line.split()}


def generate(n_train: int = DEFAULT_SENTENCES, n_test: int = DEFAULT_TEST_SENTENCES,
             seed: int = DEFAULT_SEED) -> tuple[list[str], list[str]]:
    """The training and test lines (without newlines); writes nothing."""
    rng = random.Random(seed)
    used: set[tuple[str, str, str]] = set()

    train = _coverage(rng, used)
    if n_train < len(train):
        raise ValueError(f"--sentences must be at least {len(train)} to cover the grammar")
    while len(train) < n_train:
        train.append(_draw(rng, used))
    rng.shuffle(train)

    test: list[str] = []
    if n_test:
        required = list(NAMES) + list(PERSONAL_SUBJECTS)
        if n_test < len(required):
            raise ValueError(f"--test-sentences must be 0 or at least {len(required)}")
        test = [_draw(rng, used, subject=s) for s in required]
        while len(test) < n_test:
            test.append(_draw(rng, used))
        rng.shuffle(test)

    missing = _words(test) - _words(train)
    if missing:  # the coverage pass makes this impossible; keep the promise checked
        raise RuntimeError(f"test words missing from the training file: {sorted(missing)}")
    return train, test


def write_lines(path: str | Path, lines: list[str]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(line + "\n" for line in lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the possessive-pronoun corpus and its held-out test file.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="training file (default: corpora/pronouns.txt)")
    parser.add_argument("--test-out", type=Path, default=DEFAULT_TEST_OUT,
                        help="test file (default: corpora/pronouns_test.txt)")
    parser.add_argument("--sentences", type=int, default=DEFAULT_SENTENCES,
                        help=f"training sentences (default: {DEFAULT_SENTENCES})")
    parser.add_argument("--test-sentences", type=int, default=DEFAULT_TEST_SENTENCES,
                        help=f"test sentences (default: {DEFAULT_TEST_SENTENCES})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default: {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    try:
        train, test = generate(args.sentences, args.test_sentences, args.seed)
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    write_lines(args.out, train)
    write_lines(args.test_out, test)
    print(f"wrote {len(train)} sentences to {args.out} and {len(test)} to {args.test_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

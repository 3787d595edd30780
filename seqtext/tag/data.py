"""Tagged sentences from CoNLL-U (read with the ``conllu`` library) or ``word<TAB>tag`` files.

CoNLL-U: the words are the syntactic words (integer ids); a multi-word token
line (``3-4 don't``) only spells the surface form of the words that follow
it, and an empty node (``8.1``) is no word of the sentence, so neither gets a
tag, as the format defines.  The tag is the column ``column`` (``upos``,
``xpos``, or any other by name).  Every token line must have the format's 10
tab-separated columns; a bad line is reported with its file and number.

``word<TAB>tag``: one word a line, a blank line between sentences.

A file is CoNLL-U when it ends in ``.conllu`` or its first word line has 10
columns.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from seqtext.errors import DataError, beyond_reading, counted, is_listlike, is_pair, is_table, printable
from seqtext.classify.data import check_length

COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
UNSPECIFIED = ("upos", "xpos")  # columns where CoNLL-U's "_" means "not annotated": such a word has no tag (None)

# Raw text into words as English treebanks (UD EWT) split them: punctuation apart, clitics split (do n't, it 's,
# with ' or ’); kept whole: numbers with separators (3.50, 1,000, 5:00, 713-853-3989), abbreviations of single
# letters (U.S., i.e.), runs of dots, ! and ? (..., ?!) or dashes, and a hyphenated word whose first part is a
# bound prefix (e-mail, non-stop, re-read); other hyphens split (long - term), as EWT splits them.
_PREFIXES = "e|non|anti|pre|re|mid|post|over|co|pro|multi|ex|semi|sub|cross|neo|counter|psycho|socio|intra|un|mis"
_CLITIC = r"n['’]t\b|['’](?:s|re|ve|ll|m|d)\b"
_WORDS = re.compile("(?:" + "|".join([
    r"\w+(?=n['’]t\b)", r"\w+(?=['’](?:s|re|ve|ll|m|d)\b)", _CLITIC,  # do n't, it 's
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)", r"\d+(?:[.:]\d+)+",  # numbers: never cut inside a run of digits
    r"(?<!\w)(?<!\w-)\d+(?:-\d{3,}){2,}(?!\w|-\w)", r"(?<!\w)(?<!\w-)\d{3}-\d{4}(?!\w|-\w)",  # phones
    r"(?:[^\W\d_]\.){2,}", r"[.!?]{2,}", r"-{2,}",  # U.S., ..., ?!, --
    rf"(?<!\w-)\b(?:{_PREFIXES})-\w+(?=n['’]t\b)",  # a hyphenated run kept whole or split at every hyphen:
    rf"(?<!\w-)\b(?:{_PREFIXES})-\w+(?!\w|-\w)",  # e-mail, re-read; over-the-top, non-e-mail split
    r"\w+", r"[^\w\s]"]) + r")\x00*", re.IGNORECASE)  # \x00: the marks and modifiers an emoji keeps
_GLUE = "\x00"  # in the masked line: a character that belongs to the symbol before it (never in a masked line else)


def split_words(line: str) -> list[str]:
    """Raw text as words.  A combining mark (an accent written apart, a vowel sign) or a zero-width joiner stays
    in the word it is part of, and an emoji keeps its skin tone, variation selector, keycap and the emoji that
    zero-width joiners join to it (a flag is its two letters); other invisible format characters (a zero-width
    space, a byte-order mark) and control characters part words as spaces do."""
    if line.isascii() and line.isprintable():
        return _WORDS.findall(line)
    masked = list(map(_as_word_part, line))  # the same length: the matches' spans are the line's
    for i, part in enumerate(masked):
        before = masked[i - 1] if i else " "
        symbol = before == _GLUE or not (before.isspace() or _WORD_CHAR.match(before))
        if part is None:  # a mark or joiner goes with the letters or the symbol before it, else nowhere
            masked[i] = "a" if before.isalnum() else _GLUE if symbol else " "
        elif symbol and (_skin_tone(part) or line[i - 1] == "\u200d" and not _WORD_CHAR.match(part) or
                         _regional(part) and _regional(line[i - 1]) and before != _GLUE):
            masked[i] = _GLUE  # a skin tone, the emoji after a joiner, a flag's second letter
    return [line[m.start():m.end()] for m in _WORDS.finditer("".join(masked))]


_JOINERS = "\u200c\u200d\u00ad\u2060"  # zero-width (non-)joiner, soft hyphen, word joiner: inside a word
_WORD_CHAR = re.compile(r"[\w\s]")


def _skin_tone(ch: str) -> bool:
    return "\U0001f3fb" <= ch <= "\U0001f3ff"  # an emoji's skin tone (Fitzpatrick modifiers)


def _regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"  # a regional indicator: two of them are a flag


@functools.lru_cache(maxsize=8192)
def _as_word_part(ch: str) -> str | None:
    """``ch`` as the word pattern should read it: None for a mark or joiner (the caller decides), a space for an
    invisible format or control character, else itself."""
    kind = unicodedata.category(ch)
    if kind[0] == "M" or ch in _JOINERS:
        return None
    return " " if kind in ("Cf", "Cc") else ch


def sentence_words(sentence) -> list[str]:
    """A sentence to tag as words: a string is split (punctuation apart, clitics as the treebanks split them)."""
    if not isinstance(sentence, str) and not is_listlike(sentence):
        raise DataError(f"a sentence to tag is a string or a list of words, not {type(sentence).__name__}.")
    words = split_words(sentence) if isinstance(sentence, str) else list(sentence)
    check_length(len(words), "a sentence to tag", "words")
    odd = next((type(w) for w in words if not isinstance(w, str)), None)  # the type: a word may be pd.NA or an array
    if odd is not None:
        raise DataError(f"a sentence to tag has a word that is {odd.__name__}, not a string; give words as strings.")
    if not words or not all(w.strip() for w in words):
        raise DataError("a sentence to tag is empty or has an empty word; give some words.")
    return [w.strip() for w in words]


def _read(path) -> tuple[Path, list[str]]:
    from seqtext.classify.data import file_lines, read_data_file

    path, text = read_data_file(path)
    return path, file_lines(text)


def is_conllu(path: Path, lines: list[str]) -> bool:
    """CoNLL-U: a .conllu file, or lines whose first token line has the ten columns, or begins with a word's ID
    (``1``, ``1-2``, ``1.1``) after a ``# text =`` or ``# sent_id =`` comment or with six columns or more (a line
    short of columns is then refused as CoNLL-U, naming it, not tagged as text)."""
    if path.suffix.lower() == ".conllu":
        return True
    at = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    first = lines[at].split("\t") if at is not None else []
    if len(first) == len(COLUMNS):
        return True
    commented = any(re.match(r"#\s*(text|sent_id)\s*=", line) for line in lines[:at])
    return len(first) >= 3 and bool(re.fullmatch(r"\d+(?:-\d+|\.\d+)?", first[0])) and (commented or len(first) >= 6)


def blocks(lines: list[str]):
    """(first line number, lines) of each sentence: lines between blank lines."""
    start, block = None, []
    for number, line in enumerate(lines, 1):
        if line.strip():
            if start is None:
                start = number
            block.append(line)
        elif block:
            yield start, block
            start, block = None, []
    if block:
        yield start, block


def read_conllu(path, lines: list[str] | None = None) -> list:
    """The sentences of a CoNLL-U file as ``conllu.TokenList`` objects (each with ``.start``, its first line,
    ``.word_lines``, the line of each syntactic word, and ``.comment_lines``, its ``#`` lines as written: the
    library keeps only ``key = value`` comments, rewritten).  ``lines``: the file's lines when already read (a pipe
    reads once)."""
    import conllu
    from conllu.exceptions import ParseException

    path, lines = (Path(path), lines) if lines is not None else _read(path)
    sentences = []
    for start, block in blocks(lines):
        for offset, line in enumerate(block):
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != len(COLUMNS):
                raise DataError(f"{path} line {start + offset} has {len(fields)} tab-separated columns, "
                                f"CoNLL-U needs {len(COLUMNS)}; fix that line.")
            empty = next((name for name, field in zip(COLUMNS, fields) if not field.strip()), None)
            if empty is not None:
                raise DataError(f"{path} line {start + offset}: its {empty.upper()} column is blank (CoNLL-U writes _ "
                                "for a value not given); fix that line.")
        try:
            parsed = conllu.parse("\n".join(block) + "\n\n")
        except (ParseException, ValueError) as exc:  # ValueError: an ID or HEAD of more digits than int() reads
            where = next((start + offset for offset, line in enumerate(block)  # the line the parser refused
                          if not line.startswith("#") and _unparsable(line)), None)
            what = f"{path} line {where}" if where is not None else f"the sentence at {path} line {start}"
            if why := beyond_reading(exc):
                raise DataError(f"{what} {why}; fix it.") from None
            raise DataError(f"{what} is not valid CoNLL-U ({printable(exc)}); fix it.") from None
        word_lines = [start + offset for offset, line in enumerate(block)
                      if not line.startswith("#") and line.split("\t", 1)[0].strip().isdigit()]
        comment_lines = [line for line in block if line.startswith("#")]
        for sentence in parsed:
            sentence.start, sentence.word_lines, sentence.comment_lines = start, word_lines, comment_lines
            sentences.append(sentence)
    if not sentences:
        raise DataError(f"{path} holds no sentences; give CoNLL-U or word<TAB>tag lines.")
    return sentences


def conllu_text(sentence) -> str:
    """A sentence of :func:`read_conllu` as CoNLL-U: its comment lines as the file has them, then its token lines
    (the library's serialization, its metadata left out) and a blank line."""
    from conllu.models import TokenList

    return "".join(line + "\n" for line in sentence.comment_lines) + TokenList(list(sentence)).serialize()


def _unparsable(line: str) -> bool:
    import conllu
    from conllu.exceptions import ParseException

    try:
        conllu.parse(line + "\n\n")
    except (ParseException, ValueError):
        return True
    return False


def words_of(sentence) -> list:
    """The syntactic words of a TokenList: no multi-word token ranges, no empty nodes."""
    return [token for token in sentence if isinstance(token["id"], int)]


def tag_value(token, column: str):
    value = token.get(column)
    if value is None:
        return "_"
    if isinstance(value, str):
        return value
    from conllu.serializer import serialize_field

    return serialize_field(value)


def read_tagged(path, column: str = "upos") -> tuple[list, list]:
    """The (words, tags) of each sentence of a file, and the line number of each of its words."""
    path, lines = _read(path)
    if is_conllu(path, lines):
        if column not in COLUMNS[1:]:
            raise DataError(f"there is no CoNLL-U column {column!r}; use one of {', '.join(COLUMNS[1:])}.")
        out, lines_of = [], []
        for sentence in read_conllu(path, lines):
            words = words_of(sentence)
            if words:
                tags = [tag_value(t, column) for t in words]
                if column in UNSPECIFIED:  # read, but neither trained on nor scored
                    tags = [None if t == "_" else t for t in tags]
                out.append(([t["form"] for t in words], tags))
                lines_of.append(sentence.word_lines)
        if not out:
            raise DataError(f"{path} holds no sentences with words (only comments, multi-word ranges or empty "
                            "nodes); give CoNLL-U token lines.")
        return out, lines_of
    out, lines_of = [], []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and re.fullmatch(r"(?i)(word|token|form)\t(tag|pos|upos|xpos|label)", lines[first].strip()):
        lines = [*lines[:first], "", *lines[first + 1:]]  # a header line ("word<TAB>tag"), read as a blank
    for start, block in blocks(lines):
        pairs = []
        for offset, line in enumerate(block):
            fields = [f.strip() for f in line.split("\t")]
            what = counted(len(fields), "tab-separated field") if len(fields) != 2 else \
                "an empty word" if not fields[0] else "an empty tag" if not fields[1] else \
                f"the word {fields[0][:40]!r} holds a space" if any(c.isspace() for c in fields[0]) else None
            if what:
                raise DataError(f"{path} line {start + offset} is not word<TAB>tag ({what}); give one word and its "
                                "tag a line, or a CoNLL-U file.")
            pairs.append((fields[0], fields[1]))
        out.append(([w for w, _ in pairs], [t for _, t in pairs]))
        lines_of.append(list(range(start, start + len(block))))
    if not out:
        raise DataError(f"{path} holds no sentences; give CoNLL-U or word<TAB>tag lines.")
    return out, lines_of


def check_pairs(pairs, name: str) -> list[tuple[list[str], list[str]]]:
    """Sentences given in Python as (words, tags) pairs, checked.  Words given as one string are split as
    ``predict`` splits a sentence; tags given as one string, at white space."""
    if is_table(pairs):
        raise DataError(f"the {name} data is a table; give a list of (words, tags) pairs, e.g. "
                        "list(zip(df['words'], df['tags'])).")
    if not is_listlike(pairs):
        raise DataError(f"the {name} data must be a file or a list of (words, tags) pairs, got {type(pairs).__name__}.")
    out = []
    for i, pair in enumerate(pairs, 1):
        if not is_pair(pair):
            raise DataError(f"{name} sentence {i} is not a (words, tags) pair.")
        if not all(isinstance(part, str) or is_listlike(part) for part in pair):
            raise DataError(f"{name} sentence {i} is not a (words, tags) pair of lists; give each as a list.")
        words = split_words(pair[0]) if isinstance(pair[0], str) else list(pair[0])
        tags = pair[1].split() if isinstance(pair[1], str) else list(pair[1])
        if not words:
            raise DataError(f"{name} sentence {i} has no words; give every sentence some.")
        if len(words) != len(tags):
            raise DataError(f"{name} sentence {i} has {len(words)} words but {len(tags)} tags; give one tag a word.")
        if not all(isinstance(w, str) and w.strip() and " " not in w.strip() for w in words):
            raise DataError(f"{name} sentence {i} has an empty word or one with a space; give words as strings.")
        out.append(([w.strip() for w in words], [None if t is None else str(t) for t in tags]))  # None: no tag
    if not out:
        raise DataError(f"there are no {name} sentences; give (words, tags) pairs.")
    return out

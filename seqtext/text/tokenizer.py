"""The tokenizer pipeline, composed from HuggingFace ``tokenizers`` parts.

normalizer   NFKC Unicode normalisation, then lower-casing
pre-tokenizer  split on white space, then split punctuation off words (unless
             ``split_punctuation`` is off, for text that is tokenised already)
model        WordLevel (default) or BPE (``end_of_word_suffix`` marks word ends)
specials     <pad> <unk> <s> </s>

A character model (``kind="char"``) has no normaliser: a pre-tokenizer that
isolates every character (spaces, line breaks and each Unicode code point
alike), a WordLevel model over the characters of the training text, and a
decoder that joins them without spaces.  Each character is one token, an
unknown one <unk>, which decodes as U+FFFD; the specials are plain entries of
its vocabulary, never matched in the text, so "<s>" typed in a text is three
characters.

The whole pipeline is one ``tokenizer.json`` in the model directory; this
module only builds, trains and reads it, and turns generated tokens back into
words with natural spacing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from seqtext.errors import CheckpointError, ConfigError, DataError, first_line, warn
from seqtext.text.spacing import SENTENCE_END, is_wordlike, join_words  # noqa: F401  (how tokens are written back)

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = [PAD, UNK, BOS, EOS]
WORD_END = "</w>"  # BPE: a token carrying this suffix ends a word
KINDS = ("word", "bpe", "char")
LINE_BREAK = "\n"  # a character model's end of line: always in its vocabulary
UNKNOWN_CHAR = "\ufffd"  # what <unk> decodes as in a character model
_ANY_CHAR = r"[\s\S]"  # one code point, line breaks included (Oniguruma's "." stops at "\n")

# Special-token strings already in a corpus (PTB writes "<unk>") are removed from
# the training text: the pre-tokenizer would otherwise teach the vocabulary
# "<", "unk" and ">" as words that no encoded input ever produces.
_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in SPECIALS))


def _pipeline(model, split_punctuation: bool = True):
    from tokenizers import Tokenizer, normalizers, pre_tokenizers

    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    steps = [pre_tokenizers.WhitespaceSplit()]
    if split_punctuation:  # off for text that is tokenised already (PTB): its words are its tokens
        steps.append(pre_tokenizers.Punctuation(behavior="isolated"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    return tok


def train_tokenizer(
    lines: Iterable[str], kind: str = "word", vocab_size: int = 8000, min_frequency: int = 1,
    split_punctuation: bool = True,
):
    """Train a tokenizer on ``lines`` (the training split only).

    For ``kind="char"``, ``lines`` may be any pieces of text (raw chunks,
    line breaks included); ``vocab_size`` and ``split_punctuation`` do not
    apply to it.
    """
    from tokenizers import decoders, models, trainers

    if kind == "word":
        tok = _pipeline(models.WordLevel(unk_token=UNK), split_punctuation)
        trainer = trainers.WordLevelTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
            show_progress=False,
        )
    elif kind == "bpe":
        tok = _pipeline(models.BPE(unk_token=UNK, end_of_word_suffix=WORD_END), split_punctuation)
        tok.decoder = decoders.BPEDecoder(suffix=WORD_END)
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
            end_of_word_suffix=WORD_END, show_progress=False,
        )
    elif kind == "char":
        return _train_chars(lines, min_frequency)
    else:
        raise ConfigError(f"{{tokenizer}} must be one of {', '.join(KINDS)}, got {kind!r}.", params=["tokenizer"])
    tok.train_from_iterator((_SPECIAL_RE.sub(" ", line) for line in lines), trainer=trainer)
    if tok.get_vocab_size() <= len(SPECIALS):
        _no_vocabulary("words", min_frequency)
    if kind == "bpe" and tok.get_vocab_size() > vocab_size:  # BPE keeps every character of the text, whatever the size
        warn(f"{{vocab_size}} {vocab_size} is fewer tokens than the text's characters need: the BPE vocabulary holds "
             f"{tok.get_vocab_size()} (the specials, each character, and no merges); raise {{vocab_size}} for word "
             "pieces.", params=["vocab_size"])
    return _canonical_ids(tok) if kind == "bpe" else tok


def _canonical_ids(tok):
    """A BPE tokenizer with its ids in a fixed order: the specials, the alphabet sorted, then each merge's result in
    merge order.  The trainer orders characters seen equally often by a hash that changes between processes, so
    the same corpus and seed gave other ids, and other weights.  (Two merges of equal count are ordered the same
    way, which this cannot undo: a corpus with such ties can still learn other merges in another process.)"""
    import json

    from tokenizers import Tokenizer

    spec = json.loads(tok.to_str())
    vocab, merges = spec["model"]["vocab"], spec["model"]["merges"]
    made = list(dict.fromkeys("".join(m) if isinstance(m, list) else m.replace(" ", "") for m in merges))
    special = sorted((t for t in vocab if t in SPECIALS), key=vocab.get)
    alphabet = sorted(set(vocab) - set(special) - set(made))
    order = special + alphabet + [t for t in made if t in vocab and t not in special]
    if len(order) != len(vocab):  # not the shape expected: keep the trainer's ids rather than guess
        return tok
    spec["model"]["vocab"] = {t: i for i, t in enumerate(order)}
    return Tokenizer.from_str(json.dumps(spec))


def _no_vocabulary(what: str, min_frequency: int):
    if min_frequency > 1:
        raise DataError(f"no {what[:-1]} of the corpus is seen {min_frequency} times or more ({{min_frequency}}), so "
                        "there is no vocabulary to learn; lower {min_frequency} or give more text.",
                        params=["min_frequency"])
    raise DataError(f"the corpus has no {what} to learn a vocabulary from; give it some text.")


UNKNOWN_SHARE = 0.1  # a vocabulary that reads more of the training tokens than this as <unk> is warned of


def warn_unknown_share(unknown: int, total: int, trained=None, where: str = "the text",
                       validating: bool = False) -> None:
    """Warn when over :data:`UNKNOWN_SHARE` of the tokens read are <unk>: in training (``trained``: the tokenizer
    just trained) a small {vocab_size} or a high {min_frequency} is the cause; in an evaluation of ``where``, text
    unlike the training corpus, whose figures then say little."""
    if not total or unknown / total <= UNKNOWN_SHARE:
        return
    from seqtext.errors import warn

    share = f"{100 * unknown / total:.0f} % of the"
    if trained is not None:  # a character vocabulary has no size to raise: every character seen often enough
        remedy = "lower {min_frequency}" if is_char(trained) else "raise {vocab_size} or lower {min_frequency}"
        warn(f"{share} training tokens are outside the vocabulary of {trained.get_vocab_size()} entries and are "
             f"read as <unk>, which the model then learns to predict; {remedy} to keep more of them.",
             params=["vocab_size", "min_frequency"])
    elif validating:  # the validation text given for a training
        warn(f"{share} tokens of {where} are outside the vocabulary and are read as <unk>, which is easy to predict, "
             "so the validation figures will flatter the model; give {valid} text like the training corpus.",
             params=["valid"])
    else:
        warn(f"{share} tokens of {where} are outside the model's vocabulary and are read as <unk>, so these "
             "figures say little about its words; evaluate on text like the training corpus.")


def _char_pipeline(vocab: dict | None = None):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK) if vocab else models.WordLevel(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_ANY_CHAR), behavior="isolated")
    # per token first (a literal "<unk>" in the text is five tokens and stays as typed), then joined
    tok.decoder = decoders.Sequence([decoders.Replace(UNK, UNKNOWN_CHAR), decoders.Fuse()])
    return tok


def _train_chars(texts: Iterable[str], min_frequency: int):
    """A character vocabulary: every character of ``texts`` seen ``min_frequency`` times, and the line break."""
    from tokenizers import trainers

    counter = _char_pipeline()
    trainer = trainers.WordLevelTrainer(vocab_size=1 << 22, min_frequency=min_frequency, special_tokens=SPECIALS,
                                        show_progress=False)  # a vocabulary of every character seen
    counter.train_from_iterator(texts, trainer=trainer)
    vocab = counter.get_vocab(with_added_tokens=False)  # the specials first, as plain entries
    if len(vocab) <= len(SPECIALS):
        _no_vocabulary("characters", min_frequency)
    vocab.setdefault(LINE_BREAK, len(vocab))  # a stream starts after one, even if the corpus has none
    # rebuilt without the trainer's added tokens, so that "<s>" in a text is never one token
    return _char_pipeline(vocab)


def is_char(tok) -> bool:
    """Whether ``tok`` is a character tokenizer (see the module docstring)."""
    return type(tok.pre_tokenizer).__name__ == "Split" and type(tok.model).__name__ == "WordLevel"


def check_kind(tok, said: str | None, path, config: str = "config.json", redo: str = "retrain the model") -> None:
    """Refuse a tokenizer (read from ``path``) of another kind than the ``config`` file ``said`` (edited by hand)."""
    kind = "char" if is_char(tok) else "bpe" if is_bpe(tok) else "word"
    if said is not None and kind != said:
        raise CheckpointError(f"{path} is a {kind} tokenizer but {config} says \"tokenizer\": \"{said}\"; set it "
                              f"back to \"{kind}\", or {redo}.")


def line_ids(tok, stream_mode: bool) -> tuple[int, int]:
    """(the id a line is read after, the id that ends it), as the model saw lines in training.

    Sentence mode frames each line as <s> ... </s>; a stream-mode word model
    reads it after the </s> of the previous line; a stream-mode character
    model reads raw text, where a line starts after a line break and ends
    with one.
    """
    if stream_mode and is_char(tok):
        newline = tok.token_to_id(LINE_BREAK)
        return newline, newline
    return tok.token_to_id(EOS if stream_mode else BOS), tok.token_to_id(EOS)


def save_tokenizer(tok, path: str | Path) -> None:
    tok.save(str(path))


def load_tokenizer(path: str | Path):
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
        raise CheckpointError(
            f"{path} is not a readable tokenizer file ({first_line(exc)}); retrain the model."
        ) from None
    missing = [s for s in SPECIALS if tok.token_to_id(s) is None]
    if missing:
        raise CheckpointError(f"{path} lacks the special tokens {', '.join(missing)}; retrain the model.")
    return tok



def is_bpe(tok) -> bool:
    return type(tok.model).__name__ == "BPE"


def token_ends_word(tok, token: str) -> bool:
    """Whether ``token`` closes a word (always, for a word-level model)."""
    return not is_bpe(tok) or token.endswith(WORD_END)


def token_text(token: str) -> str:
    return token[: -len(WORD_END)] if token.endswith(WORD_END) else token


def non_word_ids(tok) -> list[int]:
    """The ids of tokens that are no word (punctuation, symbols): never a blank's fill, nor its first token."""
    return sorted(i for token, i in tok.get_vocab().items()
                  if token not in SPECIALS and not is_wordlike(token_text(token)))


PAUSES = set(",;:([{-–—")  # punctuation that goes on with the sentence


def pause_ids(tok) -> list[int]:
    """The ids of punctuation that goes on with the sentence (a comma, a colon, a dash, an opening bracket): never
    written after a filled trailing blank's word, which only closing punctuation may follow."""
    return sorted(i for token, i in tok.get_vocab().items()
                  if token not in SPECIALS and token_text(token) and set(token_text(token)) <= PAUSES)


def spans(text: str, offsets) -> list[tuple[int, int]]:
    """The tokenizer's ``offsets`` into ``text``, each span carried on over the combining marks after it that no
    token of their own covers: NFKC joins a letter written apart from its accent (NFD 'café') into one character,
    whose offsets then end before the accent (a character model's mark is a token of its own)."""
    import unicodedata
    from bisect import bisect_left

    offsets = list(offsets)
    starts = [start for start, _ in offsets]  # in order: the next token at or after a span's end is found by bisection
    out = []
    for i, (start, end) in enumerate(offsets):
        j = bisect_left(starts, end, lo=i + 1)
        limit = starts[j] if j < len(starts) else len(text)
        while end < limit and unicodedata.combining(text[end]):
            end += 1
        out.append((start, end))
    return out


def unknown_words(tok, text: str) -> list[str]:
    """The words of ``text`` that the vocabulary maps to <unk>, in order, once each (of BPE pieces, the whole
    word a piece is part of: ``zxqv``, not its pieces ``q`` and ``v``)."""
    enc = tok.encode(text, add_special_tokens=False)
    unk = tok.token_to_id(UNK)
    places = spans(text, enc.offsets)
    if is_bpe(tok):  # each piece's span widened to its word's, as the pre-tokenizer split the text
        extent: dict = {}
        for word, (start, end) in zip(enc.word_ids, places):
            if word is not None:
                first, last = extent.get(word, (start, end))
                extent[word] = (min(first, start), max(last, end))
        places = [extent.get(word, place) for word, place in zip(enc.word_ids, places)]
    seen: list[str] = []
    for tid, (start, end) in zip(enc.ids, places):
        word = text[start:end]
        if tid == unk and word not in seen:
            seen.append(word)
    return seen

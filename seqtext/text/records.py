"""Per-sentence score records, the same for the torch model and the exported (torch-free) runtime.

Given each sentence's token log-probabilities (a numpy array, from whichever
engine read it), the records of ``seqtext score``: ``text``, ``logprob``,
``tokens``, ``perplexity``, ``unknown`` (and ``surprisal_bits``), and their
totals with and without the tokens the vocabulary does not hold.
"""

from __future__ import annotations

import math

import numpy as np

from seqtext.errors import DataError, as_list
from seqtext.text import tokenizer as tk


class Scores(list):
    """Per-sentence records (dicts) with ``summary``: the totals over all of them.

    ``summary``: sentences, tokens, logprob, perplexity, and the same without
    the tokens the vocabulary does not hold (``unknown_tokens``,
    ``perplexity_known``), as language-model papers report both.
    """

    summary: dict


def check_sentences(sentences) -> list[str]:
    """The sentences as a list; one sentence may be given as a str; none may be empty."""
    sentences = as_list(sentences, "the sentences to score")
    if not sentences:
        raise DataError("there are no sentences to score; give at least one.")
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise DataError(f"sentence {i + 1} is {type(sentence).__name__}, not a string; give the sentences as "
                            "strings.")
        if not sentence.strip():
            raise DataError(f"sentence {i + 1} is empty; give some words to score.")
    return sentences


def frame(tokenizer, sentence: str, stream_mode: bool) -> list[int]:
    """A sentence as the model reads it alone: start token, its tokens, </s>.

    A sentence-mode model saw every line start with <s>; a stream-mode model
    saw each line after the </s> that ended the previous one (a character
    model: between line breaks, ``tokenizer.line_ids``).
    """
    start, end = tk.line_ids(tokenizer, stream_mode)
    ids = tokenizer.encode(sentence, add_special_tokens=False).ids
    return [start, *ids, end]


def token_texts(tokenizer, sentence: str, seq: list[int]) -> list[str]:
    """The text of each scored token of ``seq`` (``sentence`` framed): its span of the sentence as written (an
    unknown word as typed, not <unk>), then the token that ends the line (</s>, or a character model's line break).
    Joined, they give the sentence's characters but its spaces, each once, and that last token."""
    texts, end = [], 0
    for start, stop in tk.spans(sentence, tokenizer.encode(sentence, add_special_tokens=False).offsets):
        # a character that normalisation splits into several tokens (NFKC: "½" -> "1", "⁄", "2") is their
        # shared span: the first token shows it, the others "", so no character shows twice
        texts.append(sentence[max(start, end):stop])
        end = max(end, stop)
    return texts + [tk.token_text(tokenizer.id_to_token(seq[-1]))]


def _ppl(logprob: float, tokens: int) -> float:
    return math.exp(min(-logprob / max(tokens, 1), 700.0))


def build(tokenizer, sentences: list[str], seqs: list[list[int]], logps, surprisal: bool = False) -> Scores:
    """The records of ``sentences`` framed as ``seqs``, with ``logps[i]`` the log-probabilities of seqs[i][1:]."""
    unk = tokenizer.token_to_id(tk.UNK)
    records = Scores()
    total, known, n_tokens, n_unknown = 0.0, 0.0, 0, 0
    for sentence, seq, logp in zip(sentences, seqs, logps):
        logp = np.asarray(logp, dtype=np.float64)
        lp, n = float(logp.sum()), len(seq) - 1
        record = {"text": sentence, "logprob": lp, "tokens": n, "perplexity": _ppl(lp, n),
                  "unknown": tk.unknown_words(tokenizer, sentence)}
        if surprisal:
            record["surprisal_bits"] = (-logp / math.log(2)).tolist()
            record["token_texts"] = token_texts(tokenizer, sentence, seq)
        records.append(record)
        is_unk = np.asarray(seq[1:]) == unk
        total, n_tokens = total + lp, n_tokens + n
        known, n_unknown = known + float(logp[~is_unk].sum()), n_unknown + int(is_unk.sum())
    records.summary = {"sentences": len(records), "tokens": n_tokens, "logprob": total,
                       "perplexity": _ppl(total, n_tokens), "unknown_tokens": n_unknown,
                       "perplexity_known": _ppl(known, n_tokens - n_unknown)}
    return records

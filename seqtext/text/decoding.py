"""Choosing the next token: greedy by default, or sampling with temperature,
top-k and top-p (nucleus) filtering.

All functions take the logits of one step, shape (V,), and never modify them.
torch is imported inside them, so the CLI can read the defaults below cheaply.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from seqtext.errors import ConfigError, DataError, true_or_false, warn, whole_number

if TYPE_CHECKING:
    import torch


def check_sampling(temperature: float | None, top_k: int | None, top_p: float | None, seed: int | None = None) -> None:
    """Refuse a sampling option out of range; warn of a ``seed`` that cannot matter (greedy decoding)."""
    if temperature is not None and not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
                                        and temperature >= 0):
        raise ConfigError(f"{{temperature}} must be a number of at least 0, got {temperature!r}.", params=["temperature"])
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"{{top_k}} must be a whole number of at least 1, got {top_k!r}.", params=["top_k"])
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ConfigError(f"{{top_p}} must be a number in (0, 1], got {top_p!r}.", params=["top_p"])
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                             or not 0 <= seed < 2**64):
        raise ConfigError(f"{{seed}} must be a whole number from 0 to 2^64 - 1, got {seed!r}.", params=["seed"])
    if seed is not None and not is_sampling(temperature, top_k, top_p):
        greedy = temperature == 0  # top-k and top-p filter what is sampled, and temperature 0 samples nothing
        without = "with {temperature} 0 (greedy)" if greedy else "without {temperature}, {top_k} or {top_p}"
        remedy = "a {temperature} above 0" if greedy else "a {temperature} above 0, {top_k} or {top_p}"
        warn(f"{{seed}} seeds sampling, but {without} each word is the likeliest one, so the seed changes nothing; "
             f"sample with {remedy}.", params=["seed", "temperature", "top_k", "top_p"])


def streamed_blank(blank: str) -> DataError:
    """A ``blank`` is filled in place, with the words after it read: it cannot be streamed."""
    return DataError(f"a {blank} blank is filled in place, not streamed; complete it without {{stream}}.",
                     params=["stream"])


def is_sampling(temperature: float | None, top_k: int | None, top_p: float | None) -> bool:
    """Greedy unless a sampling option is given (temperature 0 is greedy too)."""
    if temperature is not None and temperature == 0:
        return False
    return temperature is not None or top_k is not None or top_p is not None


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to -inf every logit outside the top-k and outside the top-p nucleus."""
    import torch

    out = logits.clone()
    if top_k is not None and top_k < out.numel():
        kth = torch.topk(out, top_k).values[-1]
        out[out < kth] = -math.inf
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(out, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        # keep the smallest prefix whose mass reaches top_p (always the first token)
        drop = cum - torch.softmax(sorted_logits, dim=-1) >= top_p
        out[order[drop]] = -math.inf
    return out


def choose(
    logits: torch.Tensor,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> int:
    """The next token id: argmax, or a sample from the filtered, tempered softmax."""
    import torch

    if not is_sampling(temperature, top_k, top_p):
        return int(torch.argmax(logits))
    scaled = logits.double() / (temperature if temperature is not None else 1.0)  # float64: tiny temperatures
    probs = torch.softmax(filter_logits(scaled, top_k, top_p), dim=-1)
    if not torch.isfinite(probs).all() or probs.sum() <= 0:
        return int(torch.argmax(logits))  # a temperature so small (or large) that it underflows: the limit is greedy
    # Inverse-CDF draw: one uniform number and a binary search; torch.multinomial costs ~15x
    # more on a 10k-word vocabulary.  right=True never lands on a zero-probability token.
    cdf = probs.cumsum(0)
    u = torch.rand(1, generator=generator, dtype=cdf.dtype) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), cdf.numel() - 1)


# The defaults of a continuation (complete, stream), chosen by measurement (scripts/bench_repetition.py: a
# 2 x 200 LSTM trained on PTB, 100 greedy continuations of 100 words from PTB test prefixes): without
# control every continuation loops (distinct 4-grams 0.28); a 4-gram ban with a light penalty removes the
# loops (distinct 4-grams 1.00) at the smallest perplexity cost found (6.7 against 5.9 with loops; a
# 3-gram ban 7.5, penalty 1.3 alone 10.0, a 2-gram ban 12.0).  None (or a penalty of 1) turns either off.
DEFAULT_NO_REPEAT_NGRAM = 4
DEFAULT_REPETITION_PENALTY = 1.1


def check_repetition(no_repeat_ngram: int | None, repetition_penalty: float | None) -> None:
    if no_repeat_ngram is not None and (isinstance(no_repeat_ngram, bool) or not isinstance(no_repeat_ngram, int)
                                        or no_repeat_ngram < 1):
        raise ConfigError(f"{{no_repeat_ngram}} must be a whole number of at least 1, got {no_repeat_ngram!r}.",
                          params=["no_repeat_ngram"])
    if repetition_penalty is not None and not (isinstance(repetition_penalty, (int, float))
                                               and not isinstance(repetition_penalty, bool)
                                               and 1e-3 <= repetition_penalty <= 1e3):
        # beyond, a float32 logit divided or multiplied by it overflows or underflows (a banned token's -inf
        # times 0 is NaN, and the specials it bans could be written); 1.1 to 1.5 are the values in use
        raise ConfigError(f"{{repetition_penalty}} must be a number from 0.001 to 1000, got {repetition_penalty!r}.",
                          params=["repetition_penalty"])


def check_generation(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop) -> None:
    """Every setting of a continuation, checked alike for the torch model and the exported runtime."""
    true_or_false("stop", stop)
    check_sampling(temperature, top_k, top_p, seed)
    check_repetition(no_repeat_ngram, repetition_penalty)
    whole_number("words", words)


def ends_line(text: str) -> bool:
    """Whether a prompt ends with a line break (spaces or tabs after it aside): a continuation written past the end
    of a sentence then starts on that line, not with an empty one."""
    return text.rstrip(" \t").endswith("\n")


def barred_next(close: bool, pieces: list, n_words: int, max_words: int, first, after, banned,
                line_ended: bool = False, line_banned=None):
    """The tokens barred next in a continuation (torch model and exported runtime alike): a trailing blank's
    (``close``) first token must begin a word (``first``), and after its word only closing punctuation may come
    (``after``); otherwise, and inside a word, ``banned``.  Right after a line break (``line_ended``: the end of a
    sentence written on with ``stop=False``) ``line_banned``, the end of a sentence among them: no empty line (an
    untrained model would otherwise end one sentence after another, nothing between, up to the token bound)."""
    if close and not pieces:
        return first if n_words == 0 else after if n_words >= max_words else banned
    return line_banned if line_ended else banned


class Repetition:
    """Repetition control over the tokens read and written so far (prompt and output).

    ``no_repeat_ngram`` N: a token that would complete an N-gram already
    present is banned (its logit set to -inf).  ``repetition_penalty`` P (the
    CTRL paper's): the logit of every token already present is divided by P
    when positive and multiplied by P when negative.  ``push(token)`` adds a
    token; ``apply(logits)`` returns adjusted logits (a copy) in O(banned + seen).
    Tokens in ``free`` (the end of a sentence) are neither banned nor
    penalised: every sentence ends, however often the text has ended one the
    same way (with the end banned, ``--no-stop`` wrote ``his..``).
    """

    def __init__(self, no_repeat_ngram: int | None = None, repetition_penalty: float | None = None,
                 tokens=(), free=()):
        check_repetition(no_repeat_ngram, repetition_penalty)
        self.n = no_repeat_ngram
        self.free = set(free)
        self.penalty = repetition_penalty if repetition_penalty not in (None, 1.0) else None
        self.tokens: list[int] = []
        self.seen: set[int] = set()
        self.following: dict[tuple, set[int]] = {}  # (N-1)-gram -> tokens that followed it
        for token in tokens:
            self.push(token)

    @classmethod
    def of_text(cls, tokenizer, no_repeat_ngram: int | None, repetition_penalty: float | None,
                tokens) -> "Repetition":
        """The repetition control of a text model's continuation (torch or exported, words or characters): the
        tokens read so far, its end of sentence free."""
        from seqtext.text.tokenizer import EOS

        return cls(no_repeat_ngram, repetition_penalty, tokens, free=[tokenizer.token_to_id(EOS)])

    @property
    def active(self) -> bool:
        return self.n is not None or self.penalty is not None

    def push(self, token: int) -> None:
        self.tokens.append(token)
        if token in self.free:
            return
        self.seen.add(token)
        if self.n is not None and len(self.tokens) >= self.n:
            key = tuple(self.tokens[len(self.tokens) - self.n:-1])
            self.following.setdefault(key, set()).add(token)

    def banned(self) -> list[int]:
        """Tokens that would repeat an N-gram if written next."""
        if self.n is None or len(self.tokens) < self.n - 1:
            return []
        key = tuple(self.tokens[len(self.tokens) - self.n + 1:]) if self.n > 1 else ()
        return sorted(self.following.get(key, ()))

    def apply(self, logits):
        """``logits`` (V,), a torch tensor or a numpy array, adjusted for what has been read and written.

        The same code serves the torch model and the exported numpy runtime; the input is left as it was.
        """
        if not self.active:
            return logits
        out = logits.clone() if hasattr(logits, "clone") else logits.copy()
        if self.penalty is not None and self.seen:
            ids = sorted(self.seen)
            values = out[ids]
            # positive logits divided by P, negative ones multiplied by P
            out[ids] = values * ((values > 0) * (1.0 / self.penalty) + (values <= 0) * self.penalty)
        banned = self.banned()
        if banned:
            out[banned] = -math.inf
        return out

"""Next-word suggestions while typing, with the recurrent state carried between keystrokes.

A text is read as its finished part (every word closed by white space or
punctuation) and the word being typed (its last word when nothing closes it:
``"Mary rides the bicy"`` is ``"Mary rides the "`` and ``"bicy"``).  Only the
finished part is read by the network, one fused core step per token
(``TextNet.step``), and the hidden state after each token is cached along the
current text:

* a character typed inside a word costs no core step: the candidates are the
  vocabulary words that start with the typed part, ranked by the distribution
  already computed at the last word boundary;
* closing a word (a space, a punctuation mark) costs one step per new token;
* a backspace or an edit returns to the longest cached prefix of the new
  text and reads only what follows it, never the whole line again.

The cache keeps the state after each of the last ``RECENT_STATES`` tokens
and, further back, after every ``CHECKPOINT_EVERY``-th token, so memory stays
bounded on a long text and an edit far back re-reads at most
``CHECKPOINT_EVERY`` tokens.  ``Suggester.steps`` counts the core steps taken.

Probabilities: the model's next-token distribution with the special tokens
(<pad>, <unk>, <s>, </s>) removed and renormalised, as in
``TextModel.next_words``.  Inside a word, each candidate's probability is
that of the whole word as the next word; it is *not* renormalised over the
words matching the typed part (so the list sums to at most 1, and a low sum
says the typed part is unlikely).  A sentence-mode model reads the text after
<s>, a stream-mode model after </s>, as ``TextModel.complete`` does.

Word-level models offer vocabulary words (punctuation included).  A BPE model
offers whole words too: its likeliest first pieces (those that start with the
typed part) are each spelled on greedily to the end of a word, one batched core
step a piece (``seqtext.text.blankwords.spell``), and the typed part's own
pieces but its last are read first (``bicy``: ``bi`` read, then the pieces
that start with ``cy``); the probability shown is that of the word's pieces
as spelled, a lower bound on the word's (which could be spelled otherwise).
"""

from __future__ import annotations

import bisect
import math
import threading
import weakref

import numpy as np
import torch

from seqtext.errors import DataError, whole_number
from seqtext.text import tokenizer as tk
from seqtext.text.casing import cased
from seqtext.text.decoding import Repetition, check_repetition

RECENT_STATES = 512  # tokens at the end of the text whose hidden state is kept
CHECKPOINT_EVERY = 64  # further back, the state is kept after every this many tokens
RECENT_LOGITS = 16  # tokens at the end of the text whose output distribution is kept
SPELLED = 16  # a BPE model's first pieces spelled on to whole words (at least k)
MAX_TYPED_PIECES = 32  # a typed word read in more pieces than this is offered nothing


class Suggester:
    """Suggestions for a text being typed, from a trained ``TextNet`` and its tokenizer.

    Not for concurrent use from several threads on different texts: calls
    are serialised by a lock, and each moves the cache to its own text.
    """

    def __init__(self, net, tokenizer, device, stream_mode: bool, casing: dict | None = None):
        if tk.is_char(tokenizer):
            raise DataError("suggestions are words from the model's vocabulary, and a character model has none; "
                            "use {TextModel.complete} to continue the text a character at a time.",
                            params=["TextModel.complete"])  # `seqtext complete` on the command line
        self.net, self.tokenizer, self.device, self.stream_mode = net, tokenizer, device, stream_mode
        self.casing = casing or {}  # words offered in their training text's form (seqtext.text.casing)
        self.steps = 0  # core steps taken, all calls together
        self._start = tokenizer.token_to_id(tk.EOS if stream_mode else tk.BOS)
        self._tokens: list[int] = []  # the tokens read: the start token, then the finished part of the text
        self._states: list = []  # hidden state after each of them (None where dropped)
        self._logits: list = []  # next-token logits (V,) after each of them (None where dropped)
        self._lock = threading.Lock()
        self._banned = torch.tensor([tokenizer.token_to_id(t) for t in tk.SPECIALS], device=device)
        self._bpe = tk.is_bpe(tokenizer)  # then every piece may begin a word, spelled on to its end
        offered = sorted((tk.token_text(token), tid) for token, tid in tokenizer.get_vocab().items()
                         if token not in tk.SPECIALS)
        self._words = [word for word, _ in offered]  # sorted: the words with a given start are one slice
        self._ids = torch.tensor([tid for _, tid in offered], dtype=torch.long, device=device)
        self._barred = [tokenizer.token_to_id(t) for t in tk.SPECIALS] + tk.non_word_ids(tokenizer) \
            if self._bpe else []  # never read on inside a word
        self._inner = {tk.token_text(token): tid for token, tid in tokenizer.get_vocab().items()  # pieces that
                       if self._bpe and token not in tk.SPECIALS and not token.endswith(tk.WORD_END)}  # go on

    def reset(self) -> None:
        """Forget the cached states (the next call reads its text from the start)."""
        with self._lock:
            del self._tokens[:], self._states[:], self._logits[:]

    # ------------------------------------------------------------------ reading the text

    def split(self, text: str) -> tuple[str, str]:
        """``(finished part, word being typed)`` of ``text``; the word is "" after a space or punctuation.

        The word is open when a letter typed next would extend it, as the
        tokenizer's pre-tokenizer splits the text (so with punctuation kept
        inside words, as for PTB, ``"u.s."`` is still being typed).
        """
        if not text or text[-1].isspace():
            return text, ""
        pre = self.tokenizer.pre_tokenizer
        if pre is None:
            start = len(text) - len(text.split()[-1])
        else:
            start = pre.pre_tokenize_str(text + "a")[-1][1][0]
            if start >= len(text):
                return text, ""
        return text[:start], text[start:]

    def _normalize(self, text: str) -> str:
        norm = self.tokenizer.normalizer
        return norm.normalize_str(text) if norm is not None else text

    def _read(self, tokens: list[int]) -> torch.Tensor:
        """The next-token logits (V,) after ``tokens``, stepping only past the longest cached prefix."""
        common = 0
        limit = min(len(tokens), len(self._tokens))
        while common < limit and tokens[common] == self._tokens[common]:
            common += 1
        keep = common  # back off to the last cached entry that has what is needed
        while keep > 0:
            if keep == len(tokens) and self._logits[keep - 1] is not None:
                break
            if keep < len(tokens) and self._states[keep - 1] is not None:
                break
            keep -= 1
        del self._tokens[keep:], self._states[keep:], self._logits[keep:]
        if keep == len(tokens):
            return self._logits[-1]
        hidden = self._states[-1] if self._states else None
        for token in tokens[keep:]:
            logits, hidden = self.net.step(torch.tensor([token], device=self.device), hidden)
            self.steps += 1
            self._push(token, hidden, logits[0])
        return self._logits[-1]

    def _push(self, token: int, hidden, logits: torch.Tensor) -> None:
        """Cache one position; thin out the older ones (O(1) per token)."""
        self._tokens.append(token)
        self._states.append(hidden)
        self._logits.append(logits)
        n = len(self._tokens)
        if n > RECENT_LOGITS:
            self._logits[n - 1 - RECENT_LOGITS] = None
        old = n - 1 - RECENT_STATES
        if old > 0 and old % CHECKPOINT_EVERY:
            self._states[old] = None

    # ------------------------------------------------------------------ suggestions

    @torch.inference_mode()
    def suggest(self, text: str, k: int = 5, no_repeat_ngram: int | None = None,
                repetition_penalty: float | None = None) -> list[tuple[str, float]]:
        """The ``k`` likeliest words to type next, as ``(word, probability)``, likeliest first.

        When ``text`` ends inside a word, the likeliest vocabulary words that
        start with the typed part (compared after the tokenizer's
        normalisation, so case does not matter); otherwise the likeliest next
        words.  Special tokens are never offered, nor a word of probability 0
        (one banned by ``no_repeat_ngram``), so the list can be shorter than
        ``k``.  Repetition control counts the tokens of the finished part.
        """
        whole_number("k", k)
        check_repetition(no_repeat_ngram, repetition_penalty)
        if not isinstance(text, str):
            raise DataError(f"the text to suggest for must be a string, got {type(text).__name__}.")
        done, typed = self.split(text)
        ids = self.tokenizer.encode(done, add_special_tokens=False).ids
        head, prefix = _typed_pieces(self, self._normalize(typed)) if self._bpe else ([], self._normalize(typed))
        if head is None:
            return []
        with self._lock:
            logits, head_logp = self._read([self._start, *ids]), 0.0
            for j, piece in enumerate(head):  # the typed pieces read one at a time: each one's probability
                head_logp += float(torch.log_softmax(logits.index_fill(0, self._banned, -math.inf), dim=0)[piece])
                logits = self._read([self._start, *ids, *head[:j + 1]])
            hidden = self._states[-1]
        if no_repeat_ngram is not None or repetition_penalty is not None:
            logits = Repetition(no_repeat_ngram, repetition_penalty, tokens=ids + head).apply(logits)
        probs = torch.softmax(logits.index_fill(0, self._banned, -math.inf), dim=0)
        lo, hi = self._slice(prefix)
        if lo >= hi:
            return []
        candidates = probs[self._ids[lo:hi]]
        top = torch.topk(candidates, min(max(k, SPELLED) if self._bpe else k, hi - lo))
        found = [(int(self._ids[lo + int(i)]), float(p)) for p, i in zip(top.values, top.indices) if p > 0]
        if not self._bpe:
            return cased([(tk.token_text(self.tokenizer.id_to_token(i)), p) for i, p in found], self.casing)
        with self._lock:
            return cased(_spelled(self, found, hidden, "".join(tk.token_text(self.tokenizer.id_to_token(i))
                                                               for i in head), head_logp)[:k], self.casing)

    def _slice(self, prefix: str) -> tuple[int, int]:
        """The range of the offered words (or pieces) that start with ``prefix``."""
        if not prefix:
            return 0, len(self._words)
        lo = bisect.bisect_left(self._words, prefix)
        return lo, bisect.bisect_left(self._words, prefix + "\U0010ffff", lo)

    def _starting(self, prefix: str) -> bool:
        lo, hi = self._slice(prefix)
        return lo < hi

    def accept(self, text: str, word: str, close: bool = True) -> str:
        """``text`` with ``word`` (a suggestion for it) in place of the word being typed.

        Spaced and capitalised as ``TextModel.complete`` writes words; the
        letters already typed keep their case, unless the word is offered in
        its training text's form (a name: ``pa`` + ``Paul`` is ``Paul``).  ``close``: end with a space
        when the word would otherwise still read as being typed, so that the
        next suggestions are for the word after it.
        """
        done, typed = self.split(text)
        if typed and len(self._normalize(typed)) == len(typed) and word.startswith(self._normalize(typed)):
            word = typed + word[len(typed):]
        base = done.rstrip()
        out = base + tk.join_words([word], after=base)
        if close and self.split(out)[1]:
            out += " "
        return out


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # TextModel -> (Suggester, weights version)
_SHARED_LOCK = threading.Lock()


def _typed_pieces(s: Suggester, typed: str):
    """A BPE model's typed part as (pieces to read first, the prefix the next piece must start with): none
    when a piece starts with the whole of it, else the longest pieces inside a word that begin it, in turn,
    until one starts with the rest; (None, "") when none does."""
    head = []
    while typed and not s._starting(typed):
        inner = next((typed[:n] for n in range(len(typed) - 1, 0, -1) if typed[:n] in s._inner), None)
        if inner is None or len(head) >= MAX_TYPED_PIECES:
            return None, ""
        head.append(s._inner[inner])
        typed = typed[len(inner):]
    return head, typed


def _spelled(s: Suggester, found, hidden, head: str, head_logp: float) -> list[tuple[str, float]]:
    """A BPE model's first pieces ``found`` ((id, probability), from ``hidden``) spelled on greedily to whole
    words after the typed pieces ``head``: (word, probability), likeliest first, each word once."""
    from seqtext.core import map_hidden, map_hidden_pair
    from seqtext.text import blankwords

    if not found:
        return []
    rows = len(found)

    def step(ids, state):
        s.steps += 1
        out, state = s.net.step(torch.as_tensor(ids, device=s.device), state)
        out = out.float().index_fill(1, s._banned, -math.inf)  # as the first piece's: no specials
        return torch.log_softmax(out, dim=-1).cpu().numpy().astype(np.float64), state

    def keep(new, old, active):
        mask = torch.as_tensor(active, device=s.device)[None, :, None]
        return map_hidden_pair(new, old, lambda a, b: torch.where(mask, a, b))

    def ends(i):
        return tk.token_ends_word(s.tokenizer, s.tokenizer.id_to_token(i))

    start = map_hidden(hidden, lambda t: t.expand(-1, rows, -1).contiguous())
    pieces, gained, _, _ = blankwords.spell([i for i, _ in found], start, step, keep, ends, s._barred)
    words = [head + "".join(tk.token_text(s.tokenizer.id_to_token(i)) for i in p) for p in pieces]
    logp = np.log([p for _, p in found]) + gained + head_logp
    best: dict[str, float] = {}
    for word, value in zip(words, np.exp(logp).tolist()):
        best[word] = max(best.get(word, 0.0), value)  # a word spelled from two first pieces: its likelier spelling
    return sorted(best.items(), key=lambda item: -item[1])


def _weights_version(net) -> int:
    """Changes whenever a parameter is modified in place (training, load_state_dict)."""
    return sum(p._version for p in net.parameters())


def suggester_for(model) -> Suggester:
    """The ``Suggester`` kept for a trained ``TextModel``, so that successive calls share its cache.

    A new one is made when the model's network, tokenizer or weights changed.
    """
    with _SHARED_LOCK:
        found = _SHARED.get(model)
        version = _weights_version(model.net)
        if (found is None or found[0].net is not model.net or found[0].tokenizer is not model.tokenizer
                or found[1] != version):
            found = _SHARED[model] = (Suggester(model.net, model.tokenizer, model.device,
                                                model.settings.text.mode == "stream", model.task.casing), version)
        return found[0]

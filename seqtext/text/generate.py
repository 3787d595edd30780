"""Reading a prompt and writing words: blank filling, continuation, the likeliest next words.

A ``___`` in a prompt is filled in place: the candidates for the blank are
ranked by the probability of the whole sentence, so the words after the
blank count.  Without a blank, words are generated from the carried hidden
state, one fused core step per token, greedily or sampled
(``seqtext.text.decoding``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from seqtext.core import map_hidden, map_hidden_pair
from seqtext.errors import whole_number
from seqtext.text import blankwords
from seqtext.text import tokenizer as tk
from seqtext.text.casing import cased
from seqtext.text.decoding import (DEFAULT_NO_REPEAT_NGRAM, DEFAULT_REPETITION_PENALTY, Repetition, barred_next,
                                   ends_line, check_generation, choose, is_sampling, streamed_blank)
from seqtext.text.prompts import (BLANK, FILL_CANDIDATES, MAX_CONTEXT, Completion, filled, parse_prompt,
                                  suffix_ids, without_blank)
from seqtext.text.spacing import join_words, may_be_decimal, spaced



class Completer:
    """Completion and next-word ranking with a trained network and its tokenizer.

    ``stream_mode``: the model was trained on running text, so a prompt starts
    after a ``</s>`` (as every line did in training) rather than at ``<s>``.
    """

    def __init__(self, net, tokenizer, device, stream_mode: bool, casing: dict | None = None):
        self.net, self.tokenizer, self.device, self.stream_mode = net, tokenizer, device, stream_mode
        self.casing = casing or {}  # names written as the training text writes them (seqtext.text.casing)

    def _prefix_state(self, prefix: str):
        """Run <s> + prefix through the net: (logits of the next token (V,), hidden)."""
        enc = self.tokenizer.encode(prefix, add_special_tokens=False)
        # cut to its last MAX_CONTEXT tokens (bounded memory and latency), a prompt starts as lines did in training:
        # after <s>, or for a stream model after the </s> that ended the line before (a character model: a break)
        ids = [tk.line_ids(self.tokenizer, self.stream_mode)[0], *enc.ids[-MAX_CONTEXT:]]
        x = torch.tensor([ids], device=self.device)  # (1, T)
        logits, _, hidden = self.net(x, last_only=True)
        return logits[0, -1], hidden, ids

    def _banned(self, words_only: bool = False, pauses: bool = False) -> list[int]:
        """Specials no text holds; with ``words_only`` (a blank's word) punctuation and symbols too; with
        ``pauses`` (after a trailing blank's word) the punctuation that goes on with the sentence."""
        specials = [self.tokenizer.token_to_id(t) for t in (tk.PAD, tk.UNK, tk.BOS)]
        if (words_only or pauses) and not hasattr(self, "_non_words"):
            self._non_words, self._pauses = tk.non_word_ids(self.tokenizer), tk.pause_ids(self.tokenizer)
        return specials + (self._non_words if words_only else []) + (self._pauses if pauses else [])

    @torch.inference_mode()
    def complete(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, stop: bool = True,
                 no_repeat_ngram: int | None = DEFAULT_NO_REPEAT_NGRAM,
                 repetition_penalty: float | None = DEFAULT_REPETITION_PENALTY) -> Completion:
        """Fill the prompt's ``___`` in place, or continue the prompt.

        See :meth:`seqtext.text.model.TextModel.complete`; the repetition
        defaults were measured (``seqtext.text.decoding``), None turns each
        off, and they never touch blank filling.
        """
        options = self._options(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        prefix, suffix = parse_prompt(prompt)
        logits, hidden, ids = self._prefix_state(prefix)
        unknown = self.unknown_words(prompt)
        if suffix is not None and suffix.strip():
            word = self._fill(logits, hidden, suffix, options["sample"])
            return Completion(filled(prefix, word, suffix, self.casing), prompt, [self.casing.get(word, word)],
                              unknown)
        if suffix is not None and tk.is_bpe(self.tokenizer):  # a trailing blank: one word, then the sentence closed
            word, logits, hidden = _bpe_word(self, logits, hidden, suffix, options["sample"])
            generated = [word, *self._words(logits, hidden, 1, options["sample"], close=True, placed=1)]
        elif suffix is not None:
            generated = list(self._words(logits, hidden, 1, options["sample"], close=True))
        else:
            repetition = Repetition.of_text(self.tokenizer, no_repeat_ngram, repetition_penalty, ids)
            generated = list(self._words(logits, hidden, words, options["sample"], stop=stop, repetition=repetition,
                                         line_ended=not stop and ends_line(prefix)))
        text = prefix + join_words(generated, prefix, self.casing)
        if suffix is not None:
            text += suffix  # white space typed after a trailing blank
        return Completion(text, prompt, [self.casing.get(w, w) for w in generated if tk.is_wordlike(w)], unknown)

    def stream(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, stop: bool = True,
               no_repeat_ngram: int | None = DEFAULT_NO_REPEAT_NGRAM,
               repetition_penalty: float | None = DEFAULT_REPETITION_PENALTY) -> Iterator[str]:
        """:meth:`complete` as it is written: the text each new word adds (its space, then the word).

        ``prompt + "".join(stream(prompt))`` is what ``complete`` returns.
        Nothing but the state of the last step and the spacing rules is kept,
        so a long stream runs in constant memory (with repetition control,
        the n-grams seen grow with the text).
        """
        options = self._options(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        prefix, suffix = parse_prompt(prompt)
        if suffix is not None:
            raise streamed_blank(BLANK)
        logits, hidden, ids = self._prefix_state(prefix)
        repetition = Repetition.of_text(self.tokenizer, no_repeat_ngram, repetition_penalty, ids)
        chosen = self._words(logits, hidden, words, options["sample"], stop=stop, repetition=repetition,
                             line_ended=not stop and ends_line(prefix))
        yield from spaced(chosen, prefix, self.casing)  # an apostrophe after a word comes with the word after it

    def _options(self, words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop):
        check_generation(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return {"sample": dict(temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)}

    def _words(self, logits, hidden, max_words: int, sample: dict, close: bool = False, stop: bool = True,
               repetition: Repetition | None = None, placed: int = 0, line_ended: bool = False) -> Iterator[str]:
        """Words from the current state until a sentence end, </s> or ``max_words``.

        ``close``: after the last word (``placed``: words written already), keep punctuation up to the sentence
        end (a filled trailing blank gets its full stop), but no further word.
        ``stop=False``: sentence ends do not stop it; </s> becomes a line break (then <s> for a sentence model),
        never right after another line break (``line_ended``: the prompt ended with one).
        """
        banned = torch.tensor(self._banned(), device=self.device)
        eos = self.tokenizer.token_to_id(tk.EOS)
        first = torch.tensor(self._banned(words_only=True) + [eos], device=self.device) if close else banned
        after = torch.tensor(self._banned(pauses=True), device=self.device) if close else banned  # then: closing
        line_banned = torch.tensor(self._banned() + [eos], device=self.device)  # after a line break: no empty line
        repetition = repetition if repetition is not None and repetition.active else None
        greedy = not is_sampling(sample["temperature"], sample["top_k"], sample["top_p"])
        pieces: list[str] = []  # BPE tokens of the word being built
        n_words, prev, held = placed, "", False

        def now():
            return barred_next(close, pieces, n_words, max_words, first, after, banned, line_ended, line_banned)

        def pick(logits):  # the caller's logits stay as they were; None when every token is banned
            logits = logits.index_fill(0, now(), -math.inf)
            if repetition is not None:
                logits = repetition.apply(logits)
                if not bool(torch.isfinite(logits).any()):
                    return None
            return choose(logits, **sample)

        tid = pick(logits)
        for _ in range(max_words * 8):  # hard bound on tokens for subword models
            if tid is None or (tid == eos and stop):
                break
            if repetition is not None:
                repetition.push(tid)
            token = "\n" if tid == eos else self.tokenizer.id_to_token(tid)
            pieces.append(tk.token_text(token))
            if tid == eos or tk.token_ends_word(self.tokenizer, token):
                word = "".join(pieces)
                pieces = []
                if held and not word.isdigit():
                    break  # the "." held open was the sentence's end
                if close and n_words >= max_words and tk.is_wordlike(word):
                    break  # the blank's word is placed; only closing punctuation may follow
                yield word
                if tk.is_wordlike(word):
                    n_words += 1
                held = stop and may_be_decimal(word, prev)  # 3 . -> wait for the next word: 3.5, or the end
                if (stop and word in tk.SENTENCE_END and not held) or (n_words >= max_words and not close):
                    break
                prev = word
            # O(1) per token: the hidden state is carried, the prefix is never read again
            line_ended = tid == eos
            if line_ended and not self.stream_mode:  # a sentence-mode model read each line alone: the next from <s>
                tid, hidden = tk.line_ids(self.tokenizer, False)[0], map_hidden(hidden, torch.zeros_like)
            x = torch.tensor([tid], device=self.device)
            if greedy and repetition is None:  # exact argmax, with an adaptive softmax usually from its head alone
                best, hidden = self.net.greedy_step(x, hidden, now())
                tid = int(best[0])
            else:
                step, hidden = self.net.step(x, hidden)
                tid = pick(step[0])
        if pieces and not (close and n_words >= max_words and tk.is_wordlike("".join(pieces))):
            yield "".join(pieces)  # a word cut short by the bound, unless the blank's word is placed already

    def _fill(self, logits, hidden, suffix: str, sample: dict) -> str:
        if tk.is_bpe(self.tokenizer):
            return _bpe_word(self, logits, hidden, suffix, sample)[0]
        cand, probs = _candidates(self, logits, hidden, suffix, FILL_CANDIDATES)
        if is_sampling(sample["temperature"], sample["top_k"], sample["top_p"]):
            pick = choose(probs.log(), **sample)
        else:
            pick = int(torch.argmax(probs))
        return self.tokenizer.id_to_token(cand[pick])

    @torch.inference_mode()
    def next_words(self, prompt: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest words for the blank (or after the prompt) with their probabilities."""
        whole_number("k", k)
        prefix, suffix = parse_prompt(prompt)
        logits, hidden, _ = self._prefix_state(prefix)
        if tk.is_bpe(self.tokenizer):  # whole words (pieces spelled on), ranked as the fill ranks them
            words, probs, _ = _blank_words(self, logits, hidden, suffix, max(k, FILL_CANDIDATES))
            return cased(sorted(zip(words, probs.tolist()), key=lambda p: -p[1])[:k], self.casing)
        pool = max(k, FILL_CANDIDATES) if suffix and suffix.strip() else k
        cand, probs = _candidates(self, logits, hidden, suffix, pool)
        ranked = sorted(zip(cand, probs.tolist()), key=lambda p: -p[1])[:k]
        return cased([(tk.token_text(self.tokenizer.id_to_token(i)), p) for i, p in ranked], self.casing)

    def unknown_words(self, prompt: str) -> list[str]:
        """Words of the prompt outside the vocabulary, in order, once each."""
        return tk.unknown_words(self.tokenizer, without_blank(prompt))


def _candidates(c: Completer, logits, hidden, suffix: str, k: int) -> tuple[list[int], torch.Tensor]:
    """Top word candidates for a blank (``suffix``: the text after it, None for none: then the next tokens,
    punctuation included) and their probabilities given the text after it."""
    banned = c._banned(words_only=suffix is not None) + [c.tokenizer.token_to_id(tk.EOS)]
    logits = logits.clone()
    logits[banned] = -math.inf
    logp = torch.log_softmax(logits, dim=-1)  # (V,)
    k = min(k, int(torch.isfinite(logp).sum()))
    top = torch.topk(logp, k)
    cand, scores = top.indices, top.values.clone()  # (K,)
    if suffix is not None and suffix.strip():
        tail = suffix_ids(c.tokenizer, suffix)
        n = cand.numel()
        tail = torch.tensor(tail, device=c.device)  # (S,)
        x = torch.cat([cand[:, None], tail[:-1].expand(n, -1)], dim=1)  # (K, S): candidate, then the suffix
        y = tail.expand(n, -1)  # (K, S): the suffix, then </s>
        h = map_hidden(hidden, lambda t: t.expand(-1, n, -1).contiguous())  # (L, K, H): one copy a candidate
        out, _, _ = c.net(x, hidden=h)  # (K, S, V)
        tail_logp = torch.log_softmax(out, dim=-1).gather(2, y[:, :, None]).squeeze(2).sum(1)  # (K,)
        scores = scores + tail_logp
    probs = torch.softmax(scores, dim=0) if suffix is not None and suffix.strip() else scores.exp()
    return cand.tolist(), probs


def _bpe_word(c: Completer, logits, hidden, suffix: str, sample: dict):
    """A BPE model's word for a blank, chosen among whole words (greedy or sampled), with the next token's
    logits and the state after it."""
    words, probs, (spelled, pieces, state, after) = _blank_words(c, logits, hidden, suffix, FILL_CANDIDATES)
    sampling = is_sampling(sample["temperature"], sample["top_k"], sample["top_p"])
    word = words[choose(torch.as_tensor(np.log(probs)), **sample) if sampling else int(np.argmax(probs))]
    row = spelled.index(word)
    if _cached(c.net):  # the word read into the cache, as a written word is: what follows it sees its pieces
        for piece in pieces[row]:
            logits, hidden = c.net.step(torch.tensor([piece], device=c.device), hidden)
        return word, logits[0], hidden
    return word, torch.as_tensor(after[row], device=c.device), \
        map_hidden(state, lambda t: t[:, row:row + 1].contiguous())


def _cached(net) -> bool:
    from seqtext.text.cache import CachedLM

    return isinstance(net, CachedLM)


def _blank_words(c: Completer, logits, hidden, suffix: str, k: int):
    """A BPE model's blank: its ``k`` likeliest first pieces spelled on to whole words, ranked by the whole
    sentence (:mod:`seqtext.text.blankwords`): (words, probabilities, (each row's word, its pieces, the state
    after it, the next token's log-probs after it)).  Under a neural cache, which reads one text at a time, the
    first pieces come from the mixture and the rest of each word and the text after it from the network."""
    # pieces that begin a word for a blank; after a prompt (``suffix`` None) punctuation may come next too
    first, probs = _candidates(c, logits, hidden, None if suffix is None else "", k)
    rows = len(first)
    net = c.net.net if _cached(c.net) else c.net

    def step(ids, state):
        out, state = net.step(torch.as_tensor(ids, device=c.device), state)
        return torch.log_softmax(out.float(), dim=-1).cpu().numpy().astype(np.float64), state

    def keep(new, old, active):
        mask = torch.as_tensor(active, device=c.device)[None, :, None]
        return map_hidden_pair(new, old, lambda a, b: torch.where(mask, a, b))

    def score(ids, targets, state):
        out, _, _ = net(torch.as_tensor(ids, device=c.device), hidden=state)
        y = torch.as_tensor(targets, device=c.device)
        return torch.log_softmax(out.float(), dim=-1).gather(2, y[:, :, None]).sum((1, 2)).cpu().numpy()

    start = map_hidden(hidden, lambda t: t.expand(-1, rows, -1).contiguous())
    barred = c._banned(words_only=True) + [c.tokenizer.token_to_id(tk.EOS)]
    return blankwords.blank_words(c.tokenizer, first, probs.cpu().numpy(), start, suffix, step, keep, score, barred)

"""OnnxTextModel: ``TextModel``'s inference API on an exported network, without torch.

The same steps as :class:`seqtext.text.generate.Completer` and
:func:`seqtext.text.scoring.score`, on numpy: a prompt read from ``<s>`` (or
``</s>`` for a stream model), a ``___`` blank filled by rescoring the top
candidates with the text after it, continuation one step at a time with the
state carried, greedy or sampled, with repetition control; greedy output is
word-for-word torch's (tests/test_export.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from seqtext.errors import true_or_false, whole_number
from seqtext.export import model_config, npdecode
from seqtext.text import blankwords
from seqtext.text import tokenizer as tk
from seqtext.text.casing import cased
from seqtext.text.decoding import (DEFAULT_NO_REPEAT_NGRAM, DEFAULT_REPETITION_PENALTY, Repetition, barred_next,
                                   ends_line, check_generation, is_sampling, streamed_blank)
from seqtext.text.prompts import (BLANK, FILL_CANDIDATES, MAX_CONTEXT, Completion, filled, parse_prompt,
                                  suffix_ids, without_blank)
from seqtext.text.records import Scores, check_sentences, frame
from seqtext.text.records import build as build_scores
from seqtext.text.spacing import join_words, may_be_decimal, spaced

SCORE_BATCH = 16  # sentences of similar length read in one call


class OnnxTextModel:
    """An exported next-word model: complete, stream, next_words, score, unknown_words."""

    kind = "text"

    def __init__(self, path, manifest: dict, net):
        self.path, self.manifest, self.net = path, manifest, net
        self.tokenizer = tk.load_tokenizer(path / manifest["tokenizer"])
        self.stream_mode = bool(manifest["stream_mode"])
        self.config = model_config(path)
        self.casing = self.config.get("casing") or {}  # names as the training text writes them (text.casing)
        tk.check_kind(self.tokenizer, self.config.get("text", {}).get("tokenizer"), path / manifest["tokenizer"],
                      "model_config.json", "export the model again")
        self._banned = [self.tokenizer.token_to_id(t) for t in (tk.PAD, tk.UNK, tk.BOS)]
        self._eos = self.tokenizer.token_to_id(tk.EOS)
        self._non_word_ids = self._pause_ids = None

    def _non_words(self) -> list[int]:
        """Punctuation and symbols: never a blank's word (read once, when a blank first asks)."""
        if self._non_word_ids is None:
            self._non_word_ids = tk.non_word_ids(self.tokenizer)
        return self._non_word_ids

    def _prefix_state(self, prefix: str):
        enc = self.tokenizer.encode(prefix, add_special_tokens=False)
        ids = [tk.line_ids(self.tokenizer, self.stream_mode)[0], *enc.ids[-MAX_CONTEXT:]]
        scores, state = self.net.read(np.asarray([ids]), last_only=True)
        return scores[0], state, ids

    def _options(self, words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop):
        check_generation(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        sampling = is_sampling(temperature, top_k, top_p)  # greedy needs no generator (nor numpy.random's import)
        return dict(temperature=temperature, top_k=top_k, top_p=top_p,
                    rng=np.random.default_rng(seed) if sampling else None)

    def complete(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, stop: bool = True,
                 no_repeat_ngram: int | None = DEFAULT_NO_REPEAT_NGRAM,
                 repetition_penalty: float | None = DEFAULT_REPETITION_PENALTY) -> Completion:
        """Fill the prompt's ``___`` in place, or continue the prompt (as ``TextModel.complete``)."""
        sample = self._options(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        prefix, suffix = parse_prompt(prompt)
        scores, state, ids = self._prefix_state(prefix)
        unknown = self.unknown_words(prompt)
        if suffix is not None and suffix.strip():
            word = self._fill(scores, state, suffix, sample)
            return Completion(filled(prefix, word, suffix, self.casing), prompt, [self.casing.get(word, word)],
                              unknown)
        if suffix is not None and tk.is_bpe(self.tokenizer):  # a trailing blank: one word, then the sentence closed
            word, scores, state = _bpe_word(self, scores, state, suffix, sample)
            generated = [word, *self._words(scores, state, 1, sample, close=True, placed=1)]
        elif suffix is not None:
            generated = list(self._words(scores, state, 1, sample, close=True))
        else:
            repetition = Repetition.of_text(self.tokenizer, no_repeat_ngram, repetition_penalty, ids)
            generated = list(self._words(scores, state, words, sample, stop=stop, repetition=repetition,
                                         line_ended=not stop and ends_line(prefix)))
        text = prefix + join_words(generated, prefix, self.casing) + (suffix or "")
        return Completion(text, prompt, [self.casing.get(w, w) for w in generated if tk.is_wordlike(w)], unknown)

    def stream(self, prompt: str, words: int = 20, temperature: float | None = None, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, stop: bool = True,
               no_repeat_ngram: int | None = DEFAULT_NO_REPEAT_NGRAM,
               repetition_penalty: float | None = DEFAULT_REPETITION_PENALTY) -> Iterator[str]:
        """:meth:`complete` a word at a time: the text each new word adds."""
        sample = self._options(words, temperature, top_k, top_p, seed, no_repeat_ngram, repetition_penalty, stop)
        prefix, suffix = parse_prompt(prompt)
        if suffix is not None:
            raise streamed_blank(BLANK)
        scores, state, ids = self._prefix_state(prefix)
        repetition = Repetition.of_text(self.tokenizer, no_repeat_ngram, repetition_penalty, ids)
        chosen = self._words(scores, state, words, sample, stop=stop, repetition=repetition,
                             line_ended=not stop and ends_line(prefix))
        yield from spaced(chosen, prefix, self.casing)  # an apostrophe after a word comes with the word after it

    def _words(self, scores, state, max_words: int, sample: dict, close: bool = False, stop: bool = True,
               repetition: Repetition | None = None, placed: int = 0, line_ended: bool = False) -> Iterator[str]:
        repetition = repetition if repetition is not None and repetition.active else None

        first = self._banned + self._non_words() + [self._eos] if close else self._banned  # a trailing blank: a word
        if close and self._pause_ids is None:
            self._pause_ids = tk.pause_ids(self.tokenizer)
        after = self._banned + self._pause_ids if close else self._banned  # after its word: closing punctuation
        line_banned = self._banned + [self._eos]  # after a line break: no empty line

        def now():
            return barred_next(close, pieces, n_words, max_words, first, after, self._banned, line_ended,
                               line_banned)

        def pick(scores):
            scores = scores.copy()
            scores[now()] = -math.inf
            if repetition is not None:
                scores = npdecode.apply_repetition(repetition, scores)
                if not np.isfinite(scores).any():
                    return None
            return npdecode.choose(scores, **sample)

        pieces, n_words, prev, held = [], placed, "", False
        tid = pick(scores)
        for _ in range(max_words * 8):
            if tid is None or (tid == self._eos and stop):
                break
            if repetition is not None:
                repetition.push(tid)
            token = "\n" if tid == self._eos else self.tokenizer.id_to_token(tid)
            pieces.append(tk.token_text(token))
            if tid == self._eos or tk.token_ends_word(self.tokenizer, token):
                word, pieces = "".join(pieces), []
                if held and not word.isdigit():
                    break  # the "." held open was the sentence's end
                if close and n_words >= max_words and tk.is_wordlike(word):
                    break
                yield word
                n_words += tk.is_wordlike(word)
                held = stop and may_be_decimal(word, prev)
                if (stop and word in tk.SENTENCE_END and not held) or (n_words >= max_words and not close):
                    break
                prev = word
            line_ended = tid == self._eos
            if line_ended and not self.stream_mode:  # a sentence-mode model read each line alone, from <s>
                tid, state = tk.line_ids(self.tokenizer, False)[0], [np.zeros_like(s) for s in state]
            step, state = self.net.step([tid], state)
            tid = pick(step[0])
        if pieces and not (close and n_words >= max_words and tk.is_wordlike("".join(pieces))):
            yield "".join(pieces)  # a word cut short by the bound, unless the blank's word is placed already

    def _candidates(self, scores, state, suffix: str | None, k: int):
        banned = self._banned + (self._non_words() if suffix is not None else []) + [self._eos]
        scores = np.array(scores, dtype=np.float32, copy=True)
        scores[banned] = -math.inf
        logp = npdecode.log_softmax(scores)
        k = min(k, int(np.isfinite(logp).sum()))
        cand = np.argsort(-logp, kind="stable")[:k]
        values = logp[cand].astype(np.float64)
        if suffix is not None and suffix.strip():
            tail = suffix_ids(self.tokenizer, suffix)
            tail = np.asarray(tail, dtype=np.int64)
            x = np.concatenate([cand[:, None], np.broadcast_to(tail[:-1], (k, tail.size - 1))], axis=1)
            expanded = [np.ascontiguousarray(np.repeat(s, k, axis=1)) for s in state]
            out, _ = self.net.read(x, expanded)  # (K, S, V)
            logp_tail = npdecode.log_softmax(out)
            values = values + np.take_along_axis(logp_tail, np.broadcast_to(tail, (k, tail.size))[:, :, None],
                                                 axis=2)[:, :, 0].sum(1)
            return cand.tolist(), npdecode.softmax(values)
        return cand.tolist(), np.exp(values)

    def _fill(self, scores, state, suffix: str, sample: dict) -> str:
        if tk.is_bpe(self.tokenizer):
            return _bpe_word(self, scores, state, suffix, sample)[0]
        cand, probs = self._candidates(scores, state, suffix, FILL_CANDIDATES)
        if is_sampling(sample["temperature"], sample["top_k"], sample["top_p"]):
            with np.errstate(divide="ignore"):
                pick = npdecode.choose(np.log(probs), **sample)
        else:
            pick = int(np.argmax(probs))
        return self.tokenizer.id_to_token(cand[pick])

    def next_words(self, prompt: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest words for the blank (or after the prompt) with their probabilities."""
        whole_number("k", k)
        prefix, suffix = parse_prompt(prompt)
        scores, state, _ = self._prefix_state(prefix)
        if tk.is_bpe(self.tokenizer):  # whole words (pieces spelled on), ranked as the fill ranks them
            words, probs, _ = _blank_words(self, scores, state, suffix, max(k, FILL_CANDIDATES))
            return cased(sorted(zip(words, probs.tolist()), key=lambda p: -p[1])[:k], self.casing)
        pool = max(k, FILL_CANDIDATES) if suffix and suffix.strip() else k
        cand, probs = self._candidates(scores, state, suffix, pool)
        ranked = sorted(zip(cand, probs.tolist()), key=lambda p: -p[1])[:k]
        return cased([(tk.token_text(self.tokenizer.id_to_token(i)), p) for i, p in ranked], self.casing)

    def unknown_words(self, prompt: str) -> list[str]:
        """The prompt's words that the vocabulary does not hold (read as <unk>)."""
        return tk.unknown_words(self.tokenizer, without_blank(prompt))

    def score(self, sentences, tokens: bool = False) -> Scores:
        """Each sentence read alone: the records of ``TextModel.score`` (``summary`` holds the totals)."""
        true_or_false("tokens", tokens)
        sentences = check_sentences(sentences)
        seqs = [frame(self.tokenizer, s, self.stream_mode) for s in sentences]
        return build_scores(self.tokenizer, sentences, seqs, self._token_logprobs(seqs), tokens)

    def _token_logprobs(self, seqs: list[list[int]]) -> list[np.ndarray]:
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out: list = [None] * len(seqs)
        for g in range(0, len(order), SCORE_BATCH):
            group = order[g:g + SCORE_BATCH]
            longest = max(len(seqs[i]) - 1 for i in group)
            x = np.full((len(group), longest), self.net.pad_id, dtype=np.int64)
            y = np.full((len(group), longest), self.net.pad_id, dtype=np.int64)
            for row, i in enumerate(group):
                x[row, :len(seqs[i]) - 1], y[row, :len(seqs[i]) - 1] = seqs[i][:-1], seqs[i][1:]
            logp = self.net.log_probs(self.net.read(x)[0])  # (B, T, V)
            picked = np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0].astype(np.float64)
            for row, i in enumerate(group):
                out[i] = picked[row, :len(seqs[i]) - 1]
        return out


def _bpe_word(m: OnnxTextModel, scores, state, suffix: str, sample: dict):
    """A BPE model's word for a blank, chosen among whole words, with the next scores and the state after it
    (as the torch model's ``generate._bpe_word``)."""
    words, probs, (spelled, _, after_state, after) = _blank_words(m, scores, state, suffix, FILL_CANDIDATES)
    with np.errstate(divide="ignore"):
        word = words[npdecode.choose(np.log(probs), **sample)]
    row = spelled.index(word)
    return word, after[row], [np.ascontiguousarray(s[:, row:row + 1]) for s in after_state]


def _blank_words(m: OnnxTextModel, scores, state, suffix: str, k: int):
    """A BPE model's blank: its likeliest first pieces spelled on to whole words, ranked by the whole sentence
    (:mod:`seqtext.text.blankwords`; as the torch model's ``generate._blank_words``)."""
    # pieces that begin a word for a blank; after a prompt (``suffix`` None) punctuation may come next too
    first, probs = m._candidates(scores, state, None if suffix is None else "", k)
    rows = len(first)

    def step(ids, state):
        out, state = m.net.step(ids, state)
        return npdecode.log_softmax(out).astype(np.float64), state

    def keep(new, old, active):
        return [np.where(active[None, :, None], a, b) for a, b in zip(new, old)]

    def score(ids, targets, state):
        out, _ = m.net.read(ids, state)
        return np.take_along_axis(npdecode.log_softmax(out), targets[:, :, None], axis=2).sum((1, 2))

    start = [np.ascontiguousarray(np.repeat(s, rows, axis=1)) for s in state]
    barred = m._banned + m._non_words() + [m._eos]
    return blankwords.blank_words(m.tokenizer, first, probs, start, suffix, step, keep, score, barred)

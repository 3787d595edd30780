"""TextModel: the user API of a next-word language model.

    sentence -> tokenizer.json -> ids -> Embedding -> RecurrentCore -> Linear -> softmax

``TextModel`` trains a tokenizer and a ``TextNet`` on a corpus through the
shared session (``seqtext.model.Model``), completes prompts (a ``___`` blank
is filled in place, otherwise the text is continued), lists the likeliest next
words, evaluates, and saves/loads a model directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch

from seqtext import machine, modeldir
from seqtext.errors import ConfigError, DataError, known_options, true_or_false, warn
from seqtext.model import RESUME_OPTIONS, Model, fresh_fit
from seqtext.text import stream
from seqtext.text.adaptation import Adaptation
from seqtext.text import tokenizer as tk
from seqtext.text.corpus import VALID, corpus_files, corpus_source, is_path_list, load_lines
from seqtext.text.chargen import CharCompleter
from seqtext.text.generate import Completer, Completion
from seqtext.text.records import Scores, check_sentences
from seqtext.text.scoring import encode_lines, score, score_sentences, score_stream
from seqtext.text.task import LanguageModelTask


# the options of complete() and stream() passed on to the completer, beside words and the cache's
SAMPLING = ("temperature", "top_k", "top_p", "seed", "stop", "no_repeat_ngram", "repetition_penalty")
COMPLETION = SAMPLING + ("words", "cache", "cache_theta", "cache_lambda")  # what a message lists


class TextModel(Model):
    """A next-word model over a sentence corpus or running text.

    Options are keywords, as the flags of ``seqtext train`` (``hidden``,
    ``embed``, ``cell``, ``epochs``, ...; every one with its default in
    ``seqtext.config.TextSettings``); ``progress`` shows a progress bar.

    >>> model = TextModel().fit("corpora/pronouns.txt")                 # doctest: +SKIP
    >>> model.complete("Mary rides the bicycle, the bicycle is ___")    # doctest: +SKIP
    'Mary rides the bicycle, the bicycle is hers.'
    """

    task_class = LanguageModelTask

    @property
    def tokenizer(self):
        """The trained ``tokenizers.Tokenizer`` (None before fit)."""
        return self.task.tokenizer

    @fresh_fit
    def fit(self, corpus, valid=None, *, checkpoint_dir=None, callback=None) -> "TextModel":
        """Train on a corpus (path, list of paths, or list of sentences); returns self.

        Sentence mode pads each line into its own row; stream mode (running
        text, see ``seqtext.text.stream``) reads the corpus as B parallel
        streams in BPTT windows with the hidden state carried across them.
        ``mode="auto"`` picks by the corpus.  With ``checkpoint_dir``, the
        model directory is written there after every epoch and on Ctrl-C
        (:class:`~seqtext.session.TrainingInterrupted`), resumable with
        :meth:`resume`.  ``callback(model, metrics)`` runs after every epoch.
        """
        valid = None if valid is None else corpus_source(valid, VALID)
        return self._fit({"corpus": corpus_source(corpus), "valid": valid}, checkpoint_dir, callback)

    @classmethod
    def resume(cls, path, corpus=None, valid=None, **options) -> "TextModel":
        """Continue the training saved in ``path``; the corpus is read again from its recorded paths
        unless given (``epochs``, ``patience``, ``progress``, ``checkpoint_dir`` as in :meth:`Model.resume`)."""
        known_options(options, (*RESUME_OPTIONS, "corpus", "valid"), "resume")  # named in the list too
        if corpus is None and valid is not None:
            raise ConfigError("{valid} without {corpus} would be ignored; give both (the text the training started "
                              "on) or neither.", params=["valid", "corpus"])
        if corpus is not None:
            valid = None if valid is None else corpus_source(valid, VALID)
        data = None if corpus is None else {"corpus": corpus_source(corpus), "valid": valid}
        return super().resume(path, data, **options)

    def evaluate(self, corpus, per_sentence: bool = False, *, precision: str = "fp32", dynamic: bool = False,
                 cache: int | None = None, dynamic_stats=None, **adapt) -> dict:
        """Perplexity, next-word accuracy and last-word accuracy on a corpus (a character model: next-character
        accuracy, and ``bits_per_char`` over ``characters``, see ``seqtext.text.chars``).

        A stream-mode model reads the corpus as running text; ``per_sentence``
        reads each line alone from a fresh state instead (what :meth:`score`
        does, and how a sentence-mode model always reads), and reports the
        perplexity with and without the words the vocabulary does not hold.

        ``precision`` "bf16" (stream mode): the matrix products in bf16, the
        softmax in float32; fp32 with a warning where bf16 is not in hardware.
        ``dynamic=True`` (dynamic evaluation: ``dynamic_lr``, ``dynamic_decay``,
        ``dynamic_bptt``) and ``cache=N`` (the neural cache: ``cache_theta``,
        ``cache_lambda``) adapt to the text while reading it as one running
        stream, whatever the model's mode (``seqtext.text.adaptation``); the
        model's weights are the same afterwards.  Dynamic evaluation's gradient
        statistics come from the first 50,000 tokens of the model's training
        corpus, or of ``dynamic_stats``.  The figures then also give the
        ``method`` and its hyper-parameters.
        """
        self._require_trained()
        true_or_false("per_sentence", per_sentence)
        corpus = corpus_source(corpus)
        if precision not in ("fp32", "bf16"):
            raise ConfigError(f"{{precision}} must be fp32 or bf16, got {precision!r}.", params=["precision"])
        adaptation = Adaptation.for_reading(dynamic, cache, dynamic_stats, adapt, per_sentence)
        if precision == "bf16" and (adaptation.active or per_sentence or self.settings.text.mode != "stream"):
            warn("{precision} bf16 speeds up running text read as it is; read sentence by sentence or while "
                 "adapting, the text is scored in fp32.", params=["precision"])
            precision = "fp32"
        precision = machine.resolve_precision(precision, self.device.type, "scoring")
        if adaptation.active:
            from seqtext.text import running

            metrics = running.evaluate(self, corpus, adaptation, dynamic_stats)
            _warn_unknown(metrics, corpus)
            return self.task.report(metrics)
        if per_sentence:
            return self.task.report(_score_lines(self, corpus))
        return self.task.report(_score_corpus(self, corpus, precision))

    def score(self, sentences, tokens: bool = False, *, dynamic: bool = False, cache: int | None = None,
              dynamic_stats=None, **adapt) -> Scores:
        """Each sentence read alone: ``text``, ``logprob`` (natural log, summed over its tokens and the
        closing </s>), ``tokens`` (that count), ``perplexity`` (``exp(-logprob / tokens)``) and ``unknown``
        (its words outside the vocabulary); ``tokens=True`` adds ``surprisal_bits`` per token.

        Returns a list of those records, whose ``summary`` holds the totals:
        perplexity over all sentences, and without the unknown-word tokens.
        With ``dynamic`` or ``cache`` (as :meth:`evaluate`), the sentences are
        read in order as one running text, adapting to it, each scored given
        all before it.
        """
        self._require_trained()
        true_or_false("tokens", tokens)
        sentences = check_sentences(sentences)
        adaptation = Adaptation.for_reading(dynamic, cache, dynamic_stats, adapt)
        if adaptation.active:
            from seqtext.text import running

            return running.score(self, sentences, adaptation, tokens, dynamic_stats)
        with torch.inference_mode():
            return score(self.net, self.tokenizer, sentences, self.settings.text.mode == "stream", self.device,
                         surprisal=tokens)

    # ---------------------------------------------------------------- inference

    def _completer(self, cache: int | None = None, cache_theta: float | None = None,
                   cache_lambda: float | None = None) -> Completer:
        self._require_trained()
        net = self.net
        adaptation = Adaptation.for_reading(False, cache, None, {"cache_theta": cache_theta, "cache_lambda": cache_lambda})
        if adaptation.cache is not None:
            from seqtext.text.cache import CachedLM

            net = CachedLM(net, adaptation.cache, adaptation.cache_theta, adaptation.cache_lambda)
        completer = CharCompleter if self.task.chars else Completer
        return completer(net, self.tokenizer, self.device, self.settings.text.mode == "stream", self.task.casing)

    @torch.inference_mode()
    def complete(self, prompt: str, words: int = 20, *, cache: int | None = None, cache_theta: float | None = None,
                 cache_lambda: float | None = None, **options) -> Completion:
        """Fill the prompt's ``___`` in place, or continue the prompt.

        A blank at the very end is filled and the sentence closed; otherwise
        up to ``words`` words are generated, stopping at the end of the
        sentence (``stop=False`` goes on across sentence ends, writing a line
        break for each end of line).  Greedy unless ``temperature``,
        ``top_k`` or ``top_p`` is given (``seed`` seeds the sampling).
        ``no_repeat_ngram`` N never writes an N-gram already in the prompt or
        the output; ``repetition_penalty`` P divides the positive logits of
        tokens already there by P and multiplies the negative ones by P.
        Neither changes how a ``___`` blank is filled.  ``cache=N`` mixes each
        next-word distribution with the neural cache of the prompt and the
        words written so far (``cache_theta``, ``cache_lambda``; see :meth:`evaluate`).
        """
        known_options(options, COMPLETION, "completion")
        return self._completer(cache, cache_theta, cache_lambda).complete(prompt, words, **options)

    def stream(self, prompt: str, words: int = 20, *, cache: int | None = None, cache_theta: float | None = None,
               cache_lambda: float | None = None, **options) -> Iterator[str]:
        """:meth:`complete`, a word at a time: yields the text each word adds (its space, then the word).

        ``prompt + "".join(model.stream(prompt))`` equals ``model.complete(prompt)``; memory stays
        flat however many words are asked for.
        """
        known_options(options, COMPLETION, "completion")
        pieces = self._completer(cache, cache_theta, cache_lambda).stream(prompt, words, **options)
        while True:
            with torch.inference_mode():  # each step, not across the yield: the caller's code runs as usual
                piece = next(pieces, None)
            if piece is None:
                return
            yield piece

    @torch.inference_mode()
    def next_words(self, prompt: str, k: int = 5, *, cache: int | None = None, cache_theta: float | None = None,
                   cache_lambda: float | None = None) -> list[tuple[str, float]]:
        """The ``k`` likeliest words for the blank (or after the prompt) with their probabilities (``cache``:
        as :meth:`complete`)."""
        return self._completer(cache, cache_theta, cache_lambda).next_words(prompt, k)

    @torch.inference_mode()
    def suggest(self, prefix: str, k: int = 5, no_repeat_ngram: int | None = None,
                repetition_penalty: float | None = None) -> list[tuple[str, float]]:
        """The ``k`` likeliest words to type after ``prefix``, or to finish its last word, with probabilities.

        The recurrent state is cached between calls (see ``seqtext.text.suggest``).
        """
        from seqtext.text.suggest import suggester_for

        self._require_trained()
        return suggester_for(self).suggest(prefix, k, no_repeat_ngram, repetition_penalty)

    def unknown_words(self, prompt: str) -> list[str]:
        """Words of the prompt outside the vocabulary, in order, once each."""
        return self._completer().unknown_words(prompt)


modeldir.register("text", TextModel, LanguageModelTask.files)


def _score_corpus(model: TextModel, corpus, precision: str) -> dict:
    """Perplexity, accuracies and unknown-word tokens of a corpus read in the model's mode (stream: as running
    text; sentence: each line from a fresh state)."""
    text, unk = model.settings.text, model.tokenizer.token_to_id(tk.UNK)
    if text.mode == "stream":
        if isinstance(corpus, (list, tuple)) and not is_path_list(corpus) and not any(map(_names_a_path, corpus)):
            pathlike = next((item for item in corpus if _written_like_a_path(item)), None)
            missing = "" if pathlike is None else f", and there is no file {pathlike.strip()!r}"  # "my data/a.txt"
            raise DataError(f"a stream-mode model evaluates running text read from files{missing}; give the corpus as "
                            "a path, or {per_sentence}=True to read these sentences one by one, as score() does.",
                            params=["per_sentence"])
        ids = stream.encode_corpus(corpus_files(corpus), model.tokenizer).ids
        metrics = score_stream(model.net, ids, text.bptt, model.device, precision=precision)
        metrics["unknown_tokens"] = int((ids[1:] == unk).sum())
    else:
        lines = load_lines(corpus)
        seqs, last = encode_lines(model.tokenizer, lines)
        metrics = score_sentences(model.net, seqs, last, model.device)
        metrics.update(sentences=len(lines), tokens=sum(len(s) - 1 for s in seqs),
                       unknown_tokens=sum(s[1:].count(unk) for s in seqs))
    _warn_unknown(metrics, corpus)
    return metrics


def _written_like_a_path(item) -> bool:
    """A string with a slash or ending in .txt ("data/a.txt", "and/or" too)."""
    return isinstance(item, str) and ("/" in item or item.strip().endswith(".txt"))


def _names_a_path(item) -> bool:
    """Whether a corpus item is meant as a path: a pathlib.Path, or a string written like one ("data/a.txt"), not a
    sentence, which has spaces between its words ("and/or" or not)."""
    return isinstance(item, os.PathLike) or _written_like_a_path(item) and not any(c.isspace() for c in item.strip())


def _score_lines(model, corpus) -> dict:
    """``evaluate(per_sentence=True)``: score's figures for each line read alone, and the accuracies of that
    reading."""
    lines, hits = check_sentences(load_lines(corpus, split_long=False)), {}  # each line whole, as score reads it
    with torch.inference_mode():  # one reading for both
        s = score(model.net, model.tokenizer, lines, model.settings.text.mode == "stream", model.device,
                  accuracy=hits).summary
    _warn_unknown(s, corpus)
    return {"loss": -s["logprob"] / max(s["tokens"], 1), "perplexity": s["perplexity"],
            "perplexity_known": s["perplexity_known"], "unknown_tokens": s["unknown_tokens"], **hits,
            "sentences": s["sentences"], "tokens": s["tokens"]}


def _warn_unknown(metrics: dict, corpus) -> None:
    """Warn when much of the evaluated text is outside the vocabulary, naming the file when there is one."""
    if isinstance(corpus, (list, tuple)) and len(corpus) == 1 and is_path_list(corpus):
        corpus = corpus[0]
    where = str(corpus) if isinstance(corpus, (str, os.PathLike)) else "the text"
    tk.warn_unknown_share(metrics.get("unknown_tokens", 0), metrics.get("tokens", 0), where=where)

"""Reading a text as one running stream while adapting to it: dynamic evaluation and the neural cache.

Whatever the model's mode, the text is read as one stream in its order (one
row, in segments), each line as the model read lines in training:

- a stream-mode model reads it as it was trained: ``</s>``, then each line
  followed by ``</s>``, the hidden state carried from line to line;
- a sentence-mode model reads each line framed as in training, ``<s> ...
  </s>``, one after the other, each from a fresh state (a segment never
  crosses a line's start); the ``<s>`` that opens a line is given, not
  predicted, so it is not scored.  What carries over is the adaptation: the
  cache's pairs and dynamic evaluation's weights.

Either way the scored tokens are those ``score`` counts for each line read
alone (its tokens and the closing ``</s>``).  Each segment is scored first
(with the cache of the pairs before each step, ``seqtext.text.cache``), then
learnt from: its states join the cache, and dynamic evaluation takes its
gradient step (``seqtext.text.dynamic``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqtext.core import detach_hidden
from seqtext.errors import ConfigError, warn
from seqtext.text import records
from seqtext.text import stream as streams
from seqtext.text import tokenizer as tk
from seqtext.text.adaptation import Adaptation
from seqtext.text.cache import NeuralCache
from seqtext.text.corpus import corpus_files, is_path_list, load_lines
from seqtext.text.dynamic import STATS_TOKENS, DynamicEval, gradient_rms, segment_loss
from seqtext.text.scoring import last_word_tokens

PLAIN_SEGMENT = 64  # tokens per segment without dynamic evaluation (the figures do not depend on it)


@dataclass
class RunningText:
    """A text as one stream: inputs ``ids[:-1]``, targets ``ids[1:]``."""

    ids: np.ndarray  # (N + 1,) int64
    scored: np.ndarray | None = None  # (N,) bool: the targets that count (None: all)
    spans: list[tuple[int, int]] | None = None  # each line's targets, [start, end) of the N
    last: list[list[int]] | None = None  # each line's last word: its tokens' target positions
    fresh_lines: bool = False  # a sentence-mode text: each line (from its <s>, a span's start) read from a zero state

    def __len__(self) -> int:
        return int(self.ids.shape[0]) - 1

    def head(self, tokens: int) -> "RunningText":
        """The first ``tokens`` targets."""
        spans = None if self.spans is None else [(a, b) for a, b in self.spans if a < tokens]
        return RunningText(self.ids[: tokens + 1], None if self.scored is None else self.scored[:tokens], spans,
                           fresh_lines=self.fresh_lines)


def from_lines(tokenizer, lines: list[str], stream_mode: bool) -> RunningText:
    """Lines as one running stream, in the model's framing (see the module's docstring)."""
    bos, eos = tokenizer.token_to_id(tk.BOS), tokenizer.token_to_id(tk.EOS)
    ids: list[int] = [eos] if stream_mode else []
    scored: list[bool] = []
    spans, last = [], []
    for line, enc in zip(lines, tokenizer.encode_batch(lines, add_special_tokens=False)):
        if not stream_mode:
            if ids:
                scored.append(False)  # the <s> after the previous line: given, not predicted
            ids.append(bos)
        start = len(ids) - 1
        ids.extend(enc.ids)
        ids.append(eos)
        scored.extend([True] * (len(enc.ids) + 1))
        spans.append((start, len(ids) - 1))
        last.append([start + i for i in last_word_tokens(line, enc)])
    return RunningText(np.asarray(ids, dtype=np.int64), np.asarray(scored, dtype=bool), spans, last,
                       fresh_lines=not stream_mode)


def from_corpus(tokenizer, source, stream_mode: bool) -> RunningText:
    """A corpus (files, or sentences given in Python) as one running stream."""
    if stream_mode and (isinstance(source, (str, Path)) or is_path_list(source)):
        ids = streams.encode_corpus(corpus_files(source), tokenizer).ids  # (N,) memory-mapped, </s> after lines
        eos = tokenizer.token_to_id(tk.EOS)
        return RunningText(np.concatenate([np.asarray([eos], dtype=np.int64), np.asarray(ids, dtype=np.int64)]))
    return from_lines(tokenizer, load_lines(source), stream_mode)


@dataclass
class Reading:
    """What reading a running text gave: each target's log-probability, and how many were guessed right."""

    logp: np.ndarray  # (N,) float64, natural log; unscored targets hold their value too
    correct: int
    hits: np.ndarray  # (N,) bool: the scored targets that were the likeliest token
    resets: int = 0  # dynamic evaluation: steps undone because they left a weight non-finite


def read(net, text: RunningText, adaptation: Adaptation, device, rms=None) -> Reading:
    """Score every target of ``text`` in order, adapting as ``adaptation`` says; the weights end as they began.

    ``rms`` (dynamic evaluation): the gradient statistics from
    :func:`~seqtext.text.dynamic.gradient_rms`.
    """
    n = len(text)
    ids = torch.from_numpy(np.ascontiguousarray(text.ids, dtype=np.int64))
    mask = torch.ones(n, dtype=torch.bool) if text.scored is None else torch.from_numpy(text.scored)
    cache = None if adaptation.cache is None else NeuralCache(adaptation.cache, adaptation.cache_theta,
                                                              adaptation.cache_lambda)
    if adaptation.dynamic:
        segment = adaptation.dynamic_bptt
        context = dynamic = DynamicEval(net, rms, adaptation.dynamic_lr, adaptation.dynamic_decay)
    else:
        segment, dynamic, context = PLAIN_SEGMENT, None, _evaluation(net)
    out, hits = np.empty(n, dtype=np.float64), np.zeros(n, dtype=bool)
    correct, hidden = 0, None
    with context:
        fresh = {start for start, _ in text.spans} if text.fresh_lines else set()
        cuts = sorted(set(range(0, n, segment)) | fresh | {n})
        for start, end in zip(cuts, cuts[1:]):
            if start in fresh:  # a sentence-mode line: read from a zero state, as in training
                hidden = None
            x, y = ids[None, start:end].to(device), ids[None, start + 1:end + 1].to(device)  # (1, T)
            m = mask[None, start:end].to(device)
            loss, feats, logp, hidden = segment_loss(net, x, y, m.float(), hidden)
            logp = logp.detach()  # (1, T, V)
            if cache is None:
                scored, best = logp.gather(2, y[..., None])[..., 0], logp.argmax(-1)  # (1, T)
            else:
                scored, best = cache.score(logp, feats, y)
                cache.push(feats[0].detach(), y[0])
            out[start:end] = scored[0].double().cpu().numpy()
            hits[start:end] = ((best == y) & m)[0].cpu().numpy()
            correct += int(hits[start:end].sum())
            if dynamic is not None and bool(m.any()):
                dynamic.step(loss)
            hidden = detach_hidden(hidden)
    return Reading(out, correct, hits, dynamic.resets if dynamic is not None else 0)


@contextlib.contextmanager
def _evaluation(net):
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        net.train(was_training)


# ------------------------------------------------------------------ what TextModel calls


def statistics(model, bptt: int, source=None) -> tuple[list, str]:
    """Dynamic evaluation's gradient statistics, from ``source`` or the model's training corpus; and their origin.

    The first ``STATS_TOKENS`` tokens are read in segments of ``bptt`` tokens (``seqtext.text.dynamic``).
    """
    if source is None:
        recorded = (model.task.sources or {}).get("corpus")
        if not recorded:
            raise ConfigError("dynamic evaluation needs training text for its gradient statistics and this model "
                              "does not record its corpus; give it with {dynamic_stats}.", params=["dynamic_stats"])
        missing = [p for p in recorded if not Path(p).exists()]
        if missing:
            raise ConfigError(f"dynamic evaluation reads the model's training corpus for its gradient statistics, "
                              f"but {missing[0]} is gone; give training text with {{dynamic_stats}}.",
                              params=["dynamic_stats"])
        source = [Path(p) for p in recorded]
    stream_mode = model.settings.text.mode == "stream"
    text = from_corpus(model.tokenizer, source, stream_mode).head(STATS_TOKENS)
    if len(text) < 2:
        raise ConfigError("the text for dynamic evaluation's gradient statistics has under 2 tokens; give more "
                          "with {dynamic_stats}.", params=["dynamic_stats"])
    if isinstance(source, (str, Path)) or is_path_list(source):
        paths = [source] if isinstance(source, (str, Path)) else source
        origin = f"first {len(text)} tokens of " + ", ".join(str(p) for p in paths)
    else:
        origin = f"first {len(text)} tokens of the sentences given"
    return gradient_rms(model.net, text.ids, text.scored, bptt, model.device), origin


def checked_read(model, text: RunningText, adaptation: Adaptation, rms) -> Reading:
    """:func:`read` with ``model``'s network, warning once if dynamic evaluation had to start again."""
    reading = read(model.net, text, adaptation, model.device, rms)
    if reading.resets:
        warn(f"dynamic evaluation diverged {reading.resets} time(s) (a weight went non-finite) and each time started "
             f"again from the trained weights; lower {{dynamic_lr}} (now {adaptation.dynamic_lr:g}).",
             params=["dynamic_lr"])
    return reading


def evaluate(model, corpus, adaptation: Adaptation, stats=None) -> dict:
    """``TextModel.evaluate`` with adaptation: loss, perplexity, accuracy, tokens, and the method used."""
    stream_mode = model.settings.text.mode == "stream"
    text = from_corpus(model.tokenizer, corpus, stream_mode)
    rms, info = None, adaptation.describe()
    if adaptation.dynamic:
        rms, info["dynamic"]["statistics"] = statistics(model, adaptation.dynamic_bptt, stats)
    reading = checked_read(model, text, adaptation, rms)
    if adaptation.dynamic:
        info["dynamic"]["resets"] = reading.resets
    logp = reading.logp if text.scored is None else reading.logp[text.scored]
    tokens = int(logp.size)
    loss = float(-logp.sum() / max(tokens, 1))
    targets = text.ids[1:] if text.scored is None else text.ids[1:][text.scored]
    metrics = {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": reading.correct / max(tokens, 1),
               "tokens": tokens, "unknown_tokens": int((targets == model.tokenizer.token_to_id(tk.UNK)).sum()), **info}
    if text.spans is not None and not stream_mode:
        metrics["sentences"] = len(text.spans)
    worded = [positions for positions in (text.last or []) if positions]  # lines with a word, as plain reading
    if worded and not stream_mode:
        metrics["last_word_accuracy"] = sum(bool(reading.hits[p].all()) for p in worded) / len(worded)
    return metrics


def score(model, sentences: list[str], adaptation: Adaptation, surprisal: bool = False, stats=None):
    """``TextModel.score`` with adaptation: the sentences read as one running stream, in order."""
    stream_mode = model.settings.text.mode == "stream"
    text = from_lines(model.tokenizer, sentences, stream_mode)
    rms = statistics(model, adaptation.dynamic_bptt, stats)[0] if adaptation.dynamic else None
    reading = checked_read(model, text, adaptation, rms)
    seqs = [records.frame(model.tokenizer, s, stream_mode) for s in sentences]
    logps = [reading.logp[a:b] for a, b in text.spans]
    scores = records.build(model.tokenizer, sentences, seqs, logps, surprisal)
    scores.summary.update(adaptation.describe())  # the method and its hyper-parameters, as evaluate reports them
    return scores

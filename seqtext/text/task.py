"""The language-model task: what the shared session needs to train a TextNet.

Two ways to read a corpus (``mode``):

- sentence: each line framed as ``<s> ... </s>`` and padded into its own row;
- stream: running text, tokenised once into a memory-mapped id cache and read
  as ``batch_size`` parallel streams in BPTT windows, the hidden state carried
  from one window to the next (``seqtext.text.stream``).

``auto`` picks by the corpus (``corpus.detect_mode``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from seqtext import distributed
from seqtext.config import TextSettings
from seqtext.core import detach_hidden, map_hidden
from seqtext.errors import CheckpointError, ConfigError, DataError
from seqtext.model import Task
from seqtext.text import chars, stream
from seqtext.text.casing import surface_forms
from seqtext.text import tokenizer as tk
from seqtext.text.corpus import (VALID, corpus_files, detect_mode, is_path_list, iter_text, load_lines,
                                 sentence_batches, split_lines)
from seqtext.text.net import TextNet
from seqtext.bundled import shipped
from seqtext.sources import check_same_data, with_digests
from seqtext.text.scoring import encode_lines, score_sentences, score_stream

TOKENIZER_FILE = "tokenizer.json"
DATA = {"corpus": ("corpus", "corpus"), "valid": (VALID, "valid")}  # seqtext.sources


def _paths(source) -> list[str] | None:
    """Absolute paths of a corpus given as files (the rule of ``load_lines``), or None for sentences."""
    if isinstance(source, (str, os.PathLike)):
        return [str(shipped(source).resolve())]
    if is_path_list(source):
        return [str(shipped(item).resolve()) for item in source]
    return None


def _named(valid) -> str:
    """The validation text as a warning names it: its file, or "the validation text"."""
    items = [valid] if isinstance(valid, (str, os.PathLike)) else list(valid) if is_path_list(valid) else []
    return str(items[0]) if len(items) == 1 else "the validation text"


class SentencePlan:
    """Sentence mode: shuffled padded batches of whole lines."""

    def __init__(self, task: "LanguageModelTask", train_lines: list[str], valid_lines: list[str]):
        self.task = task
        self.train_seqs, _ = encode_lines(task.tokenizer, train_lines)
        self.valid_seqs, self.valid_last = encode_lines(task.tokenizer, valid_lines)
        self.sizes = {"train_sentences": len(self.train_seqs), "valid_sentences": len(self.valid_seqs)}
        self.steps = math.ceil(len(self.train_seqs) / task.settings.train.batch_size)

    def batches(self, epoch, generator):
        pad, world = self.task.pad_id, distributed.world_size()
        # every rank draws the same global batches and keeps its share of the rows
        for x, y in sentence_batches(self.train_seqs, self.task.settings.train.batch_size, pad, shuffle=True,
                                     generator=generator):
            if x.shape[0] >= world:  # a last batch too small to share is dropped
                yield distributed.shard_rows(x), distributed.shard_rows(y)

    def units(self, batch) -> int:
        return int((batch[1] != self.task.pad_id).sum())  # the targets that are not padding

    def loss(self, runner, batch):
        x, y = (t.to(self.task.device) for t in batch)  # (B, T)
        return runner(x, y, loss_only=True)[1]

    def evaluate(self, net):
        if not self.valid_seqs:
            return None
        return score_sentences(net, self.valid_seqs, self.valid_last, self.task.device)


class StreamPlan:
    """Stream mode: B parallel streams in BPTT windows, the hidden state carried across windows."""

    def __init__(self, task: "LanguageModelTask", train_ids, valid_ids):
        self.task = task
        batch, self.bptt = task.settings.train.batch_size, task.settings.text.bptt
        self.streams = distributed.shard_rows(stream.batchify(train_ids, batch))  # (B / world, N)
        self.valid_ids = valid_ids
        self.hidden = self.resumed = None  # resumed: the state a resume mid-epoch reads on from
        # valid_tokens: the tokens scored (each but the first is predicted from those before it), as evaluate counts them
        self.sizes = {"train_tokens": len(train_ids), "valid_tokens": max(len(valid_ids) - 1, 0)}
        self.steps = math.ceil((self.streams.shape[1] - 1) / self.bptt)

    def batches(self, epoch, generator):
        # each epoch reads the streams from their start, from a zero state; a resume mid-epoch from the saved one
        self.hidden, self.resumed = self.resumed, None
        return stream.bptt_windows(self.streams, self.bptt)

    def units(self, batch) -> int:
        return batch[1].numel()

    def loss(self, runner, batch):
        x, y = (t.to(self.task.device) for t in batch)  # (B, T)
        _, loss, self.hidden = runner(x, y, hidden=detach_hidden(self.hidden), loss_only=True)
        return loss

    def evaluate(self, net):
        if len(self.valid_ids) <= 1:
            return None
        return score_stream(net, self.valid_ids, self.bptt, self.task.device)


class LanguageModelTask(Task):
    """Next-word prediction over a corpus: a tokenizer trained on it, a TextNet, cross-entropy."""

    settings_class = TextSettings
    kind = "text"
    headline = "perplexity"
    files = (TOKENIZER_FILE,)

    def __init__(self, settings):
        super().__init__(settings)
        self.chars = settings.text.tokenizer == "char"  # a character model: scored in bits per character
        if self.chars:
            self.headline = "bits_per_char"
        self.tokenizer = None
        self.sources: dict = {}  # corpus paths, recorded so a resume can read them again
        self.casing: dict = {}  # names as the training text writes them (seqtext.text.casing)
        self.plan: SentencePlan | StreamPlan | None = None

    @property
    def carried(self):
        """Stream mode: the hidden state carried from one window to the next (saved, so a resume mid-epoch reads
        on from it, bit-identically); None otherwise."""
        hidden = getattr(self.plan, "hidden", None)
        return None if hidden is None else detach_hidden(hidden)

    @carried.setter
    def carried(self, hidden) -> None:
        if isinstance(self.plan, StreamPlan):
            self.plan.resumed = map_hidden(hidden, lambda h: h.to(self.device))

    @property
    def pad_id(self) -> int:
        return self.tokenizer.token_to_id(tk.PAD)

    # ------------------------------------------------------------------ data

    def prepare(self, data: dict, fresh: bool) -> None:
        """Read the corpus in this model's mode (resolving ``auto``), training the tokenizer when fresh."""
        text, train = self.settings.text, self.settings.train
        corpus, valid = data["corpus"], data.get("valid")
        sources = {"corpus": _paths(corpus), "valid": _paths(valid) if valid is not None else None}
        self.sources = with_digests(sources, DATA) if fresh else check_same_data(self.sources, sources, DATA)
        if text.mode == "auto":
            text.mode = "stream" if self.sources["corpus"] and detect_mode(corpus) == "stream" \
                else "sentence"
        if text.mode == "sentence":
            lines = load_lines(corpus)
            if valid is not None:
                train_lines, valid_lines = lines, load_lines(valid, name=VALID)
            else:
                train_lines, valid_lines = split_lines(lines, train.valid_fraction, train.seed)
            if fresh:
                self.tokenizer = tk.train_tokenizer(train_lines, text.tokenizer, text.vocab_size, text.min_frequency,
                                                    text.split_punctuation)
                self.casing = self._casing(train_lines)
            self.plan = SentencePlan(self, train_lines, valid_lines)
            if fresh:
                unk = self.tokenizer.token_to_id(tk.UNK)
                tk.warn_unknown_share(sum(s.count(unk) for s in self.plan.train_seqs),
                                      sum(len(s) - 2 for s in self.plan.train_seqs), self.tokenizer)
                if valid is not None:  # a validation text unlike the corpus: its perplexity flatters (<unk> is easy)
                    tk.warn_unknown_share(sum(s.count(unk) for s in self.plan.valid_seqs),
                                          sum(len(s) - 2 for s in self.plan.valid_seqs), where=_named(valid),
                                          validating=True)
            return
        if self.sources["corpus"] is None:
            raise ConfigError("stream {mode} reads files; give the corpus as a path, or use mode='sentence'.",
                              params=["mode"])
        files = corpus_files(corpus)
        if fresh:
            self.tokenizer = tk.train_tokenizer(iter_text(files, raw=self.chars), text.tokenizer,
                                                text.vocab_size, text.min_frequency, text.split_punctuation)
            self.casing = self._casing(iter_text(files))
        ids = stream.encode_corpus(files, self.tokenizer).ids  # (N,) memory-mapped
        if fresh:
            unknown = int((ids == self.tokenizer.token_to_id(tk.UNK)).sum())
            tk.warn_unknown_share(unknown, len(ids), self.tokenizer)
        if valid is not None:
            valid_ids = stream.encode_corpus(corpus_files(valid, VALID), self.tokenizer).ids
            if len(valid_ids) < 2:  # nothing predicted from anything: validation would be silently off
                raise DataError(f"{_named(valid)} holds {len(valid_ids)} token"
                                f"{'' if len(valid_ids) == 1 else 's'}, too few to validate on (a token is predicted "
                                "from those before it); give a longer validation text.")
            if fresh:
                tk.warn_unknown_share(int((valid_ids == self.tokenizer.token_to_id(tk.UNK)).sum()), len(valid_ids),
                                      where=_named(valid), validating=True)
            self.plan = StreamPlan(self, ids, valid_ids)
        else:
            cut = len(ids) - int(len(ids) * train.valid_fraction)  # the tail: no window crosses the split
            if cut < 2 * train.batch_size:  # batchify's rule, said of the option that took the tokens
                raise DataError(f"holding out {{valid_fraction}} {train.valid_fraction:g} of the {len(ids)} tokens "
                                f"leaves {cut} to train on, too few for {{batch_size}} {train.batch_size} parallel "
                                "streams of two tokens; lower {valid_fraction} or {batch_size}, or give more text.",
                                params=["valid_fraction", "batch_size"])
            self.plan = StreamPlan(self, ids[:cut], ids[cut:])

    def _casing(self, lines) -> dict:
        """The forms of names in the training text (a character model keeps every case itself): text.casing."""
        if self.chars:
            return {}
        return surface_forms(lines, self.tokenizer, words_only=self.settings.text.tokenizer == "word")

    def recorded_data(self, path) -> dict:
        if not self.sources.get("corpus"):
            raise ConfigError(f"{path} was trained on sentences given in Python; pass the corpus to resume().")
        return {"corpus": [Path(p) for p in self.sources["corpus"]],
                "valid": [Path(p) for p in self.sources["valid"]] if self.sources.get("valid") else None}

    # --------------------------------------------------------------- training

    def build(self) -> TextNet:
        vocab = self.tokenizer.get_vocab_size()
        text, core = self.settings.text, self.settings.core
        if text.softmax == "adaptive":
            if not text.cutoffs:  # word ids are ordered by frequency: the head takes the commonest 20 %
                text.cutoffs = sorted({max(1, round(vocab * 0.2)), max(2, round(vocab * 0.6))})
            if text.cutoffs[-1] >= vocab - 1:
                raise ConfigError(f"adaptive softmax {{cutoffs}} {text.cutoffs} must lie below the vocabulary size "
                                  f"minus one ({vocab - 1}); give smaller ones.", params=["cutoffs"])
            if core.hidden // 4 ** len(text.cutoffs) < 1:  # each tail cluster is 4x narrower than the one before
                raise ConfigError(f"an adaptive softmax with {len(text.cutoffs)} tail clusters needs a {{hidden}} "
                                  f"size of at least {4 ** len(text.cutoffs)}; give fewer {{cutoffs}} or a larger "
                                  "{hidden}.", params=["hidden", "cutoffs"])
        return TextNet(vocab, text, core, pad_id=self.pad_id)

    def batches(self, epoch: int, generator: torch.Generator):
        return self.plan.batches(epoch, generator)

    def loss(self, runner, batch) -> torch.Tensor:
        return self.plan.loss(runner, batch)

    def units(self, batch) -> int:
        return self.plan.units(batch)

    def evaluate(self, net) -> dict | None:
        return self.report(self.plan.evaluate(net))

    def report(self, metrics: dict | None) -> dict | None:
        """An evaluation as reported: a character model's with its bits per character."""
        return chars.with_bits(metrics) if self.chars and metrics is not None else metrics

    def steps_per_epoch(self) -> int:
        return self.plan.steps

    def sizes(self) -> dict:
        return self.plan.sizes if self.plan is not None else {}

    # ---------------------------------------------------------- model directory

    def record(self) -> dict:
        return {"vocab_size": self.tokenizer.get_vocab_size(), "data": self.sources, "casing": self.casing}

    def write_files(self, directory: Path) -> None:
        tk.save_tokenizer(self.tokenizer, directory / TOKENIZER_FILE)

    def read_files(self, directory: Path, config: dict) -> None:
        self.tokenizer = tk.load_tokenizer(directory / TOKENIZER_FILE)
        if config.get("vocab_size") != self.tokenizer.get_vocab_size():
            raise CheckpointError(
                f"{directory / TOKENIZER_FILE} does not match config.json (vocabulary size); retrain the model."
            )
        tk.check_kind(self.tokenizer, self.settings.text.tokenizer, directory / TOKENIZER_FILE)
        self.sources = config.get("data") or {}
        casing = config.get("casing")  # models saved before names' forms were recorded write tokens as they are
        self.casing = casing if isinstance(casing, dict) else {}

    def weights(self, net: TextNet) -> dict:
        return net.weights()

    def load_weights(self, net: TextNet, state: dict, where: Path) -> None:
        net.load_weights(state, where)

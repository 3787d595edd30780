"""Next-word text models: TextNet (the nn.Module) and TextModel (the user API).

    sentence -> tokenizer.json -> ids -> Embedding -> RecurrentCore -> Linear -> softmax

``TextModel`` trains a tokenizer and a ``TextNet`` on a sentence corpus,
completes prompts (a ``___`` blank is filled in place, otherwise the text is
continued), lists the likeliest next words, evaluates, and saves/loads a model
directory.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seqtext import checkpoint, distributed, stream
from seqtext import tokenizer as tk
from seqtext.config import TEXT_DEFAULTS, CoreConfig, TextConfig, TrainConfig
from seqtext.core import LockedDropout, RecurrentCore, detach_hidden
from seqtext.data import corpus_files, is_path_list, load_lines, sentence_batches, split_lines
from seqtext.decoding import check_sampling, choose, is_sampling
from seqtext.errors import CheckpointError, ConfigError, DataError, whole_number
from seqtext.train import TrainingInterrupted, fit, pick_device, seed_everything

BLANK = "___"
FILL_CANDIDATES = 32  # words rescored with the text after a blank
MAX_CONTEXT = 2048  # prompt tokens read before a blank (the rest is dropped from the front)
MAX_SUFFIX = 256  # tokens after a blank used to rank the candidates


def _paths(source) -> list[str] | None:
    """Absolute paths of a corpus given as files (the rule of ``load_lines``), or None for sentences."""
    if isinstance(source, (str, os.PathLike)):
        return [str(Path(source).resolve())]
    if is_path_list(source):
        return [str(Path(item).resolve()) for item in source]
    return None


def _cutoff_list(cutoffs) -> list:
    """None (automatic) -> []; a tuple -> a list; anything else is left for validation to judge."""
    if cutoffs is None:
        return []
    return list(cutoffs) if isinstance(cutoffs, tuple) else cutoffs


class TextNet(nn.Module):
    """Embedding -> RecurrentCore -> Linear over the vocabulary."""

    def __init__(self, vocab_size: int, text: TextConfig, core: CoreConfig, pad_id: int = 0):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, text.embed_size, padding_idx=pad_id)
        self.core = RecurrentCore(core)
        dropout = LockedDropout if text.locked_dropout else nn.Dropout
        self.embed_dropout = dropout(text.embed_dropout)
        self.output_dropout = dropout(text.output_dropout)
        self.tied = text.tie_weights
        # Tied weights with a core wider than the embedding: a linear projection H -> E
        # before the shared (V, E) matrix, so the hidden size can grow without
        # growing the (large) output layer.
        self.project = (nn.Linear(self.core.output_size, text.embed_size)
                        if self.tied and self.core.output_size != text.embed_size else None)
        width = text.embed_size if self.project is not None else self.core.output_size
        self.adaptive = text.softmax == "adaptive"
        if self.adaptive:
            # Grave et al.'s adaptive softmax: the frequent words (ids are ordered by frequency)
            # in a full head, the rare ones in smaller tail clusters behind it.
            self.head = nn.AdaptiveLogSoftmaxWithLoss(width, vocab_size, text.cutoffs, div_value=4.0)
        else:
            self.head = nn.Linear(width, vocab_size)
        if self.tied:
            # The shared matrix is also the output layer: nn.Embedding's N(0, 1) start makes the
            # first logits huge (measured on PTB, a 600-unit core projected to 200: validation
            # perplexity 506 after one epoch, 291 from this start), so it starts small, as in the
            # reference word_language_model.
            with torch.no_grad():
                nn.init.uniform_(self.embed.weight, -0.1, 0.1)
                self.embed.weight[pad_id].zero_()
            self.head.weight = self.embed.weight  # (V, E) shared

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None, hidden=None, last_only=False):
        """x, targets: (B, T) ids -> logits (B, T, V), mean loss over non-pad targets, hidden.

        ``last_only`` computes the head at the last step only (B, 1, V): reading a
        long prompt then costs no T x V memory.  With an adaptive softmax the
        "logits" are log-probabilities, and a call with targets returns None
        for them: its loss never builds the full (B, T, V) distribution.
        """
        emb = self.embed_dropout(self.embed(x))  # (B, T, E)
        out, hidden = self.core(emb, hidden)  # (B, T, H)
        if last_only:
            out = out[:, -1:]  # (B, 1, H)
        feats = self.features(out)  # (B, T, E or H)
        if self.adaptive:
            logits, loss = None, None
            if targets is not None:
                keep = targets.flatten() != self.pad_id
                loss = self.head(feats.flatten(0, 1)[keep], targets.flatten()[keep]).loss
            else:
                logits = self._distribution(feats.flatten(0, 1)).view(*feats.shape[:2], -1)  # (B, T, V)
            return logits, loss, hidden
        logits = self._distribution(feats)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad_id)
        return logits, loss, hidden

    def step(self, tokens: torch.Tensor, hidden=None):
        """Inference, one token per row: tokens (B,) -> (logits (B, V), hidden); as forward, less overhead."""
        feats, hidden = self._advance(tokens, hidden)
        return self._distribution(feats), hidden

    def greedy_step(self, tokens: torch.Tensor, hidden, banned: torch.Tensor):
        """The likeliest next token after each of ``tokens`` (B,), never one of ``banned`` (ids).

        With an adaptive softmax this usually needs the head alone: when the
        best entry of the head is a word of the shortlist, no word of a tail
        cluster can beat it (a tail word's probability is at most its
        cluster's, and the cluster is an entry of the head).  Only otherwise
        is the full distribution computed.  Exactly the argmax of ``step``.
        """
        feats, hidden = self._advance(tokens, hidden)
        if self.adaptive:
            head = self.head.head(feats)  # (B, shortlist + clusters)
            head.index_fill_(1, banned, -math.inf)  # the special tokens come first: all in the shortlist
            best = head.argmax(-1)
            if bool((best < self.head.shortlist_size).all()):
                return best, hidden
        return self._distribution(feats).index_fill_(1, banned, -math.inf).argmax(-1), hidden

    def _advance(self, tokens: torch.Tensor, hidden):
        """One fused core step for tokens (B,): the head's input (B, E or H) and the new hidden state."""
        out, hidden = self.core.step(self.embed.weight[tokens], hidden)
        return self.features(out), hidden

    def _distribution(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits (full softmax) or log-probabilities (adaptive) over the vocabulary, (B, V)."""
        if self.adaptive:
            return self.head.log_prob(feats)
        return F.linear(feats, self.head.weight, self.head.bias)

    def features(self, out: torch.Tensor) -> torch.Tensor:
        """The core's outputs (..., H) as the head reads them (..., E or H)."""
        out = self.output_dropout(out)
        return out if self.project is None else self.project(out)

    def weights(self) -> dict:
        """State dict without the tied duplicate (safetensors stores no shared tensors)."""
        state = self.state_dict()
        if self.tied:
            state.pop("head.weight", None)
        return state

    def load_weights(self, state: dict, where: Path) -> None:
        if self.tied and "embed.weight" in state:
            state = dict(state, **{"head.weight": state["embed.weight"]})
        checkpoint.load_state(self, state, where)


class Completion(str):
    """The completed text (a ``str``), with what produced it as attributes.

    ``words``: the generated words; ``unknown``: prompt words outside the
    vocabulary; ``prompt``: the prompt as typed.
    """

    prompt: str
    words: list
    unknown: list

    def __new__(cls, text: str, prompt: str, words: list, unknown: list):
        obj = super().__new__(cls, text)
        obj.prompt, obj.words, obj.unknown = prompt, list(words), list(unknown)
        return obj

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "completion": str(self), "words": self.words, "unknown": self.unknown}


class TextModel:
    """A next-word model over a sentence corpus.

    >>> model = TextModel().fit("corpora/pronouns.txt")                 # doctest: +SKIP
    >>> model.complete("Mary rides the bicycle, the bicycle is ___")    # doctest: +SKIP
    'Mary rides the bicycle, the bicycle is hers.'
    """

    def __init__(self, *, progress: bool = False, **options):
        """Options (all keyword, defaults in ``seqtext.config.TEXT_DEFAULTS``):

        embed, hidden, layers, nonlinearity (tanh|relu), dropout, cell
        (rnn|gru|lstm), tokenizer (word|bpe), split_punctuation, vocab_size,
        min_frequency, tie_weights, embed_dropout, output_dropout,
        locked_dropout, weight_drop, mode
        (auto|sentence|stream), bptt, softmax (full|adaptive), cutoffs,
        epochs, batch_size, optimizer (adam|sgd), lr, weight_decay, clip,
        lr_decay, schedule (plateau|cosine), warmup, precision (fp32|bf16), patience, seed,
        device (auto|cpu|cuda|mps), threads, valid_fraction.
        ``progress`` shows a progress bar while fitting.
        """
        unknown = sorted(set(options) - set(TEXT_DEFAULTS))
        if unknown:
            raise ConfigError(f"TextModel has no option {unknown[0]!r}; see seqtext.config.TEXT_DEFAULTS.")
        o = {**TEXT_DEFAULTS, **options}
        core = CoreConfig(input_size=o["embed"], hidden_size=o["hidden"], num_layers=o["layers"],
                          nonlinearity=o["nonlinearity"], dropout=o["dropout"], cell=o["cell"],
                          weight_drop=o["weight_drop"])
        text = TextConfig(embed_size=o["embed"], tokenizer=o["tokenizer"], vocab_size=o["vocab_size"],
                          split_punctuation=o["split_punctuation"],
                          min_frequency=o["min_frequency"], tie_weights=o["tie_weights"],
                          embed_dropout=o["embed_dropout"], output_dropout=o["output_dropout"],
                          locked_dropout=o["locked_dropout"],
                          mode=o["mode"], bptt=o["bptt"], softmax=o["softmax"],
                          cutoffs=_cutoff_list(o["cutoffs"]))
        train = TrainConfig(epochs=o["epochs"], batch_size=o["batch_size"], optimizer=o["optimizer"],
                            lr=o["lr"], clip=o["clip"],
                            lr_decay=o["lr_decay"], weight_decay=o["weight_decay"],
                            schedule=o["schedule"], warmup=o["warmup"], precision=o["precision"],
                            patience=o["patience"], seed=o["seed"], device=o["device"],
                            valid_fraction=o["valid_fraction"], threads=o["threads"])
        self._init(core, text, train)
        self.progress = progress

    def _init(self, core: CoreConfig, text: TextConfig, train: TrainConfig) -> None:
        for cfg in (core, text, train):
            cfg.validate()
        if core.bidirectional:
            raise ConfigError("a text model predicts the next word, so its core cannot be bidirectional.")
        self.core_config, self.text_config, self.train_config = core, text, train
        self.net: TextNet | None = None
        self.tokenizer = None
        self.history: list[dict] = []
        self.summary: dict = {}
        self.trainer_state: dict | None = None  # what resume() needs; saved as trainer.pt
        self.data_sources: dict = {}  # corpus paths, recorded so a resume can read them again
        self.device = torch.device("cpu")
        self.progress = False

    # ------------------------------------------------------------------ training

    def fit(self, corpus, valid=None, *, checkpoint_dir=None, callback=None) -> "TextModel":
        """Train on a corpus (path, list of paths, or list of sentences); returns self.

        Sentence mode pads each line into its own row; stream mode (running
        text, see ``seqtext.stream``) reads the corpus as B parallel streams in
        BPTT windows with the hidden state carried across them.  ``mode="auto"``
        picks by the corpus (``stream.detect_mode``).

        With ``checkpoint_dir``, the model directory is written there after
        every epoch (atomically, with the trainer state for ``resume``).
        Ctrl-C raises :class:`~seqtext.train.TrainingInterrupted` after the
        current batch; the model then holds the best weights so far, and
        ``save()`` writes a directory that ``TextModel.resume`` continues.
        ``callback(model, metrics)`` is called after every epoch, with the
        best weights so far in the model.
        """
        self.device = distributed.setup(pick_device(self.train_config.device))
        generator = seed_everything(self.train_config.seed)
        data = self._prepare(corpus, valid, train_tokenizer=True)
        self.net = self._build_net().to(self.device)
        return self._train(data, generator, checkpoint_dir, resume=None, callback=callback)

    @classmethod
    def resume(cls, path, corpus=None, valid=None, *, epochs: int | None = None, patience: int | None = None,
               progress: bool = False, checkpoint_dir=None) -> "TextModel":
        """Continue an interrupted (or finished) training from its model directory.

        The corpus is read again from the paths recorded in ``config.json``
        unless given; ``epochs`` raises the epoch limit and ``patience`` the
        early-stopping patience (to continue a run that stopped early).  On CPU a sentence-mode
        run ends bit-identical to one that was never interrupted (stream mode
        restarts the carried hidden state at the resume point).
        """
        model = cls.load(path)
        state = checkpoint.load_trainer_state(Path(path))
        data = model.data_sources
        if corpus is None:
            if not data.get("corpus"):
                raise ConfigError(f"{path} was trained on sentences given in Python; pass the corpus to resume().")
            corpus = [Path(p) for p in data["corpus"]]
            valid = [Path(p) for p in data["valid"]] if data.get("valid") else None
        if epochs is not None:
            model.train_config.epochs = epochs
        if patience is not None:
            model.train_config.patience = patience
        model.train_config.validate()
        done = len(json.loads(state["history"]))
        if state["finished"]:
            if model.train_config.epochs <= done or state["waited"] >= model.train_config.patience:
                raise ConfigError(
                    f"the training in {path} already finished after {done} epochs; "
                    "pass a larger --epochs (and patience) to continue it."
                )
            state["finished"] = False
        model.progress = progress
        model.device = distributed.setup(pick_device(model.train_config.device))
        model.net.to(model.device)
        prepared = model._prepare(corpus, valid, train_tokenizer=False)
        return model._train(prepared, torch.Generator(), checkpoint_dir, resume=state)

    def _prepare(self, corpus, valid, train_tokenizer: bool) -> dict:
        """Read the corpus in this model's mode (resolving ``auto``), training the tokenizer if asked."""
        cfg, text = self.train_config, self.text_config
        self.data_sources = {"corpus": _paths(corpus), "valid": _paths(valid) if valid is not None else None}
        if text.mode == "auto":
            text.mode = "stream" if self.data_sources["corpus"] and stream.detect_mode(corpus) == "stream" \
                else "sentence"
        if text.mode == "sentence":
            lines = load_lines(corpus)
            if valid is not None:
                train_lines, valid_lines = lines, load_lines(valid)
            else:
                train_lines, valid_lines = split_lines(lines, cfg.valid_fraction, cfg.seed)
            if train_tokenizer:
                self.tokenizer = tk.train_tokenizer(train_lines, text.tokenizer, text.vocab_size, text.min_frequency,
                                                    text.split_punctuation)
            return {"train_lines": train_lines, "valid_lines": valid_lines}
        if self.data_sources["corpus"] is None:
            raise ConfigError("stream mode reads files; give the corpus as a path, or use mode='sentence'.")
        files = corpus_files(corpus)
        if train_tokenizer:
            self.tokenizer = tk.train_tokenizer(stream.iter_lines(files), text.tokenizer, text.vocab_size,
                                                text.min_frequency, text.split_punctuation)
        ids = stream.encode_corpus(files, self.tokenizer).ids  # (N,) memory-mapped
        if valid is not None:
            return {"train_ids": ids, "valid_ids": stream.encode_corpus(corpus_files(valid), self.tokenizer).ids}
        cut = len(ids) - int(len(ids) * cfg.valid_fraction)  # the tail: no window crosses the split
        return {"train_ids": ids[:cut], "valid_ids": ids[cut:]}

    def _train(self, data: dict, generator, checkpoint_dir, resume, callback=None) -> "TextModel":
        cfg = self.train_config
        runner = distributed.wrap(self.net, self.device)  # DDP under torchrun, else the net itself
        if "train_lines" in data:
            batches, step_loss, evaluate, sizes, steps = self._sentence_plan(data, generator, runner)
        else:
            batches, step_loss, evaluate, sizes, steps = self._stream_plan(data, runner)

        def on_epoch(state):
            self._record(state, sizes)
            if checkpoint_dir is not None and distributed.is_main():
                self.save(checkpoint_dir)
            if callback is not None:
                callback(self, self.history[-1])

        try:
            result = fit(self.net, batches, step_loss, evaluate, cfg, generator=generator,
                         headline="perplexity", progress=self.progress and distributed.is_main(), resume=resume,
                         steps_per_epoch=steps,
                         on_epoch=on_epoch if checkpoint_dir is not None or callback is not None else None)
        except TrainingInterrupted as exc:
            self._record(exc.state, sizes)
            exc.model = self  # so a caller of resume() can still save it
            raise
        self._record(result.state, sizes)
        return self

    def _sentence_plan(self, data: dict, generator, runner):
        cfg = self.train_config
        train_seqs, _ = self._encode(data["train_lines"])
        valid_seqs, valid_last = self._encode(data["valid_lines"])
        pad = self.net.pad_id
        sizes = {"train_sentences": len(train_seqs), "valid_sentences": len(valid_seqs)}
        world = distributed.world_size()

        def batches(epoch):
            # every rank draws the same global batches and keeps its share of the rows
            for x, y in sentence_batches(train_seqs, cfg.batch_size, pad, shuffle=True, generator=generator):
                if x.shape[0] >= world:  # a last batch too small to share is dropped
                    yield distributed.shard_rows(x), distributed.shard_rows(y)

        def step_loss(net, batch):
            x, y = (t.to(self.device) for t in batch)
            return runner(x, y)[1]

        evaluate = (lambda net: self._score(valid_seqs, valid_last)) if valid_seqs else None
        return batches, step_loss, evaluate, sizes, math.ceil(len(train_seqs) / cfg.batch_size)

    def _stream_plan(self, data: dict, runner):
        cfg, bptt = self.train_config, self.text_config.bptt
        streams = distributed.shard_rows(stream.batchify(data["train_ids"], cfg.batch_size))  # (B / world, N)
        carried = {"hidden": None}
        sizes = {"train_tokens": len(data["train_ids"]), "valid_tokens": len(data["valid_ids"])}

        def batches(epoch):
            carried["hidden"] = None  # each epoch reads the streams from their start
            return stream.bptt_windows(streams, bptt)

        def step_loss(net, batch):
            x, y = (t.to(self.device) for t in batch)  # (B, T)
            _, loss, hidden = runner(x, y, hidden=detach_hidden(carried["hidden"]))
            carried["hidden"] = hidden
            return loss

        evaluate = (lambda net: self._score_stream(data["valid_ids"])) if len(data["valid_ids"]) > 1 else None
        return batches, step_loss, evaluate, sizes, math.ceil((streams.shape[1] - 1) / bptt)

    @torch.no_grad()
    def _score_stream(self, ids, batch_size: int = 10) -> dict:
        """Loss, perplexity and next-word accuracy over a token stream, state carried across windows."""
        net = self.net
        was_training = net.training
        net.eval()
        streams = distributed.shard_rows(stream.batchify(ids, min(batch_size, max(1, (len(ids) - 1) // 2))))
        nll, tokens, correct, hidden = 0.0, 0, 0, None
        for x, y in stream.bptt_windows(streams, self.text_config.bptt):
            x, y = x.to(self.device), y.to(self.device)  # (B, T)
            logits, _, hidden = net(x, hidden=hidden)  # (B, T, V)
            nll += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            tokens += y.numel()
            correct += int((logits.argmax(-1) == y).sum())
        net.train(was_training)
        nll, tokens, correct = distributed.sum_across([nll, tokens, correct])
        loss = nll / max(tokens, 1)
        return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": correct / max(tokens, 1),
                "tokens": int(tokens)}

    def _record(self, state: dict, sizes: dict) -> None:
        """Keep the trainer state and the summary of the best evaluation so far."""
        self.trainer_state = state
        self.history = json.loads(state["history"])
        best = json.loads(state["best_metrics"]) or (self.history[-1] if self.history else {})
        self.summary = {k: v for k, v in best.items() if k.startswith("valid_") or k == "epoch"}
        self.summary.update(epochs_run=len(self.history), seconds=round(state["elapsed"], 2),
                            finished=bool(state["finished"]), **sizes)

    def _build_net(self) -> TextNet:
        vocab = self.tokenizer.get_vocab_size()
        text = self.text_config
        if text.softmax == "adaptive":
            if not text.cutoffs:  # word ids are ordered by frequency: the head takes the commonest 20 %
                text.cutoffs = sorted({max(1, round(vocab * 0.2)), max(2, round(vocab * 0.6))})
            if text.cutoffs[-1] >= vocab - 1:
                raise ConfigError(f"adaptive softmax cutoffs {text.cutoffs} must lie below the vocabulary size "
                                  f"minus one ({vocab - 1}); give smaller --cutoffs.")
            if self.core_config.hidden_size // 4 ** len(text.cutoffs) < 1:  # each tail cluster is 4x narrower than the one before
                raise ConfigError(f"an adaptive softmax with {len(text.cutoffs)} tail clusters needs a hidden size "
                                  f"of at least {4 ** len(text.cutoffs)}; give fewer --cutoffs or a larger --hidden.")
        return TextNet(vocab, self.text_config, self.core_config, pad_id=self.tokenizer.token_to_id(tk.PAD))

    def _encode(self, lines: list[str]) -> tuple[list[list[int]], list[list[int]]]:
        """Ids framed as <s> ... </s>, and for each line the target positions of its last word."""
        if not lines:
            return [], []
        bos, eos = self.tokenizer.token_to_id(tk.BOS), self.tokenizer.token_to_id(tk.EOS)
        seqs, last = [], []
        for line, enc in zip(lines, self.tokenizer.encode_batch(lines, add_special_tokens=False)):
            seqs.append([bos, *enc.ids, eos])
            # target index of token i is i (inputs start with <s>)
            words = [w for w, (s, e) in zip(enc.word_ids, enc.offsets) if tk.is_wordlike(line[s:e])]
            last_word = words[-1] if words else None
            last.append([i for i, w in enumerate(enc.word_ids) if w is not None and w == last_word])
        return seqs, last

    def _require_trained(self) -> None:
        if self.net is None or self.tokenizer is None:
            raise ConfigError("the model is not trained yet; call fit() or load a model directory first.")

    @torch.no_grad()
    def _score(self, seqs: list[list[int]], last: list[list[int]]) -> dict:
        """Loss, perplexity, next-word accuracy and last-word accuracy over framed sequences."""
        net = self.net
        was_training = net.training
        net.eval()
        pad = net.pad_id
        if distributed.active():  # each rank scores its share; the sums are reduced below
            r, w = distributed.rank(), distributed.world_size()
            seqs, last = seqs[r::w], last[r::w]
        nll, tokens, correct, last_ok, last_n = 0.0, 0, 0, 0, 0
        row = 0
        for x, y in sentence_batches(seqs, 256, pad, shuffle=False):
            x, y = x.to(self.device), y.to(self.device)
            logits, _, _ = net(x)
            mask = y != pad
            nll += F.cross_entropy(logits[mask], y[mask], reduction="sum").item()
            tokens += int(mask.sum())
            hit = (logits.argmax(-1) == y) & mask  # (B, T)
            correct += int(hit.sum())
            hit = hit.cpu()
            for b in range(x.shape[0]):
                positions = last[row]
                if positions:
                    last_n += 1
                    last_ok += bool(hit[b, positions].all())
                row += 1
        net.train(was_training)
        nll, tokens, correct, last_ok, last_n = distributed.sum_across([nll, tokens, correct, last_ok, last_n])
        loss = nll / max(tokens, 1)
        metrics = {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "accuracy": correct / max(tokens, 1)}
        if last_n:  # sentences without a word (only punctuation) have no last word to score
            metrics["last_word_accuracy"] = last_ok / last_n
        return metrics

    def evaluate(self, corpus) -> dict:
        """Perplexity, next-word accuracy and last-word accuracy on a corpus."""
        self._require_trained()
        if self.text_config.mode == "stream":
            ids = stream.encode_corpus(corpus_files(corpus), self.tokenizer).ids
            return self._score_stream(ids)
        lines = load_lines(corpus)
        seqs, last = self._encode(lines)
        metrics = self._score(seqs, last)
        metrics.update(sentences=len(lines), tokens=sum(len(s) - 1 for s in seqs))
        return metrics

    # ---------------------------------------------------------------- inference

    def _parse_prompt(self, prompt: str) -> tuple[str, str | None]:
        if not isinstance(prompt, str) or not prompt.strip():
            raise DataError("the prompt is empty; give some words to complete.")
        count = prompt.count(BLANK)
        if count > 1:
            raise DataError(f"the prompt has {count} blanks ({BLANK}); use at most one.")
        if count == 1:
            prefix, suffix = prompt.split(BLANK, 1)
            return prefix, suffix
        return prompt, None

    def _prefix_state(self, prefix: str):
        """Run <s> + prefix through the net: (logits of the next token (V,), hidden)."""
        enc = self.tokenizer.encode(prefix, add_special_tokens=False)
        # An RNN reads any length in linear time, but a prompt is cut to its last
        # MAX_CONTEXT tokens so that memory and latency stay bounded (documented).
        # A sentence model saw every line start with <s>; a stream model saw lines only as
        # text after the </s> that ends the previous one, so that is how its prompts start.
        start = tk.EOS if self.text_config.mode == "stream" else tk.BOS
        ids = [self.tokenizer.token_to_id(start), *enc.ids[-MAX_CONTEXT:]]
        x = torch.tensor([ids], device=self.device)  # (1, T)
        logits, _, hidden = self.net(x, last_only=True)
        return logits[0, -1], hidden

    def _banned(self) -> list[int]:
        return [self.tokenizer.token_to_id(t) for t in (tk.PAD, tk.UNK, tk.BOS)]

    @torch.inference_mode()
    def complete(
        self,
        prompt: str,
        words: int = 20,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: bool = True,
    ) -> Completion:
        """Fill the prompt's ``___`` in place, or continue the prompt.

        A blank at the very end is filled and the sentence closed; otherwise
        up to ``words`` words are generated, stopping at the end of the
        sentence (``stop=False`` goes on across sentence ends, writing a line
        break for each end of line, until ``words`` words).  The
        Greedy unless ``temperature``, ``top_k`` or ``top_p`` is
        given.  The hidden state is carried, so generation is linear in length.
        """
        self._require_trained()
        check_sampling(temperature, top_k, top_p)
        whole_number("words", words)
        prefix, suffix = self._parse_prompt(prompt)
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        logits, hidden = self._prefix_state(prefix)
        unknown = self.unknown_words(prompt)
        sample = dict(temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
        if suffix is not None and suffix.strip():
            word = self._fill(logits, hidden, suffix, sample)
            text = prefix + tk.join_words([word], after=prefix) + suffix
            return Completion(text, prompt, [word], unknown)
        if suffix is not None:  # a trailing blank: one word, then the sentence closed if the model ends it
            generated = self._generate(logits, hidden, 1, sample, close=True)
        else:
            generated = self._generate(logits, hidden, words, sample, stop=stop)
        text = prefix + tk.join_words(generated, after=prefix)
        if suffix is not None:
            text += suffix  # white space typed after a trailing blank
        return Completion(text, prompt, [w for w in generated if tk.is_wordlike(w)], unknown)

    def _generate(self, logits, hidden, max_words: int, sample: dict, close: bool = False,
                  stop: bool = True) -> list[str]:
        """Words from the current state until a sentence end, </s> or ``max_words``.

        ``close``: after the last word, keep punctuation up to the sentence end
        (a filled trailing blank gets its full stop), but no further word.
        ``stop=False``: sentence ends do not stop it; </s> becomes a line break.
        """
        banned = torch.tensor(self._banned(), device=self.device)
        eos = self.tokenizer.token_to_id(tk.EOS)
        greedy = not is_sampling(sample["temperature"], sample["top_k"], sample["top_p"])
        out: list[str] = []
        pieces: list[str] = []  # BPE tokens of the word being built
        n_words = 0

        def pick(logits):
            return choose(logits.index_fill(0, banned, -math.inf), **sample)  # the caller's logits stay as they were

        tid = pick(logits)
        for _ in range(max_words * 8):  # hard bound on tokens for subword models
            if tid == eos and stop:
                break
            token = "\n" if tid == eos else self.tokenizer.id_to_token(tid)
            pieces.append(tk.token_text(token))
            if tid == eos or tk.token_ends_word(self.tokenizer, token):
                word = "".join(pieces)
                pieces = []
                if close and n_words >= max_words and tk.is_wordlike(word):
                    break  # the blank's word is placed; only closing punctuation may follow
                out.append(word)
                if tk.is_wordlike(word):
                    n_words += 1
                if (stop and word in tk.SENTENCE_END) or (n_words >= max_words and not close):
                    break
            # O(1) per token: the hidden state is carried, the prefix is never read again
            x = torch.tensor([tid], device=self.device)
            if greedy:  # exact argmax, and with an adaptive softmax usually from its head alone
                best, hidden = self.net.greedy_step(x, hidden, banned)
                tid = int(best[0])
            else:
                step, hidden = self.net.step(x, hidden)
                tid = pick(step[0])
        if pieces:
            out.append("".join(pieces))
        return out

    def _candidates(self, logits, hidden, suffix: str, k: int) -> tuple[list[int], torch.Tensor]:
        """Top word candidates for a blank and their probabilities given the text after it."""
        banned = self._banned() + [self.tokenizer.token_to_id(tk.EOS)]
        logits = logits.clone()
        logits[banned] = -math.inf
        logp = torch.log_softmax(logits, dim=-1)  # (V,)
        k = min(k, int(torch.isfinite(logp).sum()))
        top = torch.topk(logp, k)
        cand, scores = top.indices, top.values.clone()  # (K,)
        if suffix is not None and suffix.strip():
            tail = self.tokenizer.encode(suffix, add_special_tokens=False).ids[:MAX_SUFFIX]
            tail.append(self.tokenizer.token_to_id(tk.EOS))
            n = cand.numel()
            tail = torch.tensor(tail, device=self.device)  # (S,)
            x = torch.cat([cand[:, None], tail[:-1].expand(n, -1)], dim=1)  # (K, S): candidate, then the suffix
            y = tail.expand(n, -1)  # (K, S): the suffix, then </s>
            h = hidden.expand(-1, n, -1).contiguous() if not isinstance(hidden, tuple) else tuple(
                t.expand(-1, n, -1).contiguous() for t in hidden)
            out, _, _ = self.net(x, hidden=h)  # (K, S, V)
            tail_logp = torch.log_softmax(out, dim=-1).gather(2, y[:, :, None]).squeeze(2).sum(1)  # (K,)
            scores = scores + tail_logp
        probs = torch.softmax(scores, dim=0) if suffix is not None and suffix.strip() else scores.exp()
        return cand.tolist(), probs

    def _fill(self, logits, hidden, suffix: str, sample: dict) -> str:
        if tk.is_bpe(self.tokenizer):
            # the first whole word the model spells out (punctuation before it is not a fill)
            words = [w for w in self._generate(logits, hidden, 1, sample) if tk.is_wordlike(w)]
            return words[0] if words else tk.token_text(self.tokenizer.id_to_token(int(torch.argmax(logits))))
        cand, probs = self._candidates(logits, hidden, suffix, FILL_CANDIDATES)
        if is_sampling(sample["temperature"], sample["top_k"], sample["top_p"]):
            pick = choose(probs.log(), **sample)
        else:
            pick = int(torch.argmax(probs))
        return self.tokenizer.id_to_token(cand[pick])

    @torch.inference_mode()
    def next_words(self, prompt: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest words for the blank (or after the prompt) with their probabilities."""
        self._require_trained()
        whole_number("k", k)
        prefix, suffix = self._parse_prompt(prompt)
        logits, hidden = self._prefix_state(prefix)
        pool = max(k, FILL_CANDIDATES) if suffix and suffix.strip() else k
        cand, probs = self._candidates(logits, hidden, suffix, pool)
        ranked = sorted(zip(cand, probs.tolist()), key=lambda p: -p[1])[:k]
        return [(tk.token_text(self.tokenizer.id_to_token(i)), float(p)) for i, p in ranked]

    def unknown_words(self, prompt: str) -> list[str]:
        """Words of the prompt outside the vocabulary, in order, once each."""
        self._require_trained()
        return tk.unknown_words(self.tokenizer, prompt.replace(BLANK, " "))

    # ------------------------------------------------------------------ storage

    def config_dict(self) -> dict:
        sections = {"core": self.core_config, "text": self.text_config, "train": self.train_config}
        return checkpoint.describe("text", sections, vocab_size=self.tokenizer.get_vocab_size(),
                                   data=self.data_sources, summary=self.summary)

    def save(self, path) -> Path:
        """Write the model directory atomically; returns its path."""
        self._require_trained()
        tokenizer = {"tokenizer.json": lambda file: tk.save_tokenizer(self.tokenizer, file)}
        return checkpoint.save_model(path, self.config_dict(), self.net.weights(), tokenizer, self.history,
                                     self.trainer_state)

    @classmethod
    def load(cls, path, device: str = "cpu") -> "TextModel":
        """Open a text model directory (weights from safetensors; no code is run)."""
        path = Path(path)
        config, parts = checkpoint.open_model(path, "text", core=CoreConfig, text=TextConfig, train=TrainConfig)
        core, text, train = parts["core"], parts["text"], parts["train"]
        model = cls.__new__(cls)
        model._init(core, text, train)
        model.tokenizer = tk.load_tokenizer(path / "tokenizer.json")
        if config.get("vocab_size") != model.tokenizer.get_vocab_size():
            raise CheckpointError(
                f"{path / 'tokenizer.json'} does not match config.json (vocabulary size); retrain the model."
            )
        model.summary = config.get("summary", {})
        model.data_sources = config.get("data") or {}
        model.device = pick_device(device)
        model.net = model._build_net()
        model.net.load_weights(checkpoint.load_weights(path / checkpoint.WEIGHTS), path / checkpoint.WEIGHTS)
        model.net.to(model.device).eval()
        model.history = checkpoint.read_history(path)
        return model

"""Configuration dataclasses: typed, commented, validated, JSON round-trippable.

A model directory's ``config.json`` is made of these (``to_dict``) and a model
is rebuilt from it (``from_dict``), so a saved model describes itself.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from seqtext.errors import ConfigError, whole_number

CELLS = ("rnn", "gru", "lstm")
OPTIMIZERS = ("adam", "sgd")  # sgd: plain, no momentum, as AWD-LSTM and the PyTorch word_language_model example
NONLINEARITIES = ("tanh", "relu")


def _positive_int(name: str, value: Any) -> None:
    whole_number(name, value)


def _fraction(name: str, value: Any, *, upper_open: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and 0.0 <= value and (value < 1.0 if upper_open else value <= 1.0)
    if not ok:
        bound = "[0, 1)" if upper_open else "[0, 1]"
        raise ConfigError(f"{name} must be a number in {bound}, got {value!r}.")


def _boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}.")


def _positive_float(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}.")


class _Config:
    """to_dict / from_dict shared by every config dataclass."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field(s) {', '.join(unknown)}; remove them.")
        obj = cls(**data)
        obj.validate()
        return obj

    def validate(self) -> None:  # pragma: no cover - overridden
        pass


# A text model's options and their defaults, shared by TextModel and `seqtext train`.
# Chosen by measurement on corpora/pronouns.txt (scripts/bench_pronouns.py): a
# 256-unit tanh RNN with an orthogonal W_h, small batches for many updates,
# dropout around the core so that validation loss keeps falling while the
# model learns to carry the subject across the clause, and a gentle plateau
# decay (x0.8, patience 6): a faster decay froze some seeds before they had
# learnt the subject (75.9 % held-out accuracy for seed 2 with x0.5, patience 4).
TEXT_DEFAULTS = {
    "embed": 64,  # embedding size
    "hidden": 256,  # hidden units per layer
    "layers": 1,
    "nonlinearity": "tanh",
    "dropout": 0.0,  # between stacked layers
    "cell": "rnn",
    "tokenizer": "word",
    "split_punctuation": True,  # off for corpora that are tokenised already (PTB)
    "vocab_size": 8000,
    "min_frequency": 1,
    "tie_weights": False,
    "mode": "auto",  # sentence | stream | auto (stream for running text: seqtext.stream.detect_mode)
    "bptt": 35,  # stream mode: tokens per truncated-BPTT window
    "softmax": "full",  # full | adaptive
    "cutoffs": None,  # adaptive softmax clusters; None: 20 % and 60 % of the vocabulary
    "embed_dropout": 0.1,
    "output_dropout": 0.3,
    "locked_dropout": False,  # one dropout mask per sequence (variational), for embeddings and outputs
    "weight_drop": 0.0,  # DropConnect on the core's hidden-to-hidden weights
    "epochs": 40,
    "batch_size": 16,
    "optimizer": "adam",  # or sgd (OPTIMIZERS)
    "lr": 2e-3,
    "weight_decay": 0.0,
    "clip": 1.0,
    "lr_decay": 0.8,
    "schedule": "plateau",
    "warmup": 0,
    "precision": "fp32",
    "patience": 6,
    "seed": 0,
    "device": "auto",
    "threads": 1,
    "valid_fraction": 0.1,
}


def read_options_file(path) -> dict:
    """Options from a TOML (``.toml``) or JSON file, with dashes in keys read as underscores."""
    import json
    from pathlib import Path

    from seqtext.errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"the config file {path} does not exist; check the path.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise DataError(f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'} ({exc}); fix its syntax.") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold a table of options, not {type(data).__name__}.")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


@dataclass
class CoreConfig(_Config):
    """The recurrent core shared by the text and the series adapters."""

    input_size: int = 64  # width of each step's input vector (set by the adapter)
    hidden_size: int = 128  # units per layer and direction
    num_layers: int = 1  # stacked recurrent layers
    nonlinearity: str = "tanh"  # tanh | relu (plain RNN cell only)
    dropout: float = 0.0  # between stacked layers; [0, 1)
    bidirectional: bool = False  # reads the window both ways (series only: text must stay causal)
    cell: str = "rnn"  # rnn (nn.RNN, the default) | gru | lstm
    weight_drop: float = 0.0  # training only: DropConnect on the hidden-to-hidden weights; [0, 1)

    def validate(self) -> None:
        _positive_int("input size", self.input_size)
        _positive_int("hidden size", self.hidden_size)
        _positive_int("number of layers", self.num_layers)
        _fraction("dropout", self.dropout)
        _fraction("weight drop", self.weight_drop)
        if self.nonlinearity not in NONLINEARITIES:
            raise ConfigError(
                f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {self.nonlinearity!r}."
            )
        if self.cell not in CELLS:
            raise ConfigError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}.")
        _boolean("bidirectional", self.bidirectional)


@dataclass
class TextConfig(_Config):
    """The text adapter: tokenizer and the layers around the core."""

    embed_size: int = 64  # token embedding width (the core's input size)
    tokenizer: str = "word"  # word | bpe
    split_punctuation: bool = True  # split punctuation off words (off: white space only)
    vocab_size: int = 8000  # upper bound on the vocabulary (BPE target size)
    min_frequency: int = 1  # rarer words become <unk>
    tie_weights: bool = False  # share embedding and output matrices (a projection hidden -> embed when they differ)
    embed_dropout: float = 0.0  # dropout on embeddings
    output_dropout: float = 0.0  # dropout on the core's outputs before the softmax head
    locked_dropout: bool = False  # embedding and output dropout: one mask per sequence, not one per step
    mode: str = "sentence"  # sentence (padded lines) | stream (running text) | auto (decided at fit)
    bptt: int = 35  # stream mode: tokens per truncated-BPTT window
    softmax: str = "full"  # full | adaptive (nn.AdaptiveLogSoftmaxWithLoss: faster on large vocabularies)
    cutoffs: list = field(default_factory=list)  # adaptive clusters' first ids; empty: set when the vocabulary is known

    def validate(self) -> None:
        _positive_int("embedding size", self.embed_size)
        if self.softmax not in ("full", "adaptive"):
            raise ConfigError(f"softmax must be full or adaptive, got {self.softmax!r}.")
        if not isinstance(self.cutoffs, list) or not all(
                isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in self.cutoffs) or any(
                b <= a for a, b in zip(self.cutoffs, self.cutoffs[1:])):
            raise ConfigError(f"cutoffs must be increasing whole numbers above 0, got {self.cutoffs!r}.")
        if self.cutoffs and self.softmax != "adaptive":
            raise ConfigError("cutoffs apply to an adaptive softmax only; add --softmax adaptive or drop --cutoffs.")
        if self.softmax == "adaptive" and self.tie_weights:
            raise ConfigError("an adaptive softmax has no single output matrix to share with the embedding; "
                              "drop --tie-weights or use --softmax full.")
        _positive_int("vocabulary size", self.vocab_size)
        _positive_int("minimum frequency", self.min_frequency)
        _fraction("embedding dropout", self.embed_dropout)
        _fraction("output dropout", self.output_dropout)
        _boolean("locked dropout", self.locked_dropout)
        _boolean("tie weights", self.tie_weights)
        _boolean("split punctuation", self.split_punctuation)
        _positive_int("bptt", self.bptt)
        if self.mode not in ("auto", "sentence", "stream"):
            raise ConfigError(f"mode must be auto, sentence or stream, got {self.mode!r}.")
        if self.tokenizer not in ("word", "bpe"):
            raise ConfigError(f"tokenizer must be 'word' or 'bpe', got {self.tokenizer!r}.")


@dataclass
class TrainConfig(_Config):
    """The training loop, shared by both adapters."""

    epochs: int = 30  # upper bound; early stopping usually ends sooner
    batch_size: int = 32
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr: float = 3e-3  # learning rate (for Adam; SGD wants far larger ones, e.g. 20)
    weight_decay: float = 0.0
    clip: float = 1.0  # gradient-norm clipping threshold
    lr_decay: float = 1.0  # multiply the learning rate by this when validation loss does not improve
    schedule: str = "plateau"  # plateau (lr_decay on a stall only) | cosine (to zero over all epochs, and lr_decay)
    warmup: int = 0  # optimizer steps of linear warm-up from zero to lr
    precision: str = "fp32"  # fp32 | bf16 (autocast of the training forward pass; evaluation stays fp32)
    patience: int = 4  # evaluations without improvement before stopping
    seed: int = 0
    device: str = "auto"  # auto (cuda, then mps, then cpu) | cpu | cuda | cuda:N | mps
    valid_fraction: float = 0.1  # held-out share of lines when no validation file is given
    # CPU threads while training. One is fastest for these small recurrent models:
    # measured on 2 cores, a second thread gained nothing when idle and made
    # training 40x slower when another process was busy (threads spin at barriers).
    threads: int = 1

    def validate(self) -> None:
        _positive_int("epochs", self.epochs)
        _positive_int("batch size", self.batch_size)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}.")
        _positive_float("learning rate", self.lr)
        _positive_float("clip", self.clip)
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ConfigError(f"lr decay must be a number in (0, 1], got {self.lr_decay!r}.")
        _positive_int("patience", self.patience)
        if self.schedule not in ("plateau", "cosine"):
            raise ConfigError(f"schedule must be plateau or cosine, got {self.schedule!r}.")
        whole_number("warmup", self.warmup, minimum=0)
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"precision must be fp32 or bf16, got {self.precision!r}.")
        if not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise ConfigError(f"weight decay must be zero or positive, got {self.weight_decay!r}.")
        whole_number("seed", self.seed, minimum=0)
        _fraction("validation fraction", self.valid_fraction)
        _positive_int("threads", self.threads)


# A series model's options and their defaults, shared by Forecaster and `seqtext forecast train`.
# Chosen by measurement (scripts/bench_series.py; figures in the README, Series forecasting).
SERIES_DEFAULTS = {
    "window": 24,  # steps read per forecast
    "horizon": 1,  # steps forecast at once
    "stride": 1,
    "scaler": "zscore",
    "log": False,
    "head": "concat",
    "level": "mean",
    "skip": True,  # a linear autoregression beside the core (measured: README, Series forecasting)
    "hidden": 32,
    "layers": 1,
    "nonlinearity": "tanh",
    "dropout": 0.0,
    "weight_drop": 0.0,
    "bidirectional": False,
    "cell": "rnn",
    "fill": False,
    "epochs": 300,
    "batch_size": 8,
    "optimizer": "adam",
    "lr": 3e-3,
    "weight_decay": 0.01,
    "clip": 1.0,
    "lr_decay": 1.0,
    "patience": 30,
    "seed": 0,
    "device": "auto",
    "threads": 1,
    "valid_fraction": 0.0,
}


@dataclass
class SeriesConfig(_Config):
    """The series adapter: windows, horizon, scaling, head, and the columns read."""

    window: int = 24  # steps read per forecast
    horizon: int = 1  # steps forecast at once (direct multi-horizon); longer forecasts are rolled out
    stride: int = 1  # distance between consecutive training windows
    scaler: str = "zscore"  # zscore | minmax | none; fitted on the training part only
    log: bool = False  # log-transform a positive target before scaling
    head: str = "concat"  # concat (every step's hidden state, one Linear: the seed's layout) | last
    level: str = "mean"  # mean | last | none: read each window relative to its mean or last value
    skip: bool = False  # add a linear autoregression over the window's target values to the forecast
    features: list = field(default_factory=list)  # covariate column names, read at every step
    target: str | int = "value"  # the column forecast (a position for a 2-D array)
    date: str | None = None  # optional date column: checked to increase, labels the forecasts
    fill: bool = False  # interpolate NaN / inf instead of refusing them

    def validate(self) -> None:
        _positive_int("window", self.window)
        _positive_int("horizon", self.horizon)
        _positive_int("stride", self.stride)
        if self.scaler not in ("zscore", "minmax", "none"):
            raise ConfigError(f"scaler must be zscore, minmax or none, got {self.scaler!r}.")
        if self.head not in ("last", "concat"):
            raise ConfigError(f"head must be 'last' or 'concat', got {self.head!r}.")
        if self.level not in ("none", "last", "mean"):
            raise ConfigError(f"level must be none, last or mean, got {self.level!r}.")
        for name in ("log", "fill", "skip"):
            _boolean(name, getattr(self, name))
        if not isinstance(self.features, list):
            raise ConfigError(f"features must be a list of column names, got {self.features!r}.")

"""Every option, declared once.

An option is a field of a section dataclass (:class:`CoreConfig`,
:class:`TrainConfig`, :class:`TextConfig`, :class:`SeriesConfig`) with its
default, its help text and its rule (:class:`seqtext.rules.Rule`).  From that one
declaration come:

- the keyword arguments of the model classes (``TextModel(hidden=128)``),
- the click options of every command (``seqtext.cli.options`` reads the fields),
- the keys of ``--config`` TOML / JSON files,
- the sections of a model directory's ``config.json``.

A task's whole option set is a :class:`Settings` subclass naming its sections;
where tasks differ in a default (epochs, learning rate, hidden size), the task
declares its own default for that field with :meth:`Section.variant`, so each
default is written once, next to the task that uses it.

This module imports nothing heavy (no torch, no click).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from seqtext.errors import ConfigError, plain
from seqtext.rules import BOOL, FRACTION, MAX_SEED, POSITIVE, Rule, Section, choice, number, option, whole

CELLS = ("rnn", "gru", "lstm")
OPTIMIZERS = ("adam", "sgd")  # sgd: plain, no momentum, as AWD-LSTM and the PyTorch word_language_model example
NONLINEARITIES = ("tanh", "relu")
VOCAB_SIZE = 8000  # the default largest vocabulary; a character model takes every character instead


# --------------------------------------------------------------------------- sections (seqtext.rules.Section)


@dataclass
class CoreConfig(Section):
    """The recurrent core shared by every task."""

    section: ClassVar[str] = "core"
    hidden: int = option(128, "Hidden units per layer and direction.", whole())
    layers: int = option(1, "Stacked recurrent layers.", whole())
    cell: str = option("rnn", "Recurrent cell; rnn is nn.RNN.", choice(*CELLS))
    nonlinearity: str = option("tanh", "Activation of the plain RNN cell.", choice(*NONLINEARITIES))
    dropout: float = option(0.0, "Dropout between stacked layers.", FRACTION)
    weight_drop: float = option(0.0, "DropConnect on the core's hidden-to-hidden weights while training.",
                                FRACTION)
    bidirectional: bool = option(False, "Read each sequence both ways (tasks that see the whole input only).",
                                 BOOL)


@dataclass
class TrainConfig(Section):
    """The training session, the same for every task."""

    section: ClassVar[str] = "train"
    epochs: int = option(30, "Upper bound on epochs; early stopping usually ends sooner.", whole())
    batch_size: int = option(32, "Sequences per batch (the global batch under torchrun).", whole())
    optimizer: str = option("adam", "adam, or plain SGD (give it a large {lr}, e.g. 20).", choice(*OPTIMIZERS))
    # bounded so that no optimizer's step overflows float32 (Adam's first step is lr / 0.1)
    lr: float = option(3e-3, "Learning rate.", number(0, 1e6, low_open=True))
    weight_decay: float = option(0.0, "L2 penalty on the weights.", number(0))
    clip: float = option(1.0, "Gradient-norm clipping threshold.", POSITIVE)
    lr_decay: float = option(1.0, "Learning-rate factor when validation loss stalls.",
                             number(0, 1, low_open=True))
    schedule: str = option("plateau", "plateau: {lr_decay} on a stall only; cosine: also to zero over {epochs}, "
                                      "step by step.", choice("plateau", "cosine"))
    warmup: int = option(0, "Optimizer steps of linear learning-rate warm-up.", whole(0))
    average_from: int = option(0, "Average the weights over every step from this epoch on (AWD-LSTM's averaged "
                                  "SGD, started at a given epoch); validation, early stopping and the saved model "
                                  "use the average (0: off).", whole(0))
    precision: str = option("fp32", "bf16: autocast the training steps, the loss and softmax kept in fp32 (GPUs, "
                                    "and CPUs with AVX-512 BF16 or AMX; elsewhere fp32 is used, with a warning); "
                                    "validation stays fp32.", choice("fp32", "bf16"))
    patience: int = option(4, "Epochs without validation improvement before stopping.", whole())
    seed: int = option(0, "Seed for initialisation, data order and the split.", Rule("int", low=0, high=MAX_SEED))
    device: str = option("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.", Rule("device"))
    # One thread is the default for these small recurrent models: measured on 2 cores, a second
    # thread gained little when idle and made training 40x slower when another process was busy.
    threads: int | str = option(1, "CPU threads for training (capped at the cores available, with a warning), or "
                                   "auto: time a few steps with 1 and with 2 threads at the start and keep 2 only "
                                   "if a step takes at most 90 % of one thread's time (so never the case where "
                                   "another busy process makes a second thread many times slower); the count "
                                   "used is recorded in config.json (summary).",
                                Rule("int_or_auto", low=1), metavar="N|auto")
    valid_fraction: float = option(0.1, "Share held out for validation when no validation data is given.",
                                   FRACTION)


@dataclass
class TextConfig(Section):
    """A language model's tokenizer and the layers around the core."""

    section: ClassVar[str] = "text"
    embed: int = option(64, "Embedding size.", whole())
    tokenizer: str = option("word", "Word-level vocabulary, BPE subwords, or characters (case, spaces and line "
                                    "breaks kept; scored in bits per character).", choice("word", "bpe", "char"))
    split_punctuation: bool = option(True, "Split punctuation off words; off for text tokenised already (PTB).",
                                     BOOL)
    vocab_size: int = option(VOCAB_SIZE, "Largest vocabulary (the BPE target size); refused with {tokenizer} char, "
                                         "whose vocabulary is every character of the training text.", whole(8))
    min_frequency: int = option(1, "Words (or characters) seen fewer times become <unk>.", whole())
    tie_weights: bool = option(False, "Share embedding and output weights (a wider {hidden} is projected to "
                                      "{embed}).", BOOL)
    embed_dropout: float = option(0.1, "Dropout on the embeddings.", FRACTION)
    output_dropout: float = option(0.3, "Dropout on the core's outputs.", FRACTION)
    locked_dropout: bool = option(False, "Embedding and output dropout with one mask per sequence (variational), "
                                         "not one per step.", BOOL)
    mode: str = option("auto", "sentence: one padded row per line; stream: running text in BPTT windows; "
                               "auto: by corpus size.", choice("auto", "sentence", "stream"))
    bptt: int = option(35, "Stream mode: tokens per truncated-BPTT window.", whole())
    softmax: str = option("full", "Output layer: full softmax, or adaptive (faster on large vocabularies; not "
                                  "with {tie_weights}).", choice("full", "adaptive"))
    cutoffs: list = option([], "Adaptive softmax: first id of each tail cluster (default: 20 % and 60 % of the "
                               "vocabulary).", Rule("ints"), metavar="N,N,...")

    def check(self) -> None:
        if self.tokenizer == "char" and self.vocab_size != VOCAB_SIZE:
            raise ConfigError("a character vocabulary holds every character of the training text, so {vocab_size} "
                              "does not apply to {tokenizer} char; drop {vocab_size}.",
                              params=["vocab_size", "tokenizer"])
        if self.cutoffs and self.softmax != "adaptive":
            raise ConfigError("{cutoffs} apply to an adaptive softmax only; set {softmax} to adaptive or drop "
                              "{cutoffs}.", params=["cutoffs", "softmax"])
        if self.softmax == "adaptive" and self.tie_weights:
            raise ConfigError("an adaptive softmax has no single output matrix to share with the embedding; "
                              "drop {tie_weights} or use a full {softmax}.", params=["tie_weights", "softmax"])


# Calendar parts a forecaster may read off its dates, in the order of their input columns (seqtext.series.calendar).
CALENDAR_PARTS = ("month", "dayofweek", "dayofmonth", "dayofyear", "hour")


@dataclass
class SeriesConfig(Section):
    """A forecaster's columns, windows, horizon, scaling and head."""

    section: ClassVar[str] = "series"
    target: str | int | None = option(None, "Column to forecast (may be left out when the table has one).",
                                      Rule("column", optional=True), metavar="COL")
    features: list = option([], "Covariate columns read at every step, comma-separated.", Rule("strs"),
                            metavar="A,B")
    date: str | None = option(None, "Date column: checked to increase; labels the forecasts.",
                              Rule("str", optional=True), metavar="COL")
    window: int = option(24, "Steps read per forecast.", whole())
    horizon: int = option(1, "Steps forecast at once; longer forecasts are rolled out.", whole())
    stride: int = option(1, "Distance between consecutive training windows.", whole())
    scaler: str = option("zscore", "Scaling fitted on the training part (mean: the target divided by its mean "
                                   "absolute value, so errors weigh as per cent of the level).",
                         choice("zscore", "minmax", "mean", "none"))
    log: bool = option(False, "Log-transform the target first (positive series with a growing swing).", BOOL)
    log1p: bool = option(False, "Transform the target as log(1 + value) first: non-negative series that touch "
                                "zero (counts, visitors); with {scaler} none the errors weigh as per cent.", BOOL)
    log1p_troughs: float = option(0.0, "Read a series as log(1 + value), unscaled, when the least of its last "
                                        "{window} training values is below this share of their mean (deep seasonal "
                                        "troughs, whose errors then weigh as per cent, as MAPE counts them); the "
                                        "others as {scaler} says.  0: never.", FRACTION, metavar="SHARE")
    deseasonalize: int = option(0, "Divide each series by its multiplicative seasonal ratios of this period (12 for "
                                    "months), estimated from its last four periods before the forecast origin, and "
                                    "multiply the forecasts back; a series with a value at or below zero keeps its "
                                    "values.  0: off.", whole(0), metavar="PERIOD")
    nonnegative: bool = option(False, "Floor the forecasts and interval bounds at 0 (counts, visitors, sales: a "
                                      "series that never goes below zero).", BOOL)
    head: str = option("concat", "concat: every step's hidden state; last: the final one.",
                       choice("concat", "last"))
    level: str = option("mean", "Read each window relative to its mean or last value (helps trends), or as is.",
                        choice("mean", "last", "none"))
    skip: bool = option(True, "Add a linear autoregression over the window to the core's forecast.", BOOL)
    fill: bool = option(False, "Interpolate missing or non-finite values instead of refusing them.", BOOL)
    loss: str = option("mse", "Training loss on the scaled forecasts: mse (squared error), mae (absolute error, as "
                              "MAPE and MASE score), huber (squared within one scaled unit, absolute beyond), or "
                              "mape (absolute error over the actual value; with {scaler} mean or none, no log).",
                       choice("mse", "mae", "huber", "mape"))
    id: str | None = option(None, "Column naming the series of a long table of many series: one model learns them "
                                  "all, each scaled on its own.", Rule("str", optional=True), metavar="COL")
    id_embed: int = option(0, "Many series: width of a learnt embedding of the series' id joined to every step "
                              "(0: none; an id unseen in training gets the mean embedding).", whole(0))
    calibrate: int | None = option(None, "Values held out at the end of each series to calibrate prediction "
                                         "intervals on rolling-origin errors, before refitting on all of them "
                                         "(default: the larger of {horizon} and the season the dates suggest, at "
                                         "least 12, when the series are long enough; 0: no intervals).",
                                   Rule("int", low=0, optional=True))
    calendar: list | str | bool = option(
        [], "Calendar inputs read off the date column, known ahead for every forecast step: any of "
            f"{', '.join(CALENDAR_PARTS)}, comma-separated; auto ({{calendar}} alone): those the dates carry of month, "
            "dayofweek and hour.", Rule("parts", choices=CALENDAR_PARTS), metavar="[PARTS]")
    past_features: list = option([], "Covariates known only up to the forecast origin (measured, not planned): read "
                                     "in the window, never ahead.", Rule("strs"), metavar="A,B")
    static_features: list = option([], "Columns constant within each series (a store's size, a region code as a "
                                       "number): z-scored over the training series and read at every step.",
                                   Rule("strs"), metavar="A,B")

    @property
    def transform(self) -> str:
        """The target's transform before scaling: none, log or log1p."""
        return "log" if self.log else "log1p" if self.log1p else "none"

    def check(self) -> None:
        if self.log and self.log1p:
            raise ConfigError("{log} and {log1p} are two transforms of the target; choose one.",
                              params=["log", "log1p"])
        if self.deseasonalize == 1:
            raise ConfigError("{deseasonalize} 1 is no season: give the number of steps in one (12 for months, 7 for "
                              "days), or 0 for none.", params=["deseasonalize"])
        if self.log1p_troughs and self.transform != "none":
            raise ConfigError(f"{{log1p_troughs}} reads some series as log(1 + value), but {{{self.transform}}} "
                              "transforms every series already; choose one.", params=["log1p_troughs", self.transform])
        if self.loss == "mape" and (self.scaler not in ("mean", "none") or self.transform != "none"
                                    or self.log1p_troughs):
            raise ConfigError("a mape {loss} divides by the actual value, so it needs the target in its own units "
                              "up to a factor (a scaling that keeps zero at zero, no transform); set {scaler} to mean "
                              "(or none) without {log}, {log1p} or {log1p_troughs}, or pick another {loss}.",
                              params=["loss", "scaler", "log", "log1p", "log1p_troughs"])
        named = [c for c in (self.target, self.date, self.id) if c is not None]
        for role in ("past_features", "static_features"):
            others = named + self.features + (self.past_features if role == "static_features" else [])
            for column in getattr(self, role):
                if column in others:
                    raise ConfigError(f"column {column!r} of {{{role}}} is also the target, the date, the id or one "
                                      "of {features} or {past_features}; list each column in one role.",
                                      params=[role, "features", "past_features"])


# --------------------------------------------------------------------------- settings


# Field names that changed between model-directory formats: {format: {section: {old: new or None}}}.
RENAMED = {
    1: {"core": {"hidden_size": "hidden", "num_layers": "layers", "input_size": None},
        "text": {"embed_size": "embed"}},
}


class Settings:
    """A task's whole option set: its sections, built from flat keyword options.

    ``Settings(hidden=64, epochs=5)`` puts each option in its section; an
    unknown name is a ConfigError.  ``settings.core.hidden`` reads one.
    """

    kind: ClassVar[str] = ""
    SECTIONS: ClassVar[dict[str, type]] = {}

    def __init__(self, **options):
        names = self.names()
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise ConfigError(f"a {self.kind} model has no option {unknown[0]!r}; check the name "
                              f"(seqtext.{type(self).__name__} lists every option).")
        options = {name: plain(value) for name, value in options.items()}
        for key, cls in self.SECTIONS.items():
            mine = {f.name: options[f.name] for f in dataclasses.fields(cls) if f.name in options}
            setattr(self, key, cls(**mine))
        self.validate()

    @classmethod
    def fields(cls) -> list[tuple[str, dataclasses.Field]]:
        """Every option as (section, field), in declaration order."""
        return [(key, f) for key, sec in cls.SECTIONS.items() for f in dataclasses.fields(sec)]

    @classmethod
    def names(cls) -> dict[str, str]:
        """Option name -> its section."""
        return {f.name: key for key, f in cls.fields()}

    @classmethod
    def defaults(cls) -> dict:
        return {f.name: (f.default_factory() if f.default is dataclasses.MISSING else f.default)
                for _, f in cls.fields()}

    def validate(self) -> None:
        for key in self.SECTIONS:
            getattr(self, key).validate()
        self.check()

    def check(self) -> None:
        """Rules across sections (overridden)."""

    def flat(self) -> dict:
        return {name: getattr(getattr(self, key), name) for name, key in self.names().items()}

    def replace(self, **options):
        return type(self)(**{**self.flat(), **options})

    def to_dict(self) -> dict:
        return {key: getattr(self, key).to_dict() for key in self.SECTIONS}

    @classmethod
    def from_dict(cls, data: dict, version: int | None = None):
        """Settings from the sections of a ``config.json`` (older formats' field names migrated)."""
        flat = {}
        for key in cls.SECTIONS:
            section = data.get(key)
            if not isinstance(section, dict):
                raise ConfigError(f"the {key} section is missing or not an object.")
            flat.update(migrate(key, section, version))
        return cls(**flat)


def migrate(section: str, values: dict, version: int | None) -> dict:
    """One section's fields under today's names (a field that became derived is dropped)."""
    renames = {}
    for old_version, sections in RENAMED.items():
        if version is None or version <= old_version:
            renames.update(sections.get(section, {}))
    out = {}
    for name, value in values.items():
        new = renames.get(name, name)
        if new is not None:
            out[new] = value
    return out


class TextSettings(Settings):
    """A next-word language model's options.  Defaults chosen by measurement on corpora/pronouns.txt.

    (scripts/bench_pronouns.py): a 384-unit tanh RNN with an orthogonal W_h (with 256 units, 2 of 5 seeds
    reached 99 % held-out last-word accuracy, the others 77-99 %, confusing I and we, and which seeds fell
    short changed with the floating-point order of the CPU's kernels; 384 and 512 units reached at least
    99.7 % on all 5),
    small batches for many updates, dropout around the core so that
    validation loss keeps falling while the model learns to carry the subject
    across the clause, and a gentle plateau decay (x0.8, patience 6): a faster
    decay froze some seeds before they had learnt the subject.
    """

    kind = "text"
    SECTIONS = {
        "core": CoreConfig.variant(hidden=384),
        "text": TextConfig,
        "train": TrainConfig.variant(epochs=40, batch_size=16, lr=2e-3, lr_decay=0.8, patience=6),
    }

    def check(self) -> None:
        if self.core.bidirectional:
            raise ConfigError("a language model predicts the next word, so its core cannot be bidirectional; "
                              "drop {bidirectional}.", params=["bidirectional"])


class SeriesSettings(Settings):
    """A forecaster's options.  Defaults chosen by measurement (scripts/bench_series.py; README, Series)."""

    kind = "series"
    SECTIONS = {
        "core": CoreConfig.variant(hidden=32),
        "series": SeriesConfig,
        "train": TrainConfig.variant(epochs=300, batch_size=8, weight_decay=0.01, patience=30,
                                     valid_fraction=0.0),
    }

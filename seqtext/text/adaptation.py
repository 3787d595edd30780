"""The options of test-time adaptation: dynamic evaluation and the neural cache, declared once.

Both read the evaluated text as one running stream, in its order, the hidden
state carried across lines, and adapt to what they have read so far:

- dynamic evaluation (Krause et al. 2018) takes a gradient step on each
  segment after scoring it: ``w <- w - lr * g / (rms + eps) + decay * r * (w0 - w)``,
  ``rms`` the root-mean-square gradient of each weight on training text and
  ``r`` that rms over its mean (``seqtext.text.dynamic``);
- the neural cache (Grave et al. 2017) mixes the model's next-token
  distribution with one over the tokens that followed the last N hidden
  states, weighted by ``exp(theta * h_t . h_i)``:
  ``p = (1 - lambda) p_model + lambda p_cache`` (``seqtext.text.cache``).

:class:`Adaptation` holds the choice; its fields are the keyword arguments of
``TextModel.evaluate`` / ``score`` / ``complete`` and the flags of ``seqtext
evaluate`` / ``score`` / ``complete`` (``seqtext.cli.adapt``).  The defaults
were measured on Penn Treebank validation text (``scripts/bench_adapt.py``).
This module imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from seqtext.errors import ConfigError
from seqtext.rules import BOOL, POSITIVE, Rule, number, option, whole

# Measured: scripts/bench_adapt.py on the 2 x 200 LSTM of configs/ptb-lstm-bf16-20.toml (validation
# perplexity 97.9), tuned on the first 20,000 PTB validation tokens: the cache's best (N, theta, lambda) of
# 4 x 6 x 5 was (500, 0.8, 0.15); dynamic evaluation's best (lr, decay) by coordinate search (2.5e-4, 0.03).
# (On the same LSTM after 3 epochs, perplexity 150: (500, 0.5, 0.15) and (1.5e-4, 0.03).)
# Segments of 20 tokens matched 10 (perplexity 163.0 and 163.4 on 8,000 tokens) in half the time.
DEFAULT_DYNAMIC_LR = 2.5e-4
DEFAULT_DYNAMIC_DECAY = 0.03
DEFAULT_DYNAMIC_BPTT = 20
DEFAULT_CACHE_THETA = 0.8
DEFAULT_CACHE_LAMBDA = 0.15

MAX_CACHE = 10 ** 9  # states: more than any text holds (a bound so the arithmetic on positions stays in range)
MAX_CACHE_THETA = 1000.0  # published values are below 1; far beyond, exp(theta h.h) is no longer a finite number
# the RMS-normalised step's stabiliser, as Krause et al.'s dynamiceval.py
EPSILON = 2e-5


@dataclass
class Adaptation:
    """What adapts to the text while it is read: dynamic evaluation, a neural cache, both or neither."""

    dynamic: bool = option(False, "Dynamic evaluation: after scoring each segment of the text, take a gradient "
                                  "step on it (the saved model is not changed).", BOOL)
    dynamic_lr: float = option(DEFAULT_DYNAMIC_LR, "Dynamic evaluation: learning rate of the RMS-normalised step.",
                               POSITIVE, metavar="LR")
    dynamic_decay: float = option(DEFAULT_DYNAMIC_DECAY, "Dynamic evaluation: pull towards the trained weights at "
                                                         "each step (lambda), scaled per weight.", number(0),
                                  metavar="LAMBDA")
    dynamic_bptt: int = option(DEFAULT_DYNAMIC_BPTT, "Dynamic evaluation: tokens per segment (one step each).",
                               whole(), metavar="N")
    cache: int | None = option(None, "Neural cache: mix in a distribution over the tokens that followed the last "
                                     "N hidden states.", Rule("int", low=1, high=MAX_CACHE, optional=True),
                                 metavar="N")
    cache_theta: float = option(DEFAULT_CACHE_THETA, "Neural cache: sharpness theta of exp(theta h_t.h_i).",
                                number(0, MAX_CACHE_THETA), metavar="THETA")
    cache_lambda: float = option(DEFAULT_CACHE_LAMBDA, "Neural cache: weight lambda of the cache distribution.",
                                 number(0, 1, high_open=True), metavar="LAMBDA")

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    @classmethod
    def build(cls, **given) -> "Adaptation":
        """An adaptation from keyword arguments, None meaning "the default"; checked.

        A hyper-parameter of a method that is not switched on is refused, not
        ignored: ``dynamic_lr`` needs ``dynamic=True``, ``cache_theta`` needs ``cache``.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - names)
        if unknown:
            raise ConfigError(f"there is no adaptation option {unknown[0]!r}; use one of {', '.join(sorted(names))}.")
        values = {k: v for k, v in given.items() if v is not None}
        obj = cls(**values)
        for f in dataclasses.fields(cls):
            f.metadata["rule"].check(f.name, getattr(obj, f.name))
        for name in values:
            owner = "dynamic" if name.startswith("dynamic_") else "cache" if name.startswith("cache_") else None
            if owner == "dynamic" and not obj.dynamic:
                raise ConfigError(f"{{{name}}} applies to dynamic evaluation; turn it on with {{dynamic}}.",
                                  params=[name, "dynamic"])
            if owner == "cache" and obj.cache is None:
                raise ConfigError(f"{{{name}}} applies to the neural cache; give its size with {{cache}}.",
                                  params=[name, "cache"])
        return obj

    @classmethod
    def for_reading(cls, dynamic, cache, dynamic_stats, adapt: dict, per_sentence: bool = False) -> "Adaptation":
        """The adaptation of one ``evaluate``/``score``/``complete`` call: :meth:`build`, and refused beside
        ``per_sentence`` (each line alone) or with ``dynamic_stats`` but no dynamic evaluation."""
        adaptation = cls.build(dynamic=dynamic, cache=cache, **adapt)
        if per_sentence and adaptation.active:
            raise ConfigError("{per_sentence} reads each line alone, but dynamic evaluation and the cache read the "
                              "text as one running stream; drop one of them.", params=["per_sentence"])
        if dynamic_stats is not None and not adaptation.dynamic:
            raise ConfigError("{dynamic_stats} applies to dynamic evaluation; turn it on with {dynamic}.",
                              params=["dynamic_stats", "dynamic"])
        return adaptation

    @property
    def active(self) -> bool:
        return self.dynamic or self.cache is not None

    @property
    def method(self) -> str:
        """The method's name: plain, dynamic, cache or dynamic+cache."""
        parts = [name for name, on in (("dynamic", self.dynamic), ("cache", self.cache is not None)) if on]
        return "+".join(parts) or "plain"

    def describe(self) -> dict:
        """The method and the hyper-parameters in use (what ``evaluate`` reports beside its figures)."""
        out: dict = {"method": self.method}
        if self.dynamic:
            out["dynamic"] = {"lr": self.dynamic_lr, "decay": self.dynamic_decay, "bptt": self.dynamic_bptt}
        if self.cache is not None:
            out["cache"] = {"size": self.cache, "theta": self.cache_theta, "lambda": self.cache_lambda}
        return out

"""Choosing the next token: greedy by default, or sampling with temperature,
top-k and top-p (nucleus) filtering.

All functions take the logits of one step, shape (V,), and never modify them.
"""

from __future__ import annotations

import math

import torch

from seqtext.errors import ConfigError


def check_sampling(temperature: float | None, top_k: int | None, top_p: float | None) -> None:
    if temperature is not None and not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
                                        and temperature >= 0):
        raise ConfigError(f"{{temperature}} must be a number of at least 0, got {temperature!r}.", params=["temperature"])
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"{{top_k}} must be a whole number of at least 1, got {top_k!r}.", params=["top_k"])
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ConfigError(f"{{top_p}} must be a number in (0, 1], got {top_p!r}.", params=["top_p"])


def is_sampling(temperature: float | None, top_k: int | None, top_p: float | None) -> bool:
    """Greedy unless a sampling option is given (temperature 0 is greedy too)."""
    if temperature is not None and temperature == 0:
        return False
    return temperature is not None or top_k is not None or top_p is not None


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to -inf every logit outside the top-k and outside the top-p nucleus."""
    out = logits.clone()
    if top_k is not None and top_k < out.numel():
        kth = torch.topk(out, top_k).values[-1]
        out[out < kth] = -math.inf
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(out, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        # keep the smallest prefix whose mass reaches top_p (always the first token)
        drop = cum - torch.softmax(sorted_logits, dim=-1) >= top_p
        out[order[drop]] = -math.inf
    return out


def choose(
    logits: torch.Tensor,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> int:
    """The next token id: argmax, or a sample from the filtered, tempered softmax."""
    if not is_sampling(temperature, top_k, top_p):
        return int(torch.argmax(logits))
    scaled = logits.double() / (temperature if temperature is not None else 1.0)  # float64: tiny temperatures
    probs = torch.softmax(filter_logits(scaled, top_k, top_p), dim=-1)
    if not torch.isfinite(probs).all() or probs.sum() <= 0:
        return int(torch.argmax(logits))  # a temperature so small (or large) that it underflows: the limit is greedy
    # Inverse-CDF draw: one uniform number and a binary search; torch.multinomial costs ~15x
    # more on a 10k-word vocabulary.  right=True never lands on a zero-probability token.
    cdf = probs.cumsum(0)
    u = torch.rand(1, generator=generator, dtype=cdf.dtype) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), cdf.numel() - 1)

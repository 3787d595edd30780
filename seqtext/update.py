"""The optimizer, and one update of the weights: clip the gradients' norm, then step.

Plain SGD is built with torch's fused kernel where torch has one for the
device (CPU and CUDA, torch 2.6 and later): one call updates every
parameter.  Gradient clipping is then folded into that call: the fused
kernel divides each gradient by ``optimizer.grad_scale`` as it reads it (the
hook torch's GradScaler uses), so the clipping factor costs no pass of its
own over the gradients.  The update equals clip_grad_norm_ followed by a
plain step to float32 rounding (tests/test_speed.py).  Adam keeps torch's
default implementation and plain clipping.

:class:`Average` keeps the running mean of the weights from a given epoch
on ({average_from}), which validation and the saved model then use;
:func:`learning_rate` is the schedule (warm-up, plateau decays, cosine).
"""

from __future__ import annotations

import contextlib
import math

import torch

from seqtext.config import TrainConfig


def _fused_sgd_available() -> bool:
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= (2, 6) and hasattr(torch.nn.utils, "get_total_norm")


def make_optimizer(net: torch.nn.Module, config: TrainConfig, fused: bool = True) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``net``'s parameters; ``weight_decay`` is an L2 penalty in each.

    ``fused``: plain SGD with torch's fused kernel where it has one (the result is the same).
    """
    params = list(net.parameters())
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    device = params[0].device.type if params else "cpu"
    fused = fused and device in ("cpu", "cuda") and _fused_sgd_available() and \
        all(p.dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16) for p in params)
    # no momentum: plain SGD, as AWD-LSTM and the PyTorch word_language_model example train
    return torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None)


class Update:
    """Clip the gradients' total norm at ``clip`` and step ``optimizer`` (the grads are then spent)."""

    def __init__(self, optimizer: torch.optim.Optimizer, params, clip: float):
        self.optimizer, self.params, self.clip = optimizer, list(params), clip

    def __call__(self) -> None:
        optimizer = self.optimizer
        if optimizer.param_groups[0].get("fused"):  # read each time: a resumed state may have turned it off
            grads = [p.grad for p in self.params if p.grad is not None]
            if grads:
                norm = torch.nn.utils.get_total_norm(grads)
                # clip_grad_norm_ multiplies by min(1, clip / (norm + 1e-6)); the kernel divides by its inverse
                optimizer.grad_scale = (norm + 1e-6).div_(self.clip).clamp_(min=1.0)
            optimizer.step()
            optimizer.grad_scale = None
            return
        torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        optimizer.step()


class Average:
    """The running mean of the weights over every step from epoch ``start`` on (0: off).

    Polyak averaging, the "A" of AWD-LSTM's averaged SGD (without its
    non-monotone trigger: the epoch is given).  Validation, early stopping and
    the saved model read the average (:meth:`applied`); training goes on from
    the weights the optimizer left.
    """

    def __init__(self, params, start: int):
        self.params, self.start = list(params), start
        self.mean: list[torch.Tensor] | None = None
        self.count = 0

    @property
    def active(self) -> bool:
        return self.mean is not None

    @torch.no_grad()
    def add(self, epoch: int) -> None:
        """Fold the weights after a step of ``epoch`` into the mean (nothing before epoch ``start``)."""
        if not self.start or epoch < self.start:
            return
        self.count += 1
        if self.mean is None:
            self.mean = [p.detach().clone() for p in self.params]
        else:
            torch._foreach_lerp_(self.mean, [p.detach() for p in self.params], 1.0 / self.count)

    @contextlib.contextmanager
    def applied(self):
        """The averaged weights in the parameters while open; the trained ones are put back after."""
        if self.mean is None:
            yield
            return
        with torch.no_grad():
            trained = [p.detach().clone() for p in self.params]
            torch._foreach_copy_([p.data for p in self.params], self.mean)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.data for p in self.params], trained)

    def state(self) -> dict:
        return {"average": self.mean, "average_count": self.count}

    def restore(self, state: dict) -> None:
        """From :meth:`state` (a training saved before averaging existed has none: nothing averaged yet)."""
        mean = state.get("average")
        self.mean = None if mean is None else [m.to(p.device) for m, p in zip(mean, self.params)]
        self.count = state.get("average_count", 0)


def learning_rate(cfg: TrainConfig, p, steps_per_epoch: int | None) -> float:
    """The rate of the next optimizer step: base x plateau decays x warm-up x cosine (``p``: the session's
    ``Progress``: its ``lr_factor``, ``steps`` and ``epoch``)."""
    rate = cfg.lr * p.lr_factor
    if cfg.warmup and p.steps < cfg.warmup:
        rate *= (p.steps + 1) / cfg.warmup
    if cfg.schedule == "cosine":
        done = p.steps / (cfg.epochs * steps_per_epoch) if steps_per_epoch else (p.epoch - 1) / cfg.epochs
        rate *= 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0)))
    return rate

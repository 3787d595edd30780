"""The one training loop, shared by the text and the series adapters.

Adam, gradient-norm clipping, an evaluation after every epoch, the learning
rate multiplied by ``lr_decay`` whenever validation loss fails to improve
(plateau decay), early stopping on validation loss, the best weights kept and
restored at the end, and a progress bar showing the training loss and the
adapter's headline metric.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from seqtext.config import TrainConfig
from seqtext.errors import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` means cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is available; use --device cpu.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps was asked for but MPS is not available; use --device cpu.")
    return device


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global RNGs and return a CPU generator for data order."""
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # one dict per evaluation
    best: dict | None = None  # the evaluation whose weights were kept
    stopped_early: bool = False
    seconds: float = 0.0


def fit(
    net: torch.nn.Module,
    batches: Callable[[int], Iterable],
    step_loss: Callable[[torch.nn.Module, object], torch.Tensor],
    evaluate: Callable[[torch.nn.Module], dict] | None,
    config: TrainConfig,
    *,
    headline: str = "loss",
    progress: bool = True,
) -> FitResult:
    """Train ``net`` in place and leave the best weights in it.

    ``batches(epoch)`` yields the epoch's batches; ``step_loss(net, batch)``
    returns the mean loss of one batch; ``evaluate(net)`` returns a dict with
    at least ``loss`` (the early-stopping criterion) and ``headline``.
    Without ``evaluate``, the mean training loss plays its part.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _fit(net, batches, step_loss, evaluate, config, headline, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(net, batches, step_loss, evaluate, config, headline, progress) -> FitResult:
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    result = FitResult()
    best_loss = math.inf
    best_state = None
    waited = 0
    start = time.perf_counter()
    bar = _progress(config.epochs, progress)
    try:
        for epoch in range(1, config.epochs + 1):
            net.train()
            total, count = 0.0, 0
            for batch in batches(epoch):
                optimizer.zero_grad(set_to_none=True)
                loss = step_loss(net, batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), config.clip)
                optimizer.step()
                total += loss.item()
                count += 1
            train_loss = total / max(count, 1)
            metrics = {"epoch": epoch, "train_loss": train_loss}
            if evaluate is not None:
                net.eval()
                with torch.no_grad():
                    metrics.update({f"valid_{k}": v for k, v in evaluate(net).items()})
                score = metrics["valid_loss"]
            else:
                score = train_loss
            metrics["seconds"] = round(time.perf_counter() - start, 3)
            result.history.append(metrics)
            if score < best_loss - 1e-6:
                best_loss, waited = score, 0
                best_state = copy.deepcopy(net.state_dict())
                result.best = metrics
            else:
                waited += 1
                if config.lr_decay < 1.0:  # plateau: smaller steps to settle into the minimum
                    for group in optimizer.param_groups:
                        group["lr"] *= config.lr_decay
            metrics["lr"] = optimizer.param_groups[0]["lr"]
            if bar is not None:
                shown = metrics.get(f"valid_{headline}", train_loss)
                bar.set_postfix({"loss": f"{train_loss:.3f}", f"val {headline}": f"{shown:.3f}"})
                bar.update(1)
            if not math.isfinite(train_loss):
                break
            if waited >= config.patience:
                result.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    result.seconds = time.perf_counter() - start
    return result


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="epoch", leave=False, dynamic_ncols=True)

"""The one training loop, shared by the text and the series adapters.

Adam, gradient-norm clipping, an evaluation after every epoch, the learning
rate multiplied by ``lr_decay`` whenever validation loss fails to improve
(plateau decay), optionally a linear warm-up and a cosine schedule over all
epochs (``schedule="cosine"``, set for every optimizer step) and bf16
autocast of the training steps (``precision="bf16"``), early stopping on validation loss, the best weights kept and
restored at the end, and a progress bar showing the training loss and the
adapter's headline metric.

Interruptions are part of the design.  Ctrl-C (SIGINT) finishes the current
batch and raises :class:`TrainingInterrupted` carrying a resumable state; the
``on_epoch`` callback receives the same state after every epoch so the
adapter can save it.  Given that state back through ``resume``, the loop
continues exactly where it stopped: weights, optimizer moments, learning rate,
early-stopping counters, the data order (the generator's state at the start of
the epoch, plus the number of batches already done) and the dropout RNG.  On
CPU the result is bit-identical to a run that was never interrupted.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import threading
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


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``state`` resumes it (see :func:`fit`)."""

    def __init__(self, state: dict):
        super().__init__("training interrupted")
        self.state = state


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # one dict per evaluation
    best: dict | None = None  # the evaluation whose weights were kept
    seconds: float = 0.0
    state: dict | None = None  # the final resumable state


class _SigintFlag:
    """Turn the first Ctrl-C into a flag checked between batches; a second one aborts."""

    def __init__(self):
        self.raised = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def fit(
    net: torch.nn.Module,
    batches: Callable[[int], Iterable],
    step_loss: Callable[[torch.nn.Module, object], torch.Tensor],
    evaluate: Callable[[torch.nn.Module], dict] | None,
    config: TrainConfig,
    *,
    generator: torch.Generator | None = None,
    headline: str = "loss",
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    resume: dict | None = None,
    steps_per_epoch: int | None = None,
) -> FitResult:
    """Train ``net`` in place and leave the best weights in it.

    ``batches(epoch)`` yields the epoch's batches, drawing any randomness from
    ``generator`` only; ``step_loss(net, batch)`` returns the mean loss of one
    batch; ``evaluate(net)`` returns a dict with at least ``loss`` (the
    early-stopping criterion) and ``headline``.  Without ``evaluate``, the mean
    training loss plays its part.  ``on_epoch(state)`` is called after every
    epoch with a resumable state (with the best weights in ``net``).
    ``steps_per_epoch`` (batches an epoch) lets a cosine schedule move at every
    step; without it the cosine moves once an epoch.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        with _SigintFlag() as sigint:
            return _Loop(net, batches, step_loss, evaluate, config, generator, headline, progress, on_epoch,
                         sigint, steps_per_epoch).run(resume)
    finally:
        torch.set_num_threads(threads)


def make_optimizer(net: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``net``'s parameters; ``weight_decay`` is an L2 penalty in each."""
    kind = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[config.optimizer]  # SGD: no momentum
    return kind(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)


class _Loop:
    def __init__(self, net, batches, step_loss, evaluate, config, generator, headline, progress, on_epoch,
                 sigint, steps_per_epoch=None):
        self.net, self.batches, self.step_loss, self.evaluate = net, batches, step_loss, evaluate
        self.config, self.generator, self.headline = config, generator, headline
        self.progress, self.on_epoch, self.sigint = progress, on_epoch, sigint
        self.optimizer = make_optimizer(net, config)
        self.history: list[dict] = []
        self.best_loss = math.inf
        self.best_state = None
        self.best_metrics = None
        self.waited = 0
        self.epoch = 1  # the epoch in progress (1-based)
        self.done = 0  # batches finished in it
        self.total = 0.0  # summed batch losses in it
        self.epoch_gen_state = None
        self.finished = False
        self.elapsed = 0.0
        self.lr_factor = 1.0  # the product of the plateau decays so far
        self.steps = 0  # optimizer steps taken (warm-up and the cosine schedule read it)
        self.steps_per_epoch = steps_per_epoch  # lets a cosine schedule move at every step
        self.device_type = next(net.parameters()).device.type  # for autocast

    # ---------------------------------------------------------------- state

    def state(self, weights: dict) -> dict:
        """Everything needed to continue; tensors and plain values only (torch.load(weights_only=True))."""
        return {
            "epoch": self.epoch,
            "batches_done": self.done,
            "running_loss": self.total,
            "epoch_generator": self.epoch_gen_state,
            "generator": self.generator.get_state() if self.generator is not None else None,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "optimizer": self.optimizer.state_dict(),
            "net": {k: v.detach().clone() for k, v in weights.items()},
            "best_net": self.best_state,
            "best_loss": self.best_loss,
            "waited": self.waited,
            "history": json.dumps(self.history),
            "best_metrics": json.dumps(self.best_metrics),
            "finished": self.finished,
            "elapsed": self.elapsed,
            "lr_factor": self.lr_factor,
            "steps": self.steps,
        }

    def restore(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.done, self.total = state["epoch"], state["batches_done"], state["running_loss"]
        self.epoch_gen_state = state["epoch_generator"]
        self.best_state, self.best_loss, self.waited = state["best_net"], state["best_loss"], state["waited"]
        self.history = json.loads(state["history"])
        self.best_metrics = json.loads(state["best_metrics"])
        self.elapsed = state.get("elapsed", 0.0)
        # states written before schedules existed: the decays live in the optimizer's lr
        self.lr_factor = state.get("lr_factor", self.optimizer.param_groups[0]["lr"] / self.config.lr)
        self.steps = state.get("steps", 0)
        if self.generator is not None and state["generator"] is not None:
            self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    # ----------------------------------------------------------------- loop

    def run(self, resume: dict | None) -> FitResult:
        cfg = self.config
        resuming_mid_epoch = False
        if resume is not None:
            self.restore(resume)
            resuming_mid_epoch = self.done > 0
        start = time.perf_counter() - self.elapsed
        bar = _progress(cfg.epochs, self.progress, initial=self.epoch - 1)
        result = FitResult()
        try:
            while self.epoch <= cfg.epochs and not self.finished:
                self._train_epoch(resuming_mid_epoch)
                resuming_mid_epoch = False
                metrics = self._end_epoch(time.perf_counter() - start)
                if bar is not None:
                    shown = metrics.get(f"valid_{self.headline}", metrics["train_loss"])
                    bar.set_postfix({"loss": f"{metrics['train_loss']:.3f}", f"val {self.headline}": f"{shown:.3f}"})
                    bar.update(1)
                if self.on_epoch is not None:
                    self.elapsed = time.perf_counter() - start
                    current = copy.deepcopy(self.net.state_dict())
                    self._load_best()
                    self.on_epoch(self.state(current))
                    self.net.load_state_dict(current)
        except TrainingInterrupted as exc:
            self.elapsed = time.perf_counter() - start
            current = copy.deepcopy(self.net.state_dict())
            exc.state = self.state(current)
            self._load_best()
            self.net.eval()
            raise
        finally:
            if bar is not None:
                bar.close()
        self.finished = True
        self.elapsed = time.perf_counter() - start
        self._load_best()
        self.net.eval()
        result.history, result.best = self.history, self.best_metrics
        result.seconds = time.perf_counter() - start
        result.state = self.state(self.net.state_dict())
        return result

    def lr(self) -> float:
        """The learning rate of the next optimizer step."""
        cfg = self.config
        rate = cfg.lr * self.lr_factor
        if cfg.warmup and self.steps < cfg.warmup:
            rate *= (self.steps + 1) / cfg.warmup
        if cfg.schedule == "cosine":
            if self.steps_per_epoch:
                progress = self.steps / (cfg.epochs * self.steps_per_epoch)
            else:
                progress = (self.epoch - 1) / cfg.epochs
            rate *= 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        return rate

    def autocast(self):
        """bf16 autocast of the forward pass (and so of its backward) when asked for; a no-op for fp32."""
        return torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16")

    def _set_lr(self) -> None:
        rate = self.lr()
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def _load_best(self) -> None:
        if self.best_state is not None:
            self.net.load_state_dict(self.best_state)

    def _train_epoch(self, resuming: bool) -> None:
        if resuming and self.generator is not None and self.epoch_gen_state is not None:
            rng = torch.get_rng_state()  # the dropout RNG as it was at the interruption
            self.generator.set_state(self.epoch_gen_state)
            torch.set_rng_state(rng)
        else:
            self.done, self.total = 0, 0.0
            self.epoch_gen_state = self.generator.get_state() if self.generator is not None else None
        self.net.train()
        for index, batch in enumerate(self.batches(self.epoch)):
            if index < self.done:
                continue  # already trained on before the interruption
            self._set_lr()
            self.optimizer.zero_grad(set_to_none=True)
            with self.autocast():
                loss = self.step_loss(self.net, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.clip)
            self.optimizer.step()
            self.steps += 1
            self.total += loss.item()
            self.done += 1
            if self.sigint.raised:
                raise TrainingInterrupted({})

    def _end_epoch(self, seconds: float) -> dict:
        train_loss = self.total / max(self.done, 1)
        metrics = {"epoch": self.epoch, "train_loss": train_loss}
        if self.evaluate is not None:
            self.net.eval()
            with torch.no_grad():
                metrics.update({f"valid_{k}": v for k, v in self.evaluate(self.net).items()})
            score = metrics["valid_loss"]
        else:
            score = train_loss
        if score < self.best_loss - 1e-6:
            self.best_loss, self.waited = score, 0
            self.best_state = copy.deepcopy(self.net.state_dict())
            self.best_metrics = metrics
        else:
            self.waited += 1
            if self.config.lr_decay < 1.0:  # plateau: smaller steps to settle into the minimum
                self.lr_factor *= self.config.lr_decay
        metrics["lr"] = self.lr()
        metrics["seconds"] = round(seconds, 3)
        self.history.append(metrics)
        self.epoch += 1
        self.done, self.total = 0, 0.0
        if not math.isfinite(train_loss) or not math.isfinite(score):
            raise ConfigError(
                f"training diverged in epoch {metrics['epoch']} (the loss is not a finite number); "
                "lower the learning rate (--lr) or the clipping threshold (--clip)."
            )
        if self.waited >= self.config.patience:
            self.finished = True
        return metrics


def _progress(total: int, enabled: bool, initial: int = 0):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="training", unit="epoch", leave=False, dynamic_ncols=True)

"""The one training session, the same for every task.

A task (:class:`Task`: the text language model, the forecaster, a toy in the
tests) says how to read its data, build its network, draw batches, compute a
batch's loss and evaluate.  :class:`Session` does everything else: the
device, the optimizer (Adam or plain SGD) and its schedule (warm-up, plateau
decay, cosine), gradient clipping, bf16 autocast, early stopping on
validation loss with the best weights kept, the progress bar, DDP under
``torchrun``, and interruptions.

Interruptions are part of the design.  Ctrl-C (SIGINT) finishes the current
batch and raises :class:`TrainingInterrupted` carrying a resumable state; the
``on_epoch`` hook receives the same state after every epoch so the caller can
save it.  Given that state back, the session continues exactly where it
stopped: weights, optimizer moments, learning rate, early-stopping counters,
the data order (the generator's state at the start of the epoch, plus the
number of batches already done) and the dropout RNG.  On CPU the result is
bit-identical to a run that was never interrupted.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Protocol

import torch

from seqtext import distributed, machine
from seqtext.config import TrainConfig
from seqtext.errors import ConfigError
from seqtext.update import Average, Update, learning_rate, make_optimizer  # noqa: F401  (make_optimizer: part of this module's API)


class Task(Protocol):
    """What the session asks of a task (the whole protocol, with the model-directory side, is
    :class:`seqtext.model.Task`)."""

    headline: str  # the validation metric shown beside the loss ("perplexity", "mae")
    monitor: str  # the validation metric that picks the best weights: "loss", or one where higher is better

    def batches(self, epoch: int, generator: torch.Generator) -> Iterable:
        """One epoch's batches, drawing any randomness from ``generator`` only (this rank's share)."""

    def loss(self, runner, batch) -> torch.Tensor:
        """The mean loss of one batch; ``runner`` is the network or its DDP wrapper."""

    def evaluate(self, net) -> dict | None:
        """Validation metrics with at least ``loss`` and ``headline``; None when there is no validation data."""

    def steps_per_epoch(self) -> int | None:
        """Batches an epoch, so a cosine schedule can move at every step (None: once an epoch)."""

    # optional, ``carried``: state one batch hands the next within an epoch (a stream's hidden state), tensors only,
    # the batch's rows in dim 1; saved with the trainer state and set back before ``batches`` when a resume starts
    # mid-epoch.  Optional, ``units(batch)``: what the batch's mean loss averages over (target tokens, rows), so
    # that under torchrun each rank's loss weighs by its share of the global batch.


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
        raise ConfigError(f"unknown {{device}} {name!r}; use auto, cpu, cuda, cuda:N or mps.",
                          params=["device"]) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("{device} cuda was asked for but no CUDA GPU is available; use cpu.", params=["device"])
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("{device} mps was asked for but MPS is not available; use cpu.", params=["device"])
    return device


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global RNGs and return a CPU generator for data order."""
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def sum_dtype(device: torch.device) -> torch.dtype:
    """The dtype of running sums kept on ``device``: float64, but float32 on MPS (it has no float64)."""
    return torch.float32 if device.type == "mps" else torch.float64


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``state`` resumes it, ``model`` holds the best weights so far."""

    def __init__(self, state: dict):
        super().__init__("training interrupted")
        self.state = state
        self.model = None


@dataclass
class Progress:
    """Where a training stands: everything but the weights, optimizer and RNGs needed to continue."""

    epoch: int = 1  # the epoch in progress (1-based)
    batches_done: int = 0  # batches finished in it
    running_loss: float = 0.0  # their summed losses
    best_loss: float = math.inf
    waited: int = 0  # evaluations since the best one
    finished: bool = False
    elapsed: float = 0.0
    train_seconds: float = 0.0  # wall time of this epoch's training steps so far (evaluation excluded)
    train_cpu_seconds: float = 0.0  # the process's CPU time over the same steps
    lr_factor: float = 1.0  # the product of the plateau decays so far
    steps: int = 0  # optimizer steps taken (warm-up and the cosine schedule read it)
    history: list = field(default_factory=list)  # one dict per evaluation
    best_metrics: dict | None = None


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


class Session:
    """Train ``net`` on ``task`` in place, leaving the best weights in it.

    ``generator`` draws the data order; ``resume`` is a state from an
    interruption or an ``on_epoch`` call; ``on_epoch(state)`` is called after
    every epoch with the best weights so far in ``net``.
    """

    def __init__(self, task: Task, net: torch.nn.Module, config: TrainConfig, *, generator: torch.Generator,
                 progress: bool = False, on_epoch: Callable[[dict], None] | None = None):
        self.task, self.net, self.config, self.generator = task, net, config, generator
        self.progress, self.on_epoch = progress if distributed.is_main() else False, on_epoch
        device = next(net.parameters()).device
        self.device_type = device.type  # for autocast
        self.runner = distributed.wrap(net, device, getattr(task, "freezes", False))  # DDP under torchrun, else net
        self.optimizer = make_optimizer(net, config)
        self.update = Update(self.optimizer, net.parameters(), config.clip)
        self.average = Average(net.parameters(), config.average_from)  # weights averaged from that epoch on
        self.steps_per_epoch = task.steps_per_epoch()
        self.p, self.best_state, self.epoch_generator = Progress(), None, None  # epoch_generator: see _train_epoch
        self.precision = machine.resolve_precision(config.precision, self.device_type)  # bf16 may fall back
        self.threads = None  # chosen when the run starts

    def run(self, resume: dict | None = None) -> dict:
        """Train to the end (or to early stopping); returns the final resumable state."""
        threads = torch.get_num_threads()
        try:
            self.threads = machine.resolve_threads(self.config.threads, self.device_type, lambda: _probe(self))
            torch.set_num_threads(self.threads)
            with _SigintFlag() as sigint:
                return self._run(resume, sigint)
        finally:
            torch.set_num_threads(threads)

    def _run(self, resume, sigint) -> dict:
        mid_epoch = False
        if resume is not None:
            self.restore(resume)
            mid_epoch = self.p.batches_done > 0
        start = time.perf_counter() - self.p.elapsed
        bar = _progress_bar(self.config.epochs, self.progress, initial=self.p.epoch - 1)
        try:
            while self.p.epoch <= self.config.epochs and not self.p.finished:
                self._train_epoch(mid_epoch, sigint)
                mid_epoch = False
                metrics = self._end_epoch(time.perf_counter() - start)
                ranks = distributed.rank_states(self.task, self.p.running_loss)  # a collective: on every rank
                if bar is not None:  # the validation figure only where there is validation data
                    shown = {f"val {self.task.headline}": f"{metrics[k]:.3f}" for k in [f"valid_{self.task.headline}"]
                             if k in metrics}
                    bar.set_postfix({"loss": f"{metrics['train_loss']:.3f}", **shown})
                    bar.update(1)
                if self.on_epoch is not None:
                    self.p.elapsed = time.perf_counter() - start
                    current = _copy(self.net.state_dict())
                    best_elsewhere = self.p.waited > 0 or self.average.active  # else the current ones are best
                    if best_elsewhere:
                        self._load_best()
                    self.on_epoch(self.state(current, copied=True, ranks=ranks))
                    if best_elsewhere:
                        self.net.load_state_dict(current)
        except TrainingInterrupted as exc:
            self.p.elapsed = time.perf_counter() - start
            exc.state = self.state(self.net.state_dict())
            self._load_best()
            self.net.eval()
            raise
        finally:
            if bar is not None:
                bar.close()
        self.p.finished = True
        self.p.elapsed = time.perf_counter() - start
        final = self.state(self.net.state_dict())  # the last weights, as every epoch's state: a resume with more
        self._load_best()  # epochs goes on from them, as a longer run would; the net keeps the best
        self.net.eval()
        return final

    # ---------------------------------------------------------------- state

    def state(self, weights: dict, copied: bool = False, ranks: dict | None = None) -> dict:
        """Everything needed to continue; tensors and plain values only (torch.load(weights_only=True)).

        ``weights`` are copied unless ``copied`` says they are a copy already; ``ranks``: the processes' own states
        (``distributed.rank_states``, gathered where every process calls it) unless gathered here.
        """
        p = asdict(self.p)
        return {**p, "history": json.dumps(p["history"]), "best_metrics": json.dumps(p["best_metrics"]),
                "epoch_generator": self.epoch_generator, "threads": self.threads, "precision": self.precision,
                "generator": self.generator.get_state(), "optimizer": self.optimizer.state_dict(),
                "net": weights if copied else _copy(weights), "best_net": self.best_state, **self.average.state(),
                **(ranks or distributed.rank_states(self.task, self.p.running_loss))}

    def restore(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        known = {name: state[name] for name in Progress.__dataclass_fields__ if name in state}
        known.update(history=json.loads(state["history"]), best_metrics=json.loads(state["best_metrics"]))
        # states written before schedules existed: the decays live in the optimizer's lr
        known.setdefault("lr_factor", self.optimizer.param_groups[0]["lr"] / self.config.lr)
        self.p = Progress(**known)
        self.best_state, self.epoch_generator = state["best_net"], state["epoch_generator"]
        self.average.restore(state)
        if state["generator"] is not None:
            self.generator.set_state(state["generator"])
        distributed.restore_rank(state, self.task, self.p, self.config.batch_size)

    # ----------------------------------------------------------------- loop

    def autocast(self):
        """bf16 autocast of the forward pass (and so of its backward) when asked for; a no-op for fp32."""
        return torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def _load_best(self) -> None:
        if self.best_state is not None:
            self.net.load_state_dict(self.best_state)

    def _train_epoch(self, resuming: bool, sigint) -> None:
        p = self.p
        if resuming and self.epoch_generator is not None:
            rng = torch.get_rng_state()  # the dropout RNG as it was at the interruption
            self.generator.set_state(self.epoch_generator)
            torch.set_rng_state(rng)
        else:
            p.batches_done, p.running_loss = 0, 0.0
            p.train_seconds = p.train_cpu_seconds = 0.0
            self.epoch_generator = self.generator.get_state()
        self.net.train()
        # the losses are summed where they are computed and read once an epoch (no sync a step);
        # in float64 from the float32 losses, as a Python float sum of them would be
        device = next(self.net.parameters()).device
        running = torch.tensor(p.running_loss, dtype=sum_dtype(device), device=device)
        wall, cpu = time.perf_counter(), time.process_time()
        done = p.batches_done
        agreement = getattr(self.runner, "agreement", None)  # under torchrun
        units = getattr(self.task, "units", _one)
        try:
            for index, batch in enumerate(self.task.batches(p.epoch, self.generator)):
                if index < done:
                    continue  # already trained on before the interruption
                rate = learning_rate(self.config, p, self.steps_per_epoch)
                for group in self.optimizer.param_groups:
                    group["lr"] = rate
                self.optimizer.zero_grad(set_to_none=True)
                weight = agreement.start(units(batch), sigint.raised) if agreement else 1.0  # sent with the grads
                with self.autocast():
                    loss = self.task.loss(self.runner, batch)
                (loss * weight if agreement else loss).backward()
                share, stop = agreement.finish() if agreement else (1.0, sigint.raised)
                self.update()
                self.average.add(p.epoch)
                if share:  # 0: this rank's share held nothing to learn (every word untagged), its mean is nan
                    running += loss.detach() * share if agreement else loss.detach()
                p.steps += 1
                p.batches_done += 1
                if stop:  # under torchrun, every rank after the same step
                    raise TrainingInterrupted({})
        finally:
            p.running_loss = running.item()
            p.train_seconds += time.perf_counter() - wall
            p.train_cpu_seconds += time.process_time() - cpu

    def _end_epoch(self, seconds: float) -> dict:
        p, cfg = self.p, self.config
        # every rank's share of the epoch: ranks must agree on the score that picks the best weights and stops
        train_loss = distributed.epoch_loss(p.running_loss, p.batches_done)
        metrics = {"epoch": p.epoch, "train_loss": train_loss}
        self.net.eval()
        with self.average.applied(), torch.no_grad():  # the averaged weights are validated and kept
            valid = self.task.evaluate(self.net)
            score = train_loss  # lower is better; p.best_loss keeps the best score
            if valid is not None:
                metrics.update({f"valid_{k}": v for k, v in valid.items()})
                monitor = getattr(self.task, "monitor", "loss")
                score = metrics["valid_loss"] if monitor == "loss" else -metrics[f"valid_{monitor}"]
            improved = score < p.best_loss - 1e-6
            if improved:
                self.best_state = _copy(self.net.state_dict())
        if improved:
            p.best_loss, p.waited = score, 0
            p.best_metrics = metrics
        else:
            p.waited += 1
            if cfg.lr_decay < 1.0:  # plateau: smaller steps to settle into the minimum
                p.lr_factor *= cfg.lr_decay
        metrics["lr"] = learning_rate(cfg, p, self.steps_per_epoch)
        metrics["seconds"] = round(seconds, 3)
        metrics["train_seconds"] = round(p.train_seconds, 4)
        metrics["train_cpu_seconds"] = round(p.train_cpu_seconds, 4)
        p.history.append(metrics)
        p.epoch += 1
        p.batches_done, p.running_loss = 0, 0.0
        if not math.isfinite(train_loss) or not math.isfinite(score):
            raise ConfigError(
                f"training diverged in epoch {metrics['epoch']} (the loss is not a finite number); "
                "lower the learning rate ({lr}) or the clipping threshold ({clip}).", params=["lr", "clip"])
        if p.waited >= cfg.patience:
            p.finished = True
        return metrics


def _one(batch) -> int:
    return 1


def _probe(session: Session) -> Callable[[], None]:
    """One forward and backward pass on a copy of the network and the first batch: a step to time."""
    net = copy.deepcopy(session.net)  # the training's weights, gradients and optimizer stay untouched
    generator = torch.Generator()
    generator.set_state(session.generator.get_state())
    batch = next(iter(session.task.batches(session.p.epoch, generator)))

    def step():
        net.zero_grad(set_to_none=True)
        with session.autocast():
            loss = session.task.loss(net, batch)
        loss.backward()

    return step


def _copy(weights: dict) -> dict:
    """A copy of a state dict: its tensors detached and cloned, its metadata kept (as ``copy.deepcopy``)."""
    out = type(weights)((k, v.detach().clone()) for k, v in weights.items())
    if hasattr(weights, "_metadata"):
        out._metadata = copy.deepcopy(weights._metadata)
    return out


def _progress_bar(total: int, enabled: bool | str, initial: int = 0):
    """A bar of epochs, labelled "training" (or ``enabled`` when it is a label: "calibrating"); None when off."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    desc = enabled if isinstance(enabled, str) else "training"
    return tqdm(total=total, initial=initial, desc=desc, unit="epoch", leave=False, dynamic_ncols=True)

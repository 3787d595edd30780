"""The user-facing model of any task: fit, resume, save and load through one path.

A task package subclasses :class:`Model`, names its task class, and adds
its own inference methods (``complete``, ``predict``, ...).  Everything
about training and model directories lives here and in
:mod:`seqtext.session` / :mod:`seqtext.modeldir`, once for all tasks.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import time
from pathlib import Path
from typing import ClassVar

import torch

from seqtext import distributed, modeldir
from seqtext.errors import CheckpointError, ConfigError, SeqtextError, warn
from seqtext.inert import warn_inert
from seqtext.session import Session, TrainingInterrupted, pick_device, seed_everything


class Task:
    """The task protocol: what a new task implements, with defaults for the optional parts.

    The session's part (:class:`seqtext.session.Task`): ``headline``, ``monitor``,
    ``batches``, ``loss``, ``evaluate``, ``steps_per_epoch``.  The model's
    part: ``settings_class`` and ``kind``, ``prepare`` (read the data),
    ``build`` (the network), and the model directory's extras below.
    """

    settings_class: ClassVar[type]
    kind: ClassVar[str]
    headline: ClassVar[str] = "loss"
    monitor: str = "loss"  # the validation metric that picks the best weights (higher is better unless loss)
    files: ClassVar[tuple[str, ...]] = ()  # the files write_files adds to a model directory

    def __init__(self, settings):
        self.settings = settings
        self.device = torch.device("cpu")  # where batches go; set by the model before prepare()

    def prepare(self, data: dict, fresh: bool) -> None:
        """Read the training data; ``fresh``: also fit what the data decides (a tokenizer, a scaler)."""
        raise NotImplementedError

    def build(self) -> torch.nn.Module:
        """The network, from the settings and what ``prepare`` (or ``read_files``) learnt."""
        raise NotImplementedError

    def steps_per_epoch(self) -> int | None:
        return None

    def units(self, batch) -> int:
        """What a batch's mean loss averages over (rows, target tokens): under torchrun each rank's loss weighs by
        its share of them, so N processes take the steps of one."""
        return len(batch[0])

    def sizes(self) -> dict:
        """Sizes of the training data, for the training summary."""
        return {}

    def record(self) -> dict:
        """Fields of config.json beside the settings (data sources, sizes the network was built with)."""
        return {}

    def recorded_data(self, path) -> dict:
        """The training data as recorded in ``record()``, for a resume that is not given the data again."""
        raise ConfigError(f"{path} does not record where its data came from; pass the data to resume().")

    def write_files(self, directory: Path) -> None:
        """Write the task's own files into a model directory being saved."""

    def read_files(self, directory: Path, config: dict) -> None:
        """Read them back (and what ``record()`` wrote to config.json) when a directory is opened."""

    def weights(self, net) -> dict:
        return net.state_dict()

    def load_weights(self, net, state: dict, where: Path) -> None:
        modeldir.load_state(net, state, where)


# the keywords of Model.resume beside the path and the data, which a task's resume(**options) passes on
RESUME_OPTIONS = ("epochs", "patience", "device", "progress", "checkpoint_dir")


def fresh_fit(fit):
    """A model's ``fit``: each call starts from the options as given, not as an earlier fit resolved them."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = self.task, self._given, self._resolved, self.net
        _begin_fit(self)
        try:
            fit(self, *args, **kwargs)
        except BaseException:
            if self.net is before[3]:  # nothing was trained: the model is the one it was, data and options
                self.task, self._given, self._resolved = before[:3]
            else:  # interrupted: the new weights and their resolved options stay
                self._resolved = copy.deepcopy(self.settings.flat())
            raise
        self._resolved = copy.deepcopy(self.settings.flat())
        return self

    return wrapper


def _begin_fit(model) -> None:
    """Before a fit, a new task: each option the last fit resolved goes back to what it was given, unless set
    since (``model.settings...``), so a second ``fit`` trains the model a fresh one would, and one that fails
    leaves the old task as it was.  An option set since to the very value the last fit resolved it to cannot
    be told from one left alone, and goes back too."""
    settings, now = model.settings, model.settings.flat()
    if model._given is not None and model._resolved is not None:
        settings = type(settings)(
            **{name: model._given[name] if value == model._resolved[name] else value for name, value in now.items()})
    model.task = model.task_class(settings)
    model._given = copy.deepcopy(settings.flat())


def _with_recorded(task, path, data: dict) -> dict:
    """``data`` given to a resume, a part left out (the validation file) taken from the training's record where
    that file still is: a resume keeps the validation its early stopping compared against."""
    try:
        recorded = task.recorded_data(path)
    except SeqtextError:  # trained on data given in Python: nothing recorded (each task says so its own way)
        return data
    def still_there(paths) -> bool:
        return paths is not None and all(Path(p).exists() for p in (paths if isinstance(paths, list) else [paths]))

    return {key: recorded.get(key) if value is None and still_there(recorded.get(key)) else value
            for key, value in data.items()}


def _open(cls, path, device: str = "cpu"):
    """A model of class ``cls`` read from its directory (:meth:`Model.load`, without its warning)."""
    path = modeldir.as_path(path)
    config, settings = modeldir.open_model(path, cls.task_class.settings_class)
    model = cls.__new__(cls)
    model._init(cls.task_class(settings))
    try:
        model.task.read_files(path, config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is inconsistent ({exc}); retrain the model.") from None
    model.summary = config.get("summary", {})
    model.device = model.task.device = pick_device(device)
    model.net = model.task.build()
    weights = path / modeldir.WEIGHTS
    model.task.load_weights(model.net, modeldir.load_weights(weights), weights)
    model.net.to(model.device).eval()
    model.history = modeldir.read_history(path)
    trainer = (path / modeldir.TRAINER).resolve()
    if trainer.is_file():
        stat = trainer.stat()
        model._trainer_file = trainer, (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return model


def _same_trainer(record: tuple | None) -> Path | None:
    """The trainer.pt a model was loaded beside (``record``: its path and (inode, size, mtime)), while it is the
    same file: a copy saved elsewhere then resumes as the original would.  Replaced or gone since, it is left
    out, with a warning."""
    if record is None:
        return None
    path, signature = record
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or (stat.st_ino, stat.st_size, stat.st_mtime_ns) != signature:
        warn(f"{path} was replaced or removed since this model was loaded, so the model is saved without it "
             "and cannot be resumed from the copy.")
        return None
    return path


class Model:
    """A task, its network and its training record.

    ``Model(**options)``: the options are the task's settings
    (``seqtext.config``), validated at once; ``progress`` shows a progress
    bar while fitting.  Each ``fit`` trains a new network from the start;
    :meth:`resume` continues a saved training.
    """

    task_class: ClassVar[type]
    # With a checkpoint directory, the model is saved after an epoch unless the last save was more
    # recent than this many seconds (Ctrl-C and the end always save).  0: after every epoch.
    save_interval: ClassVar[float] = 0.0

    def __init__(self, *, progress: bool = False, **options):
        if not isinstance(progress, (bool, int, str)) or progress == "":  # a str labels the bar
            raise ConfigError(f"{{progress}} must be True, False or the progress bar's label, got {progress!r}.",
                              params=["progress"])
        settings = self.task_class.settings_class(**options)
        self._init(self.task_class(settings))
        self.progress = progress

    def _init(self, task) -> None:
        self.task = task
        self.net: torch.nn.Module | None = None
        self.history: list[dict] = []
        self.summary: dict = {}
        self.trainer_state: dict | None = None  # what resume needs; saved as trainer.pt
        self._trainer_file: tuple | None = None  # a loaded model's trainer.pt and its (inode, size, mtime)
        # the options as the last fit was given them and as it left them (a text mode, cutoffs, calibrate resolved)
        self._given: dict | None = None
        self._resolved: dict | None = None
        self.device = torch.device("cpu")
        self.progress = False

    @property
    def settings(self):
        """The task's options, by section (``model.settings.core.hidden``)."""
        return self.task.settings

    def __repr__(self) -> str:
        core, figure = self.settings.core, self.summary.get(f"valid_{self.task.headline}")
        shape = f"{core.cell}, hidden={core.hidden}, layers={core.layers}" + (", bidirectional" * core.bidirectional)
        state = "untrained" if self.net is None else "trained" if not isinstance(figure, (int, float)) else \
            f"validation {self.task.headline} {figure:.4g}"
        return f"{type(self).__name__}({shape}; {state})"

    def _require_trained(self) -> None:
        if self.net is None:
            raise ConfigError("the model is not trained yet; call fit() or load a model directory first.")

    # ------------------------------------------------------------------ training

    def _fit(self, data: dict, checkpoint_dir=None, callback=None, resume: dict | None = None):
        """Train through the shared session; returns self.

        With ``checkpoint_dir``, the model directory is written there after
        every epoch (at most every ``save_interval`` seconds), on Ctrl-C and
        at the end (atomically, with the trainer state that ``resume``
        continues).  Ctrl-C raises
        :class:`~seqtext.session.TrainingInterrupted` after the current batch,
        with the best weights so far in the model.  ``callback(model,
        metrics)`` is called after every epoch.
        """
        if callback is not None and not callable(callback):  # before an epoch is spent, not after it
            raise ConfigError(f"{{callback}} must be a function of (model, metrics), got {type(callback).__name__}.",
                              params=["callback"])
        cfg = self.settings.train
        self.device = self.task.device = distributed.setup(pick_device(cfg.device))
        if distributed.world_size() > cfg.batch_size:  # each process would skip every batch and train nothing
            raise ConfigError(f"{{batch_size}} {cfg.batch_size} is smaller than the {distributed.world_size()} "
                              "training processes; give each process at least one row (a sentence, stream, "
                              "window or text) of every batch.", params=["batch_size"])
        if resume is None:
            generator = seed_everything(cfg.seed)
            self.task.prepare(data, fresh=True)
            warn_inert(self.settings, self.task.steps_per_epoch())  # the settings are resolved now (a text mode)
            self.net = self.task.build()
        else:
            generator = torch.Generator()
            self.task.prepare(data, fresh=False)
        self.net.to(self.device)

        saved = {"at": -math.inf}

        def on_epoch(state):
            self._record(state)
            if checkpoint_dir is not None and distributed.is_main() and \
                    time.monotonic() - saved["at"] >= self.save_interval:
                self.save(checkpoint_dir)
                saved["at"] = time.monotonic()
            if callback is not None:
                callback(self, self.history[-1])

        session = Session(self.task, self.net, cfg, generator=generator, progress=self.progress,
                          on_epoch=on_epoch if checkpoint_dir is not None or callback is not None else None)
        try:
            state = session.run(resume)
        except TrainingInterrupted as exc:
            self._record(exc.state)
            exc.model = self
            if checkpoint_dir is not None and distributed.is_main():
                self.save(checkpoint_dir)  # a resumable model, whatever the epoch
            raise
        self._record(state)
        if checkpoint_dir is not None and distributed.is_main():
            self.save(checkpoint_dir)  # the finished training (resumable with more epochs)
        return self

    def _record(self, state: dict) -> None:
        """Keep the trainer state and the summary of the best evaluation so far."""
        self.trainer_state = state
        self.history = json.loads(state["history"])
        best = json.loads(state["best_metrics"]) or (self.history[-1] if self.history else {})
        self.summary = {k: v for k, v in best.items() if k.startswith("valid_") or k in ("epoch", "train_loss")}
        self.summary.update(epochs_run=len(self.history), seconds=round(state["elapsed"], 2),
                            finished=bool(state["finished"]), **self.task.sizes())
        for key in ("threads", "precision"):  # what the session used (threads="auto" measured; bf16 may fall back)
            if state.get(key) is not None:
                self.summary[key] = state[key]

    @classmethod
    def resume(cls, path, data: dict | None = None, *, epochs: int | None = None, patience: int | None = None,
               device: str | None = None, progress: bool = False, checkpoint_dir=None):
        """Continue an interrupted (or finished) training from its model directory.

        ``data`` is read again from the sources recorded in ``config.json``
        unless given; ``epochs`` raises the epoch limit and ``patience`` the
        early-stopping patience (to continue a run that stopped early);
        ``device`` moves the training (``cuda``, ``cpu``).  On CPU the result
        is bit-identical to a run that was never interrupted.
        The directory is not written unless ``checkpoint_dir`` says where
        (``path`` itself to update it in place); the model is returned.
        """
        model = _open(cls, path)
        state = modeldir.load_trainer_state(Path(path))
        train = model.settings.train
        if epochs is not None:
            train.epochs = epochs
        if patience is not None:
            train.patience = patience
        if device is not None:
            train.device = device
        train.validate()
        done = len(json.loads(state["history"]))
        if not state["finished"] and state["batches_done"] and train.epochs < state["epoch"]:  # one begun: dropped
            raise ConfigError(f"the training in {path} is in epoch {state['epoch']}, so {{epochs}} {train.epochs} "
                              f"would end it before that epoch is done; give {{epochs}} {state['epoch']} or more (or "
                              "leave it out).", params=["epochs"])
        if state["finished"]:
            if train.epochs <= done or state["waited"] >= train.patience:
                count = f"{done} epoch{'s' if done != 1 else ''}"
                raise ConfigError(f"the training in {path} already finished after {count}; "
                                  "raise {epochs} (and {patience}) to continue it.", params=["epochs", "patience"])
            state["finished"] = False
        model.progress = progress
        data = model.task.recorded_data(path) if data is None else _with_recorded(model.task, path, data)
        return model._fit(data, checkpoint_dir, resume=state)

    # ------------------------------------------------------------------ storage

    def config_dict(self) -> dict:
        """What ``config.json`` records: format, kind, the options by section, the task's record and the summary."""
        return modeldir.describe(self.task.kind, self.settings, **self.task.record(), summary=self.summary)

    def save(self, path) -> Path:
        """Write the model directory atomically; returns its path."""
        self._require_trained()
        path = modeldir.as_path(path)
        trainer = _same_trainer(self._trainer_file) if self.trainer_state is None else self.trainer_state
        return modeldir.save_model(path, self.config_dict(), self.task.weights(self.net),
                                   self.task.write_files, self.history, trainer)

    @classmethod
    def load(cls, path, device: str = "cpu"):
        """Open a model directory of this kind (weights from safetensors; no code is run); a warning when its
        training was interrupted (:meth:`resume` finishes it)."""
        model = _open(cls, path, device)
        modeldir.warn_unfinished(modeldir.as_path(path), model.task.kind, model.summary, model.settings.train.epochs)
        return model


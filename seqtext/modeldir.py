"""Model directories: written atomically, read without running any code.

A model directory holds ``config.json`` (with ``format_version`` and
``kind``), ``model.safetensors`` (weights only), the task's own files
(``tokenizer.json``, ``scaler.json``, ...), ``metrics.jsonl`` and, for a
training that can be resumed, ``trainer.pt`` (tensors and plain values only).

This module is a leaf: it imports no task.  Each task registers its kind
(:func:`register`) when its package is imported; :func:`load` imports the
package that provides a kind, named in ``PROVIDERS``, and opens the directory
with the class it registered.

Writing goes to a temporary sibling directory that is fsynced and then
swapped into place, so an interrupted save leaves the previous model or the
new one, never a mix.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from seqtext.errors import CheckpointError, SeqtextError, counted, first_line, warn

# 2: option fields named as the options (core.hidden, not hidden_size; text.embed); format 1 is migrated
FORMAT_VERSION = 2
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.jsonl"
TRAINER = "trainer.pt"  # optimizer state, RNG states and data position, for resume

# kind -> the package that registers it on import (an entry-point table: no import of a task here)
PROVIDERS = {"text": "seqtext.text.model", "series": "seqtext.series.forecaster",
             "classify": "seqtext.classify.model", "tag": "seqtext.tag.model"}
# kind -> the commands that use it, named when a model of one kind is given to another's command
COMMAND_GROUPS = {"text": "seqtext complete", "series": "seqtext forecast predict",
                  "classify": "seqtext classify predict", "tag": "seqtext tag predict"}
# kind -> the class that opens it in Python, named (as an error's parameter) when a model of one kind is opened as
# another's; the command line names the kind's commands instead (CLI_TERMS)
API_CLASSES = {"text": "seqtext.TextModel", "series": "seqtext.Forecaster", "classify": "seqtext.TextClassifier",
               "tag": "seqtext.SequenceTagger"}
# the same for an exported directory, opened in Python by the runtime
API_EXPORTS = {kind: f"seqtext.export.runtime.load(path, kind={kind!r})" for kind in API_CLASSES}
RUNTIME = "seqtext.export.runtime.load"  # what runs an export in Python
CLI_TERMS = {api[kind]: f"the commands for {kind} models ({COMMAND_GROUPS[kind]})"
             for api in (API_CLASSES, API_EXPORTS) for kind in api}
CLI_TERMS[RUNTIME] = "complete, score, the predict commands and serve, not by this command"
# kind -> the command that trains (and resumes) it
TRAIN_COMMANDS = {"text": "seqtext train", "series": "seqtext forecast train", "classify": "seqtext classify train",
                  "tag": "seqtext tag train"}
CLI_TERMS.update({f"{API_CLASSES[kind]}.resume": f"{command} --resume" for kind, command in TRAIN_COMMANDS.items()})
_KINDS: dict[str, tuple[type, tuple[str, ...]]] = {}  # kind -> (model class, files its directory holds)


def register(kind: str, cls: type, files: tuple[str, ...]) -> None:
    """Declare a model kind: the class whose ``load(path, device)`` opens it, and its own files."""
    _KINDS[kind] = (cls, (CONFIG, WEIGHTS, *files))


def kind_entry(kind) -> tuple[type, tuple[str, ...]] | None:
    """(model class, required files) of a kind, importing its provider if needed; None when unknown."""
    if kind not in _KINDS and kind in PROVIDERS:
        import importlib

        importlib.import_module(PROVIDERS[kind])
    return _KINDS.get(kind)


def _kind_of(path: Path) -> str | None:
    try:
        return json.loads((path / CONFIG).read_text(encoding="utf-8")).get("kind")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None


def is_model_dir(path: str | Path) -> bool:
    return (Path(path) / CONFIG).is_file()


def check_output_dir(path: str | Path) -> Path:
    """Refuse to overwrite anything that is not a seqtext model directory."""
    path = Path(path)
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise CheckpointError(f"{path} is inside {parent}, which is a file; choose a directory path.")
    if path.exists():
        if not path.is_dir():
            raise CheckpointError(f"{path} is an existing file; choose a new directory.")
        if any(path.iterdir()) and not is_model_dir(path):
            raise CheckpointError(
                f"{path} exists and is not a seqtext model directory; choose a new or empty directory."
            )
    return path


def write_model_dir(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)`` to fill a fresh directory, then swap it in at ``path``."""
    path = check_output_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a model directory is an ordinary one
        for child in tmp.iterdir():
            os.chmod(child, 0o666 & ~umask)
            _fsync(child)
        _fsync(tmp)
        _swap_into_place(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _fsync(path.parent)
    return path


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_into_place(new: Path, path: Path) -> None:
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        if path.exists():
            path.rmdir()
        os.rename(new, path)
        return
    if _rename_exchange(new, path):  # atomic: path is always a complete model
        shutil.rmtree(new)
        return
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.rename(path, old)
    os.rename(new, path)
    shutil.rmtree(old, ignore_errors=True)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Linux renameat2(RENAME_EXCHANGE): swap two paths in one step."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def save_model(path, config: dict, weights: dict, write_files: Callable[[Path], None], history: list[dict],
               trainer_state: dict | Path | None = None) -> Path:
    """Write a whole model directory atomically; returns its path.

    ``write_files(directory)`` writes the task's own files into the new directory; ``trainer_state`` is the
    state or, for a model loaded and saved again, the trainer file it was loaded beside (copied as it is).
    """

    def write(tmp: Path) -> None:
        write_json(tmp / CONFIG, config)
        save_weights(tmp / WEIGHTS, weights)
        write_files(tmp)
        write_metrics(tmp / METRICS, history)
        if isinstance(trainer_state, Path):
            shutil.copyfile(trainer_state, tmp / TRAINER)
        elif trainer_state is not None:
            save_trainer_state(tmp / TRAINER, trainer_state)

    return write_model_dir(path, write)


def describe(kind: str, settings, **extra) -> dict:
    """The ``config.json`` of a model: format, kind, its settings by section, and record fields.

    The inverse of :func:`open_model`.
    """
    return {"format_version": FORMAT_VERSION, "kind": kind, **settings.to_dict(), **extra}


def open_model(path, settings_class) -> tuple[dict, object]:
    """Read ``config.json`` of a model of ``settings_class.kind`` and parse its settings.

    Fields of older formats are migrated; anything missing or out of range is
    a CheckpointError naming the file.
    """
    path = Path(path)
    config = read_config(path)
    kind = settings_class.kind
    if config["kind"] != kind:
        raise wrong_kind(path, config["kind"], kind)
    try:
        settings = settings_class.from_dict(config, config["format_version"])
    except (KeyError, TypeError, SeqtextError) as exc:
        raise CheckpointError(f"{path / CONFIG} is inconsistent ({exc}); retrain the model.") from None
    return config, settings


def wrong_kind(path, found, kind: str, exported: bool = False) -> CheckpointError:
    """The error for a model of kind ``found`` opened as one of ``kind``: it names the class (or, for an export,
    the runtime call) that opens it, which the command line renders as the commands for that kind."""
    api = (API_EXPORTS if exported else API_CLASSES).get(found) if isinstance(found, str) else None
    if api is None:
        return CheckpointError(f"{path} holds a {found} model, not a {kind} model.")
    return CheckpointError(f"{path} holds a {found} model, not a {kind} model; use {{{api}}}.", params=[api])


def read_history(path) -> list[dict]:
    """``metrics.jsonl``, or an empty history when it is missing or unreadable (it is informational)."""
    metrics = Path(path) / METRICS
    try:
        return [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []


def json_safe(obj):
    """``obj`` with every NaN or infinity replaced by None, so the JSON stays strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(json_safe(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def write_metrics(path: Path, history: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in history:
            fh.write(json.dumps(json_safe(row), allow_nan=False) + "\n")


def save_weights(path: Path, state_dict: dict) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


def save_trainer_state(path: Path, state: dict) -> None:
    import torch

    torch.save(state, path)


def load_trainer_state(path: Path) -> dict:
    """The trainer state, read with ``weights_only=True``: tensors and plain values, never code."""
    import pickle

    import torch

    file = Path(path) / TRAINER
    if not file.is_file():
        raise CheckpointError(f"{path} has no {TRAINER} to resume from; train it again instead of resuming.")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own text advises weights_only=False: loading code, never done here
        raise CheckpointError(f"{file} is corrupted, or holds more than tensors and plain values, so it is no "
                              "seqtext trainer state; train again.") from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(f"{file} is corrupted or truncated ({first_line(exc)}); train again.") from None
    needed = {"epoch", "batches_done", "optimizer", "net", "history", "finished", "torch_rng"}
    if not isinstance(state, dict) or not needed <= set(state):
        raise CheckpointError(f"{file} is not a seqtext trainer state; train again.")
    return state


def as_path(path) -> Path:
    """``path`` as a Path, refused in one sentence unless it is a string or a path (None, a number, a model)."""
    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"the model directory must be a path (a string or pathlib.Path), got "
                              f"{type(path).__name__}.")
    return Path(path)


def read_config(path: str | Path) -> dict:
    """Read and check ``config.json``: present, JSON, our format, a known kind."""
    path = as_path(path)
    if not path.exists():
        raise CheckpointError(f"the model directory {path} does not exist; train a model first.")
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a model directory; give the directory that train wrote.")
    cfg_file = path / CONFIG
    if not cfg_file.is_file():
        if (path / "export.json").is_file():  # seqtext.export.MANIFEST: an export, which this command cannot run
            raise CheckpointError(f"{path} is an exported model, run by {{{RUNTIME}}}; give the model directory it "
                                  "was exported from.", params=[RUNTIME])
        raise CheckpointError(f"{path} is not a seqtext model directory ({CONFIG} is missing); give the directory "
                              "that a training or an export wrote.")
    try:
        config = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{cfg_file} is corrupted ({exc.__class__.__name__}); retrain the model.") from None
    if not isinstance(config, dict) or "format_version" not in config:
        raise CheckpointError(f"{cfg_file} is not a seqtext model configuration; retrain the model.")
    version = config["format_version"]
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{cfg_file} has an invalid format_version {version!r}; retrain the model.")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer seqtext (format {version}, this one reads {FORMAT_VERSION}); "
            "upgrade seqtext."
        )
    entry = kind_entry(config.get("kind"))
    if entry is None:
        raise CheckpointError(f"{cfg_file} names an unknown model kind {config.get('kind')!r}; retrain the model.")
    for name in entry[1]:
        if not (path / name).is_file():
            raise CheckpointError(f"{path} is missing {name}; retrain the model or restore the file.")
    return config


def load_weights(path: Path) -> dict:
    """Tensors from a safetensors file; a damaged file is a clear error."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises SafetensorError / OSError
        raise CheckpointError(f"{path} is corrupted or truncated ({first_line(exc)}); retrain the model.") from None


def load_state(net, state: dict, where: Path) -> None:
    """Load weights whose names and shapes must match the configured network."""
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or extra or wrong:
        detail = (missing and f"missing {missing[0]}") or (extra and f"unexpected {extra[0]}") or (
            f"{wrong[0]} has shape {tuple(state[wrong[0]].shape)}, expected {tuple(expected[wrong[0]].shape)}"
        )
        raise CheckpointError(f"{where} does not match config.json ({detail}); retrain the model.")
    net.load_state_dict(state)


def load(path: str | Path, device: str = "cpu"):
    """Open a model directory with the class its ``kind`` registered (TextModel, Forecaster, ...)."""
    config = read_config(path)
    cls, _ = kind_entry(config["kind"])
    return cls.load(path, device=device)


def warn_unfinished(path: Path, kind: str, summary: dict, epochs: int) -> None:
    """A warning for a model whose training was interrupted (Ctrl-C, or a failed process): its weights are the best
    of the epochs it finished, not a finished training's.  Directories older than the record say nothing."""
    if summary.get("finished") is not False:
        return
    done = summary.get("epochs_run")
    if not isinstance(done, int):
        when = "before it finished, so its weights are the best so far"
    elif done == 0:  # no epoch evaluated: no best weights to go back to
        when = "in its first epoch, so its weights are those it stopped at"
    else:
        when = f"after {counted(done, 'epoch')} of {epochs}, so its weights are the best of those epochs"
    api = f"{API_CLASSES[kind]}.resume"
    warn(f"the training of {path} was interrupted {when}; resume it with {{{api}}} to finish it.", params=[api])


def latest_model(root: str | Path = "runs", kind: str | None = None) -> Path | None:
    """The most recently written model directory under ``root`` (of ``kind``, if given)."""
    root = Path(root)
    if not root.is_dir():
        return None
    found = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_model_dir(p)
             and (kind is None or _kind_of(p) == kind)]
    if not found:
        return None
    return max(found, key=lambda p: (p / CONFIG).stat().st_mtime)

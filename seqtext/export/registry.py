"""The models a server holds: checked before start, loaded in the background, called from worker threads.

A torch model directory is opened with ``seqtext.modeldir.load`` and called
under a lock (one request at a time per model); an exported directory runs
on onnxruntime, whose sessions take concurrent calls.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

from seqtext.errors import CheckpointError, ConfigError
from seqtext.export import read_manifest, refuse_damaged


KINDS = ("text", "series", "classify", "tag")
ENDPOINTS = {"text": "/v1/complete, /v1/next-words or /v1/score", "series": "/v1/forecast",
             "classify": "/v1/classify", "tag": "/v1/tag"}  # the routes that answer each kind
SETTINGS = ("core", "text", "series", "classify", "tag")  # the sections of config.json that /v1/models shows


class Served:
    """One named model: its path, kind, whether exported, and (once loaded) the object that answers."""

    def __init__(self, name: str, path: Path):
        self.name, self.path = name, path
        manifest = read_manifest(path)
        self.exported = manifest is not None
        if not self.exported:
            refuse_damaged(path)
        config = _config(path, self.exported)
        self.kind = manifest.get("kind") if self.exported else config["kind"]
        self.model = None
        # the settings are read now, so /v1/models shows them while the models load (a page opened then needs
        # them: a many-series model's id field, a character model's spacing); the details come with the model
        self.settings = _settings(config)
        self.details: dict = {}
        self.lock = None if self.exported else threading.Lock()

    def load(self) -> None:
        if self.exported:
            from seqtext.export.runtime import load

            self.model = load(self.path)
        else:
            import torch

            from seqtext import modeldir

            torch.set_num_threads(1)
            self.model = modeldir.load(self.path)
        self.details = _details(self.kind, self.model)

    def call(self, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` (``method`` a name, or a function taking the model first), under the
        model's lock when it runs on torch."""
        func = getattr(self.model, method) if isinstance(method, str) else functools.partial(method, self.model)
        if self.lock is None:
            return func(*args, **kwargs)
        import torch

        with self.lock, torch.inference_mode():
            return func(*args, **kwargs)

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind, "exported": self.exported, "path": str(self.path),
                "loaded": self.model is not None, "settings": self.settings, **self.details}


def _config(path: Path, exported: bool) -> dict:
    """The model's recorded settings: an export's model_config.json, a model directory's config.json (a clear
    sentence when missing or damaged)."""
    if exported:
        from seqtext.export import model_config

        return model_config(path)
    from seqtext import modeldir

    return modeldir.read_config(path)


def _settings(config: dict) -> dict:
    """The sections of a config that /v1/models shows."""
    settings = {k: dict(config[k]) for k in SETTINGS if isinstance(config.get(k), dict)}
    text = settings.get("text", {})
    if text.get("tokenizer") == "char":  # recorded defaults that a character vocabulary never reads
        for key in ("vocab_size", "split_punctuation"):
            text.pop(key, None)
    return settings


def _details(kind: str, model) -> dict:
    """What a client needs besides the settings: a series model's intervals, the labels or tags, a text model's
    vocabulary size."""
    if kind == "series":
        return {"intervals": model.task.intervals is not None}
    if kind == "classify":
        return {"labels": list(model.labels)}
    if kind == "tag":
        return {"tags": list(model.tags)}
    if kind == "text":  # the vocabulary as trained (a BPE or word vocabulary may be smaller than --vocab-size)
        return {"vocabulary": model.tokenizer.get_vocab_size()}
    return {}


def parse_models(specs) -> dict[str, Served]:
    """``NAME=PATH`` (or a bare PATH, named after its directory) -> served models, each path checked now."""
    served: dict[str, Served] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:  # named after the directory itself as given: '.' or 'models/sales/' too (no link followed)
            name, path = Path(os.path.abspath(spec)).name, spec
        if not name or not path:
            raise ConfigError(f"{{model}} takes NAME=PATH, got {spec!r}.", params=["model"])
        if name in served:
            raise ConfigError(f"the model name {name!r} is given twice; give each model its own name.",
                              params=["model"])
        path = Path(path)
        if not path.is_dir():
            what = "is a file, not a directory" if path.exists() else "does not exist"
            where = f"the model {name} at {path}" if sep else f"the model directory {path}"
            raise CheckpointError(f"{where} {what}; give a model or exported directory (PATH, or NAME=PATH to "
                                  "name it).")
        item = Served(name, path)
        if item.kind not in KINDS:
            raise ConfigError(f"the model {name} is a {item.kind} model; the server answers {', '.join(KINDS)} "
                              "models.")
        served[name] = item
    if not served:
        raise ConfigError("give at least one model to serve with {model} NAME=PATH.", params=["model"])
    return served


class Registry:
    """The served models and whether they are loaded yet (requests get 503 until then)."""

    def __init__(self, served: dict[str, Served]):
        self.served = served
        self.ready = threading.Event()
        self.error: str | None = None

    def load_all(self) -> None:
        item = None
        try:
            for item in self.served.values():
                item.load()
        except Exception as exc:  # reported by /health; ``seqtext serve`` then stops, naming it
            from seqtext.errors import first_line

            self.error = f"the model {item.name} at {item.path} failed to load ({first_line(exc).rstrip('.')})"
        else:
            self.ready.set()

    def pick(self, name: str | None, kind: str) -> Served:
        """The model a request names (or the only one of its kind).

        LookupError (404) when there is no such model, or none of the kind;
        ValueError (422) when the request's ``model`` cannot be answered here:
        a model of another kind, or none named among several.
        """
        if name is None:
            of_kind = [s for s in self.served.values() if s.kind == kind]
            if len(of_kind) == 1:
                return of_kind[0]
            if not of_kind:
                raise LookupError(f"this server holds no {kind} model; GET /v1/models lists the models it holds.")
            raise ValueError(f"give the model's name: this server holds {len(of_kind)} {kind} models "
                             f"({', '.join(s.name for s in of_kind)}).")
        item = self.served.get(name)
        if item is None:
            raise LookupError(f"there is no model named {name!r}; GET /v1/models lists them.")
        if item.kind != kind:
            raise ValueError(f"the model {name!r} is a {item.kind} model, not a {kind} model; "
                             f"{ENDPOINTS[item.kind]} answers it.")
        return item

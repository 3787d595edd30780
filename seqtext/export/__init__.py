"""Deploying a model: ONNX export, a torch-free runtime, and the HTTP server.

    onnx.py         ``export(model_dir, out)``: the graphs, task files, config and versions (needs torch)
    labelgraphs.py  the classifier's and the tagger's graphs
    trace.py        the opset and the traced export of one graph
    runtime.py      ``load(export_dir)``: an exported model on numpy + onnxruntime (+ tokenizers)
    textrun.py      OnnxTextModel: complete, stream, next words, score
    charrun.py      an exported character model's completion
    npdecode.py     greedy, temperature, top-k/p and repetition control on numpy
    seriesrun.py    OnnxForecaster: the torch Forecaster's predict / forecast / evaluate on the exported graph
    labelrun.py     OnnxClassifier, OnnxTagger: predict and predict_proba
    registry.py     the models a server holds
    schemas.py      the server's request and response models and limits
    serve.py        the FastAPI application behind ``seqtext serve``
    forecastreq.py  a /v1/forecast request's history, rows and series id as the model reads them

An exported directory holds ``export.json`` (this module's ``MANIFEST``); it is
never a model directory (it has no ``config.json``), so nothing mistakes one
for the other.  This module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = "export.json"
FORMAT = "seqtext-onnx"
EXPORT_VERSION = 1


def is_export(path) -> bool:
    """Whether ``path`` is a directory written by ``seqtext export``."""
    return read_manifest(path) is not None


def read_manifest(path) -> dict | None:
    """The manifest of an exported directory, or None when ``path`` is not one."""
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def model_config(path) -> dict:
    """The exported model's own config.json (its settings), as written at export; refused when missing or
    damaged (without it a model would run on guessed settings)."""
    from seqtext.errors import CheckpointError

    try:
        config = json.loads((Path(path) / "model_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    if not isinstance(config, dict):
        raise CheckpointError(f"{Path(path) / 'model_config.json'} is missing or damaged; export the model again.")
    return config


# kind -> (module, class) whose ``load(path)`` opens a model directory of that kind on torch
TORCH_MODELS = {"text": ("seqtext.text.model", "TextModel"), "series": ("seqtext.series.forecaster", "Forecaster"),
                "classify": ("seqtext.classify.model", "TextClassifier"), "tag": ("seqtext.tag.model", "SequenceTagger")}


def open_model(path, kind: str):
    """A model of ``kind`` from a model directory (torch) or an exported one (onnxruntime, no torch)."""
    from seqtext.modeldir import as_path

    path = as_path(path)  # None or a number: refused as seqtext.load refuses it
    if is_export(path):
        from seqtext.export.runtime import load

        return load(path, kind=kind)
    refuse_damaged(path)
    import importlib

    from seqtext import modeldir

    modeldir.read_config(path)  # a missing or damaged directory is named before torch is imported (or found absent)
    module, name = TORCH_MODELS[kind]
    return getattr(importlib.import_module(module), name).load(path)


def refuse_damaged(path) -> None:
    """Refuse a directory that is no export (``is_export`` said so) but holds an export.json and no config.json:
    a damaged export, which an export to the same place would refuse to replace, not knowing what it holds."""
    if (Path(path) / MANIFEST).is_file() and not (Path(path) / "config.json").is_file():
        from seqtext.errors import CheckpointError

        raise CheckpointError(f"{Path(path) / MANIFEST} is damaged (not the JSON that seqtext export writes); delete "
                              f"{path} and export the model again.")


def check_inputs(session, names, path) -> None:
    """Refuse a graph (an onnxruntime session) whose inputs are not those export.json says the runtime feeds it."""
    from seqtext.errors import CheckpointError

    reads = sorted(i.name for i in session.get_inputs())
    if reads != sorted(names):
        raise CheckpointError(f"{Path(path) / MANIFEST} does not match its graph (the graph reads {', '.join(reads)}, "
                              f"not {', '.join(sorted(names))}); export the model again.")


def model_settings(path, settings_class):
    """The settings of an exported model (its ``model_config.json``), parsed as training wrote them."""
    from seqtext.errors import CheckpointError, SeqtextError

    config = model_config(path)
    try:
        return settings_class.from_dict(config, config.get("format_version"))
    except (KeyError, TypeError, ValueError, SeqtextError) as exc:
        raise CheckpointError(f"{Path(path) / 'model_config.json'} is inconsistent ({exc}); export the model "
                              "again.") from None


def open_text(path):
    """A text model from a model directory (torch) or an exported one (onnxruntime, no torch)."""
    from seqtext.modeldir import as_path

    path = as_path(path)
    if not is_export(path):
        from seqtext import modeldir

        refuse_damaged(path)
        modeldir.read_config(path)  # a mistyped path is named as such, never as a torch that cannot be imported
        import torch

        torch.set_num_threads(1)  # single prompts are latency-bound; threads only add overhead
    return open_model(path, "text")

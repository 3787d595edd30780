"""Deploying a model: ONNX export, a torch-free runtime, and the HTTP server.

    onnx.py      ``export(model_dir, out)``: the graphs, tokenizer / scaler, config and versions (needs torch)
    runtime.py   ``load(export_dir)``: an exported text model on numpy + onnxruntime + tokenizers
    npdecode.py  greedy, temperature, top-k/p and repetition control on numpy
    charrun.py   an exported character model's completion
    serve.py     the FastAPI application behind ``seqtext serve``

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
    """The exported model's own config.json (its settings), as written at export."""
    try:
        return json.loads((Path(path) / "model_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def open_text(path):
    """A text model from a model directory (torch) or an exported one (onnxruntime, no torch)."""
    if is_export(path):
        from seqtext.export.runtime import load

        return load(path, kind="text")
    import torch

    from seqtext.text.model import TextModel

    torch.set_num_threads(1)  # single prompts are latency-bound; threads only add overhead
    return TextModel.load(path)

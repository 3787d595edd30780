"""``export(model_dir, out)``: a model directory as ONNX graphs that run without torch.

Text (``kind: text``)::

    prefix.onnx  ids (B, T) int64, h (L, B, H) [, c (L, B, H) for an LSTM]
                 -> scores (B, T, V), h_out [, c_out]
    step.onnx    token (B,) int64, h [, c] -> scores (B, V), h_out [, c_out]

``scores`` are what ``TextNet`` computes: logits with a full softmax,
log-probabilities with an adaptive one (``export.json`` says which).  The
state starts at zeros.  Series (``kind: series``)::

    forecast.onnx  x (B, W, C) float32 scaled steps [, ids (B,) int64 series indices, -1 unseen]
                   [, ahead (B, horizon, A) float32 scaled known-ahead covariates of the forecast steps]
                   -> forecast (B, horizon) scaled

(``ids`` only for many series with an id embedding; ``ahead`` only for a
network that reads future-known covariates or calendar inputs, its columns
listed in ``export.json``); the runtime scales, windows, rolls out and
un-scales with the torch model's own code.

Classification and tagging: :mod:`seqtext.export.labelgraphs`.

Beside the graphs: the task's files (tokenizer.json, scaler.json, labels.json, vocab.json), the model's
``config.json`` as ``model_config.json``, and ``export.json`` with the opset
and the versions used.  The directory is written beside ``out`` and renamed
into place, so an interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import glob
import os
import json
import shutil
from pathlib import Path

from seqtext.errors import CheckpointError, ConfigError, warn
from seqtext.export import EXPORT_VERSION, FORMAT, MANIFEST, is_export, read_manifest
from seqtext.export.trace import OPSET, run_export
from seqtext.sources import sha256_of

FORMATS = ("onnx",)


def check_out(out) -> Path:
    """Refuse an ``--out`` that exists and is neither empty nor an earlier export, that is a link, that holds the
    current directory (an export replaces its directory whole), or whose parent cannot be a directory."""
    given = Path(out)
    if given.is_symlink():
        raise CheckpointError(f"{given} is a symbolic link (to {os.readlink(given)}); give the directory itself.")
    out, here = Path(os.path.realpath(given)), Path.cwd().resolve()  # where it is, through any link (far/../x)
    if out == here or out in here.parents:
        raise CheckpointError(f"{given} holds the current directory, which an export would replace whole; export to "
                              "it from outside (e.g. --out ../NAME).")
    blocked = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise CheckpointError(f"{blocked} is a file, so {given} cannot be made in it; choose another directory.")
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"{given} is an existing file; choose a new directory for the export.")
    if out.is_dir() and any(out.iterdir()) and not is_export(out):
        raise CheckpointError(f"{given} exists and is not an exported model; choose a new or empty directory.")
    if out.is_dir():  # an earlier export is replaced whole: refused when it holds more than that export wrote
        own = _written(read_manifest(out))
        others = sorted(p.name for p in out.iterdir() if not (p.is_file() and p.name in own))
        if others:
            raise CheckpointError(f"{given} is an earlier export but also holds {', '.join(others[:3])}, which "
                                  "exporting again would delete; move them out, or choose another directory.")
    return out


def _written(manifest: dict) -> set[str]:
    """The files an export wrote: its manifest, the model's config and every file the manifest names (its graphs,
    the tokenizer, the scaler, the labels)."""
    named = [*manifest.get("graphs", {}).values(), *manifest.values()]
    return {MANIFEST, "model_config.json"} | {v for v in named if isinstance(v, str) and Path(v).name == v and
                                               Path(v).suffix in (".json", ".onnx")}


def export(model_dir, out, fmt: str = "onnx") -> Path:
    """Export the model directory ``model_dir`` to ``out`` (a new, empty or earlier export directory)."""
    if fmt not in FORMATS:
        raise ConfigError(f"{{format}} must be one of {', '.join(FORMATS)}, got {fmt!r}.", params=["format"])
    for param, path, what in (("model_dir", model_dir, "the model directory to export"),
                              ("out", out, "the directory to write the export to")):
        if isinstance(path, str) and not path:  # Path("") is the current directory: never what "" meant
            raise ConfigError(f"{{{param}}} is empty; give {what}.", params=[param])
    from seqtext import modeldir

    config = modeldir.read_config(model_dir)  # a clear sentence for anything that is not a model directory
    given, out = Path(out), check_out(out)
    exporter = _exporters().get(config["kind"])
    if exporter is None:
        raise ConfigError(f"a {config['kind']} model cannot be exported; {', '.join(_exporters())} models can.")
    model = modeldir.load(model_dir)
    if not all(bool(p.isfinite().all()) for p in model.net.parameters()):
        raise CheckpointError(f"{model_dir} holds weights that are not all numbers (they went to NaN or infinity in "
                              "training), so its exports could not answer; retrain it, with a lower learning rate.")
    made: list[Path] = []  # the temporary directories made: removed at the end, whatever ends the export
    old = None
    try:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            _clear_stale(out)
            tmp = _temporary(out, made)
        except OSError as exc:  # the export is written beside --out first: name that directory, not the temporary
            raise CheckpointError(f"cannot write in {out.parent} ({exc.strerror or exc}); make {{out}} a path in a "
                                  "directory you can write to.", params=["out"]) from None
        manifest = exporter(model, tmp)
        for name in model.task.files:  # tokenizer.json / scaler.json: never config.json, so this is no model dir
            shutil.copyfile(Path(model_dir) / name, tmp / name)
        shutil.copyfile(Path(model_dir) / modeldir.CONFIG, tmp / "model_config.json")
        manifest.update(format=FORMAT, export_version=EXPORT_VERSION, kind=config["kind"], opset=OPSET,
                        versions=_versions(), source=str(model_dir),
                        sizes={f.name: f.stat().st_size for f in sorted(tmp.iterdir()) if f.is_file()},
                        sha256={f.name: sha256_of(f) for f in sorted(tmp.iterdir()) if f.is_file()})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o755)
        if out.exists():  # the earlier export moved aside, the new one in its place, then the old one removed
            old = _temporary(out, made)
            out.rename(old / out.name)
        tmp.rename(out)
    finally:
        if old is not None and (old / out.name).exists() and not out.exists():  # stopped between the two renames:
            (old / out.name).rename(out)  # the earlier export goes back
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
    return given


def _temporary(out: Path, made: list[Path]) -> Path:
    """A new directory beside ``out`` (named as :func:`_clear_stale` knows), added to ``made`` before it is made,
    so that a SIGTERM or Ctrl-C the moment it appears still finds it to remove."""
    import secrets

    while True:
        path = out.parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
        made.append(path)
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:  # another export's: not ours to remove
            made.pop()


def _clear_stale(out: Path, age: float = 3600.0) -> None:
    """Remove what an export to ``out`` killed mid-way left beside it (its temporary directories, untouched for an
    hour: a running export's own is younger)."""
    import time

    for tmp in out.parent.glob(f".{glob.escape(out.name)}.*.tmp"):
        try:
            if tmp.is_dir() and time.time() - tmp.stat().st_mtime > age:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


def _exporters() -> dict:
    """kind -> the function that writes its graphs into a directory and returns their manifest entries."""
    from seqtext.export.labelgraphs import export_classify, export_tag

    return {"text": _export_text, "series": _export_series, "classify": export_classify, "tag": export_tag}


def _versions() -> dict:
    import numpy
    import onnx
    import onnxruntime
    import torch

    from seqtext import __version__

    return {"seqtext": __version__, "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": numpy.__version__}


def _text_graph(net, step: bool):
    """A module whose forward is the whole text network over ids (B, T), or over one token (B,)."""
    import torch
    import torch.nn.functional as F

    lstm = net.core.config.cell == "lstm"

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, ids, h, c=None):
            x = ids.unsqueeze(1) if step else ids  # (B, T)
            out, hidden = self.net.core(self.net.embed(x), (h, c) if lstm else h)  # (B, T, H)
            feats = self.net.features(out)
            if self.net.adaptive:
                scores = self.net.head.log_prob(feats.flatten(0, 1)).view(feats.shape[0], feats.shape[1], -1)
            else:
                scores = F.linear(feats, self.net.head.weight, self.net.head.bias)  # (B, T, V)
            scores = scores[:, 0] if step else scores
            return (scores, *hidden) if lstm else (scores, hidden)

    return Graph().eval()


def _export_text(model, out: Path) -> dict:
    import torch

    net = model.net.eval()
    core = net.core.config
    if core.bidirectional:
        raise ConfigError("a bidirectional language model cannot generate text; it is not exported.")
    lstm = core.cell == "lstm"
    state = ["h", "c"] if lstm else ["h"]
    h = torch.zeros(core.layers, 2, core.hidden)
    states = (h, h.clone()) if lstm else (h,)
    state_axes = {name: {1: "batch"} for name in state + [f"{s}_out" for s in state]}
    outputs = ["scores"] + [f"{s}_out" for s in state]
    ids = torch.zeros(2, 3, dtype=torch.long)
    run_export(_text_graph(net, step=False), (ids, *states), out / "prefix.onnx", ["ids", *state], outputs,
                {"ids": {0: "batch", 1: "time"}, "scores": {0: "batch", 1: "time"}, **state_axes})
    run_export(_text_graph(net, step=True), (ids[:, 0], *states), out / "step.onnx", ["token", *state], outputs,
                {"token": {0: "batch"}, "scores": {0: "batch"}, **state_axes})
    text = model.settings.text
    return {"graphs": {"prefix": "prefix.onnx", "step": "step.onnx"}, "state": state,
            "scores": "logprobs" if net.adaptive else "logits", "cell": core.cell, "layers": core.layers,
            "hidden": core.hidden, "vocab_size": net.embed.num_embeddings, "pad_id": net.pad_id,
            "stream_mode": text.mode == "stream", "tokenizer": "tokenizer.json"}


def _export_series(model, out: Path) -> dict:
    import torch

    net = model.net.eval()
    series = model.settings.series
    if model.task.intervals is None and series.calibrate:  # interrupted: a resume would calibrate them
        warn("the model's intervals are not calibrated yet (its training, or their calibration, was interrupted), "
             "so its export forecasts without them; resume the model directory with {seqtext.Forecaster.resume} "
             "and export it again to have them.", params=["seqtext.Forecaster.resume"])
    embed = net.embed is not None  # many series with a learnt vector per series id: the graph takes ids too
    cols = model.task.ahead_columns  # the known-ahead covariates: the graph takes their horizon rows too
    x = torch.zeros(2, series.window, model.task.inputs)
    args = {"x": x, "ids": torch.tensor([0, -1]),  # a known and an unseen series
            "ahead": torch.zeros(2, series.horizon, len(cols))}
    names = ["x"] + (["ids"] if embed else []) + (["ahead"] if cols else [])

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x, *rest):
            given = dict(zip(names[1:], rest))
            return self.net(x, ids=given.get("ids"), ahead=given.get("ahead"))[0]

    dynamic = {name: {0: "batch"} for name in names + ["forecast"]}
    run_export(Graph().eval(), tuple(args[n] for n in names), out / "forecast.onnx", names, ["forecast"], dynamic)
    manifest = {"graphs": {"forecast": "forecast.onnx"}, "window": series.window, "horizon": series.horizon,
                "inputs": model.task.inputs, "ids": embed, "scaler": "scaler.json"}
    return {**manifest, "ahead": cols} if cols else manifest

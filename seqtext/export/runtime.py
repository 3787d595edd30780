"""Running an exported directory without torch: numpy, onnxruntime and tokenizers only.

``load(path)`` reads ``export.json`` and returns an :class:`~seqtext.export.textrun.OnnxTextModel`
(complete, stream, next_words, score, as ``TextModel``) or an
:class:`~seqtext.export.seriesrun.OnnxForecaster` (predict, forecast, evaluate, as ``Forecaster``),
:class:`~seqtext.export.labelrun.OnnxClassifier` or :class:`~seqtext.export.labelrun.OnnxTagger`
(predict, predict_proba).
:class:`OnnxTextNet` is the network: the prefix graph read in windows with
the state carried, and over one token a step.  Sessions are thread-safe, so one
loaded model serves concurrent requests.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from seqtext.errors import CheckpointError, counted, first_line, whole_number
from seqtext.export import EXPORT_VERSION, MANIFEST, check_inputs, read_manifest
from seqtext.sources import sha256_of

WINDOW = 512  # tokens read by one call of the prefix graph; longer inputs carry the state across calls
# kind -> (module, class) of its runtime, and its one graph; the class takes (path, manifest, session)
RUNTIMES = {"series": ("seqtext.export.seriesrun", "OnnxForecaster", "forecast"),
            "classify": ("seqtext.export.labelrun", "OnnxClassifier", "classify"),
            "tag": ("seqtext.export.labelrun", "OnnxTagger", "tag")}


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # basic: constant folding and redundant nodes.  The extended and layout optimisations change nothing in
    # these recurrent graphs (outputs bitwise equal, the same time per call) and cost 15 ms of every start.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph / NoSuchFile
        raise CheckpointError(f"{path} is not a readable ONNX graph ({first_line(exc)}); export the model again.") \
            from None


class OnnxTextNet:
    """The exported text network: ``read(ids, state)`` over (B, T) ids and ``step(tokens, state)``."""

    def __init__(self, path: Path, manifest: dict, threads: int = 1):
        # One session: a step is the prefix graph over one column, bitwise what step.onnx computes and as fast
        # (tests/test_export.py), so step.onnx (kept for other callers) is not loaded: half the start-up.
        self.prefix = _session(path / manifest["graphs"]["prefix"], threads)
        self.state_names = list(manifest["state"])
        self.layers, self.hidden = int(manifest["layers"]), int(manifest["hidden"])
        self.pad_id = int(manifest["pad_id"])
        self.logprobs = manifest["scores"] == "logprobs"  # adaptive softmax: the scores are log-probabilities
        check_inputs(self.prefix, ["ids", *self.state_names], path)
        for graph_input in self.prefix.get_inputs():  # each state (layers, batch, hidden), its sizes fixed
            if graph_input.name == "ids":
                continue
            layers, _, hidden = graph_input.shape
            if (layers, hidden) != (self.layers, self.hidden):
                raise CheckpointError(f"{path / MANIFEST} does not match its graph (a state of {layers} x {hidden}, "
                                      f"not {self.layers} x {self.hidden}); export the model again.")

    def zeros(self, batch: int) -> list[np.ndarray]:
        return [np.zeros((self.layers, batch, self.hidden), dtype=np.float32) for _ in self.state_names]

    def _run(self, session, first: str, x: np.ndarray, state):
        feeds = {first: x, **dict(zip(self.state_names, state))}
        scores, *state = session.run(None, feeds)
        return scores, state

    def read(self, ids: np.ndarray, state=None, last_only: bool = False):
        """ids (B, T) -> (scores (B, T, V), or (B, V) with ``last_only``; the state after the last column)."""
        ids = np.asarray(ids, dtype=np.int64)
        state = self.zeros(ids.shape[0]) if state is None else state
        pieces = []
        for t in range(0, ids.shape[1], WINDOW):
            scores, state = self._run(self.prefix, "ids", np.ascontiguousarray(ids[:, t:t + WINDOW]), state)
            pieces.append(scores[:, -1] if last_only else scores)
        return (pieces[-1] if last_only else np.concatenate(pieces, axis=1)), state

    def step(self, tokens, state):
        """tokens (B,) -> (scores (B, V), state)."""
        scores, state = self._run(self.prefix, "ids", np.asarray(tokens, dtype=np.int64)[:, None], state)
        return scores[:, 0], state

    def log_probs(self, scores: np.ndarray) -> np.ndarray:
        from seqtext.export.npdecode import log_softmax

        return scores if self.logprobs else log_softmax(scores)


def load(path, kind: str | None = None, threads: int = 1):
    """Open an exported directory (``seqtext export``) without torch; ``threads`` 0 lets onnxruntime choose."""
    from seqtext.modeldir import as_path

    threads = whole_number("threads", threads, minimum=0)
    path = as_path(path)  # None or a number: refused as a path would be by seqtext.load
    if not path.is_dir():
        raise CheckpointError(f"the exported model {path} does not exist; export one with `seqtext export`.")
    manifest = read_manifest(path)
    if manifest is None:
        raise CheckpointError(f"{path} is not an exported model (export.json is missing or damaged); "
                              "export it again with `seqtext export`.")
    try:
        if int(manifest.get("export_version", 0)) > EXPORT_VERSION:
            raise CheckpointError(f"{path} was exported by a newer seqtext; upgrade seqtext.")
        if kind is not None and manifest.get("kind") != kind:
            from seqtext.modeldir import wrong_kind

            raise wrong_kind(path, manifest.get("kind"), kind, exported=True)  # as a model directory names it
        _check_files(path, manifest)
        return _open(path, manifest, threads)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:  # a field missing or of a wrong type
        what = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else first_line(exc)
        raise CheckpointError(f"{path / MANIFEST} or the model_config.json beside it is damaged ({what}); export the "
                              "model again.") from None


def _check_files(path: Path, manifest: dict) -> None:
    """The files export.json names: plain names (never a path out of the directory), each present."""
    graphs = manifest.get("graphs")
    named = list(graphs.values()) if isinstance(graphs, dict) else [graphs]
    named += [manifest[k] for k in ("tokenizer", "labels_file", "vocab", "scaler") if k in manifest]
    for name in named:
        if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
            raise CheckpointError(f"{path / MANIFEST} is damaged (it names {name!r} as one of its files); export the "
                                  "model again.")
        if not (path / name).is_file():
            raise CheckpointError(f"{path} is missing {name}; export the model again.")
    sizes = manifest.get("sizes", {})  # exports since sizes were recorded: a truncated or rewritten file shows
    for name, size in sizes.items() if isinstance(sizes, dict) else ():
        file = path / Path(str(name)).name
        if not isinstance(size, int) or isinstance(size, bool):
            raise CheckpointError(f"{path / MANIFEST} is damaged (the size of {name} is {size!r}); export the model "
                                  "again.")
        if file.is_file() and file.stat().st_size != size:
            raise CheckpointError(f"{file} is damaged ({counted(file.stat().st_size, 'byte')}, not the {size} "
                                  "export wrote); export the model again.")
    digests = manifest.get("sha256", {})  # exports since digests were recorded: a byte changed in place shows too
    for name, digest in digests.items() if isinstance(digests, dict) else ():
        file = path / Path(str(name)).name
        if file.is_file() and sha256_of(file) != digest:
            raise CheckpointError(f"{file} is damaged (its content is not what export wrote); export the model "
                                  "again.")


def _open(path: Path, manifest: dict, threads: int):
    kind = manifest.get("kind")
    if kind == "text":
        from seqtext.export import model_config
        from seqtext.export.charrun import OnnxCharTextModel
        from seqtext.export.textrun import OnnxTextModel

        chars = model_config(path).get("text", {}).get("tokenizer") == "char"
        return (OnnxCharTextModel if chars else OnnxTextModel)(path, manifest, OnnxTextNet(path, manifest, threads))
    if kind not in RUNTIMES:
        raise CheckpointError(f"{path} holds a {kind} model, which this seqtext cannot run; upgrade seqtext.")
    module, name, graph = RUNTIMES[kind]
    session = _session(path / manifest["graphs"][graph], threads)
    return getattr(importlib.import_module(module), name)(path, manifest, session)


"""One traced ONNX export: the opset, and torch's TorchScript exporter called the same way for every graph."""

from __future__ import annotations

import warnings
from pathlib import Path

OPSET = 17


def run_export(module, args, path: Path, inputs: list[str], outputs: list[str], dynamic: dict) -> None:
    """Trace ``module(*args)`` into the ONNX file ``path`` (inputs and outputs named, ``dynamic`` axes free)."""
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and RNN batch-size notes
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic, do_constant_folding=True)

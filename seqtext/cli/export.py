"""``seqtext export``: a model directory as ONNX graphs that run without torch."""

from __future__ import annotations

import sys

import click

from seqtext.cli.common import echo_json, handle_errors, note


@click.command()
@click.argument("model_dir", metavar="MODEL_DIR")
@click.option("--format", "fmt", default="onnx", show_default=True, metavar="FORMAT",
              help="Export format (onnx).")
@click.option("--out", required=True, metavar="DIR", help="Directory to write (new, empty, or an earlier export).")
@click.option("--json", "as_json", is_flag=True, help="Print the export's manifest as JSON.")
@handle_errors(flags={"fmt": "--format", "format": "--format", "out": "--out", "model_dir": "MODEL_DIR"})
def export(model_dir, fmt, out, as_json):
    """Write MODEL_DIR (text, series, classify or tag) as ONNX graphs with its tokenizer, scaler, labels or
    vocabulary, to run with onnxruntime alone.

    \b
      seqtext export runs/pronouns --out exported/pronouns
      seqtext complete --model exported/pronouns "Mary rides the bicycle, the bicycle is ___"
      seqtext forecast predict --model exported/airline --steps 24
    """
    import signal

    from seqtext.export import read_manifest
    from seqtext.export.onnx import export as run_export

    # SIGTERM (a job runner stopping it) as an exit Python unwinds, so the half-written export is removed as on Ctrl-C
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    path = run_export(model_dir, out, fmt)
    manifest = read_manifest(path)
    if as_json:
        echo_json(manifest)
        return
    graphs = ", ".join(manifest["graphs"].values())
    note(f"exported the {manifest['kind']} model {model_dir} to {path} ({graphs}; ONNX opset {manifest['opset']})")

"""Text classification (many-to-one): ``TextClassifier``, trained through the shared session.

``TextClassifier`` is imported lazily, so the torch-free modules of this package (``data``) serve the exported
runtime without importing torch.
"""

from __future__ import annotations

import importlib

__all__ = ["TextClassifier"]


def __getattr__(name: str):
    if name != "TextClassifier":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("seqtext.classify.model"), name)

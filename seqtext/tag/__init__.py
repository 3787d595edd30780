"""Sequence tagging (many-to-many): ``SequenceTagger``, trained through the shared session.

``SequenceTagger`` is imported lazily, so the torch-free modules of this package (``data``, ``vocab``) serve the exported
runtime without importing torch.
"""

from __future__ import annotations

import importlib

__all__ = ["SequenceTagger"]


def __getattr__(name: str):
    if name != "SequenceTagger":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("seqtext.tag.model"), name)

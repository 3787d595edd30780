"""Sequence tagging (many-to-many): ``SequenceTagger``, trained through the shared session."""

from seqtext.tag.model import SequenceTagger

__all__ = ["SequenceTagger"]

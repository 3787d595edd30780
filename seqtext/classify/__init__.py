"""Text classification (many-to-one): ``TextClassifier``, trained through the shared session."""

from seqtext.classify.model import TextClassifier

__all__ = ["TextClassifier"]

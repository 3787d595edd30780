"""Errors seqtext raises on purpose.

Every error a user can cause is a :class:`SeqtextError` whose message is one
sentence saying what was wrong and what to do.  The CLI turns these into a
clean message and a non-zero exit; library users can catch them by class.
"""

from __future__ import annotations


class SeqtextError(Exception):
    """Base class for every error seqtext raises on purpose."""


class DataError(SeqtextError, ValueError):
    """A corpus, prompt, table or series that cannot be used as given."""


class ConfigError(SeqtextError, ValueError):
    """An option or configuration value outside its allowed range."""


class CheckpointError(SeqtextError):
    """A model directory that is missing, incomplete, corrupted or incompatible."""

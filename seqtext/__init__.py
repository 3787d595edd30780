"""seqtext: sequence modelling with recurrent networks.

One recurrent core (``nn.RNN``, GRU or LSTM), one training session and one
model-directory format shared by every task: next-word text completion
(``seqtext.text``), numeric-series forecasting (``seqtext.series``), text
classification (``seqtext.classify``) and sequence tagging (``seqtext.tag``).

    >>> from seqtext import TextModel, load
    >>> model = TextModel(epochs=5).fit(["Mary rides the bicycle, the bicycle is hers."])

The public names are imported lazily so that ``import seqtext`` (and
``seqtext --help``) does not pay for importing torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "TextModel": "seqtext.text.model",
    "Completion": "seqtext.text.prompts",
    "Forecaster": "seqtext.series.forecaster",
    "TextClassifier": "seqtext.classify.model",
    "SequenceTagger": "seqtext.tag.model",
    "load": "seqtext.modeldir",
    "Model": "seqtext.model",
    "Task": "seqtext.model",
    "Session": "seqtext.session",
    "TrainingInterrupted": "seqtext.session",
    "CoreConfig": "seqtext.config",
    "TextConfig": "seqtext.config",
    "TrainConfig": "seqtext.config",
    "SeriesConfig": "seqtext.config",
    "TextSettings": "seqtext.config",
    "SeriesSettings": "seqtext.config",
    "ClassifySettings": "seqtext.labelconfig",
    "TagSettings": "seqtext.labelconfig",
    "RecurrentCore": "seqtext.core",
    "SeqtextError": "seqtext.errors",
    "DataError": "seqtext.errors",
    "ConfigError": "seqtext.errors",
    "CheckpointError": "seqtext.errors",
    "SeqtextWarning": "seqtext.errors",
    "shipped": "seqtext.bundled",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqtext' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

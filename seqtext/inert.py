"""Options set to something a training cannot use: warned of when it starts, by name.

A value equal to the option's default is never warned of (it was not asked
for); one that differs, but that the rest of the settings make inert, is:
``--dropout 0.5`` with one layer, ``--nonlinearity relu`` with an LSTM,
``--bptt 70`` on a model of separate sentences, ``--average-from 9`` in a
5-epoch run, a warm-up longer than the whole training, ``--unfreeze`` without
``--init-from``, ``--locked-dropout`` with no dropout to lock.
"""

from __future__ import annotations

import dataclasses

from seqtext.errors import warn


def _changed(section, name: str) -> bool:
    """Whether ``section.name`` differs from its default (in this task's variant of the section)."""
    field = next((f for f in dataclasses.fields(section) if f.name == name), None)
    if field is None:
        return False
    default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return getattr(section, name) != default


def warn_inert(settings, steps_per_epoch: int | None = None) -> None:
    """Warn of each option of ``settings`` (resolved: a text model's mode is known) that cannot change the run."""
    core, train = getattr(settings, "core", None), settings.train
    if core is not None:
        if _changed(core, "dropout") and core.dropout and core.layers == 1:
            warn(f"{{dropout}} {core.dropout:g} changes nothing here: it drops between stacked layers, and there is "
                 "one; stack more with {layers}, or leave it out.", params=["dropout", "layers"])
        if _changed(core, "nonlinearity") and core.cell != "rnn":
            warn(f"{{nonlinearity}} {core.nonlinearity} is the plain rnn cell's; the {core.cell} cell has its own "
                 "gates, so it changes nothing; leave it out, or use {cell} rnn.", params=["nonlinearity", "cell"])
    if train.average_from and train.average_from > train.epochs:
        warn(f"{{average_from}} {train.average_from} comes after the last epoch ({train.epochs}), so no weights are "
             "averaged; lower it, or raise {epochs}.", params=["average_from", "epochs"])
    if train.warmup and steps_per_epoch and train.warmup > train.epochs * steps_per_epoch:
        warn(f"the warm-up of {train.warmup} steps outlasts the whole training ({train.epochs * steps_per_epoch} "
             "steps), so the learning rate never reaches {lr}; lower {warmup}.", params=["lr", "warmup"])
    text = getattr(settings, "text", None)
    if text is not None:
        if _changed(text, "bptt") and text.mode == "sentence":
            warn(f"{{bptt}} {text.bptt} is for running text ({{mode}} stream); a model of separate sentences reads "
                 "each line whole, so it changes nothing.", params=["bptt", "mode"])
        if _changed(text, "split_punctuation") and text.tokenizer == "char":
            warn("{split_punctuation} is for word and BPE vocabularies; a character model reads every character "
                 "apart, so it changes nothing; leave it out.", params=["split_punctuation"])
        if text.locked_dropout and not (text.embed_dropout or text.output_dropout):
            warn("{locked_dropout} locks the masks of the embedding and output dropout, and both are 0; give "
                 "{embed_dropout} or {output_dropout}.", params=["locked_dropout", "embed_dropout", "output_dropout"])
    for section in (getattr(settings, "classify", None), getattr(settings, "tag", None)):
        if section is not None and section.unfreeze and not section.init_from:
            warn(f"{{unfreeze}} {section.unfreeze} unfreezes the weights taken from a language model, and there are "
                 "none without {init_from}; give it, or leave {unfreeze} out.", params=["unfreeze", "init_from"])

"""Transfer from a seqtext language model (``init_from``), and ULMFiT-style gradual unfreezing.

Shared by the labelling tasks: the classifier and the tagger take the
language model's cell, sizes and layers (and the classifier its word
splitting), so their word embedding and the forward direction of their core
start from the language model's weights:

- each word of the task's vocabulary that the language model knows starts
  from its embedding row.  Words are matched after the language model's own
  normalisation (NFKC, lower-cased): the classifier's words are normalised so
  already; the tagger's word vocabulary is lower-cased too (its character
  features read the case), so ``Apple`` and ``apple`` both start from the
  language model's ``apple``.  The other words start from random rows of the
  same scale (the language model's mean and spread per dimension), so they
  neither drown the known words nor vanish beside them;
- the forward direction of every layer takes the language model's weights.
  Where a layer reads more than the language model's did, the columns of
  what it never read start at zero, so the forward stack computes exactly
  what the language model computed: in a bidirectional stack layer 2 and up
  read both directions of the layer below (the backward direction's columns
  are zero), and the tagger's first layer reads its character features after
  the word embedding (their columns are zero);
- the backward direction starts fresh (the language model only ever read
  forwards), as do the tagger's character features; they and the head are
  trained from the first epoch even while gradual unfreezing holds the
  transferred weights (the zero columns included: they belong to a held
  matrix).
"""

from __future__ import annotations

from pathlib import Path

import torch

from seqtext import modeldir
from seqtext.errors import ConfigError, warn

ADOPTED = ("embed", "split_punctuation")  # a task's options taken from the language model's text section


def open_language_model(path, settings, section):
    """The language model in ``path`` (a TextModel), with ``settings`` adjusted to its core and, in the task's
    ``section``, to its embedding and word splitting (call it before the task's vocabulary is built)."""
    config = modeldir.read_config(Path(path))
    if config.get("kind") != "text":
        raise ConfigError(f"{path} holds a {config.get('kind')} model, not a text model; {{init_from}} takes a "
                          "language model (a text model's directory).", params=["init_from"])
    lm = modeldir.load(path)
    if lm.settings.text.tokenizer != "word":
        vocabulary = {"bpe": "BPE", "char": "character"}.get(lm.settings.text.tokenizer, lm.settings.text.tokenizer)
        raise ConfigError(f"{path} has a {vocabulary} vocabulary; {{init_from}} maps words, so give a word-level "
                          "language model.", params=["init_from"])
    defaults = type(settings).defaults()
    adopted = [(settings.core, name, lm.settings.core) for name in ("cell", "hidden", "layers", "nonlinearity")]
    adopted += [(section, name, lm.settings.text) for name in ADOPTED if hasattr(section, name)]
    for place, name, source in adopted:
        asked, theirs = getattr(place, name), getattr(source, name)
        if asked != theirs and asked != defaults.get(name, asked):  # set to something else: said, not dropped
            warn(f"{{{name}}} {_shown(asked)} is replaced by the language model's {_shown(theirs)} ({{init_from}} "
                 "takes its cell, sizes and word splitting); drop it or start without {init_from}.",
                 params=[name, "init_from"])
        setattr(place, name, theirs)
    settings.validate()
    return lm


def _shown(value) -> str:
    return {True: "on", False: "off"}.get(value, str(value)) if isinstance(value, bool) else str(value)


@torch.no_grad()
def copy_language_model(net, vocab: dict[str, int], pad_id: int, lm) -> dict:
    """Copy the mapped rows into ``net.embed`` (``vocab``: the task's word -> row) and the forward weights into
    ``net.core``; returns counts (for the record)."""
    return {"words_mapped": copy_embedding(net.embed.weight, vocab, pad_id, lm),
            "core_tensors": copy_core(net.core.rnn, lm.net.core.rnn)}


def copy_embedding(target: torch.Tensor, vocab: dict[str, int], pad_id: int, lm) -> int:
    """Rows of the language model's embedding for the words it knows, random rows at its scale for the others;
    returns how many words were mapped."""
    normalizer = lm.tokenizer.normalizer
    spell = normalizer.normalize_str if normalizer is not None else str
    lm_vocab = lm.tokenizer.get_vocab()
    source = lm.net.embed.weight  # (V_lm, E)
    mean, std = source[1:].mean(0), source[1:].std(0)  # (E,) each, the padding row left out
    target.copy_(mean + std * torch.randn(target.shape))  # (V, E)
    mapped = 0
    for word, index in vocab.items():
        other = lm_vocab.get(spell(word))
        if other is not None and index != pad_id:
            target[index] = source[other]
            mapped += 1
    target[pad_id].zero_()
    return mapped


def copy_core(rnn, lm_rnn) -> int:
    """The language model's weights into the forward direction of ``rnn`` (extra input columns at zero);
    returns how many tensors were copied."""
    lm_core = dict(lm_rnn.named_parameters())
    copied = 0
    for name, param in rnn.named_parameters():
        theirs = lm_core.get(name)  # forward direction only: "_reverse" names are not in a language model
        if theirs is None:
            continue
        if theirs.shape == param.shape:
            param.copy_(theirs)
        elif name.startswith("weight_ih") and param.shape[0] == theirs.shape[0] and param.shape[1] > theirs.shape[1]:
            param.zero_()  # reads more than the language model's layer read: the other direction, characters
            param[:, :theirs.shape[1]] = theirs
        else:
            continue
        copied += 1
    return copied


def unfreeze_for(net, epoch: int, head_epochs: int) -> None:
    """Gradual unfreezing of the transferred weights: the head (and what is new: the backward direction, the
    tagger's character features) alone for ``head_epochs`` epochs, then one more core layer each epoch from the
    top, then the embedding."""
    layers = net.core.config.layers
    open_layers = max(0, epoch - head_epochs)  # core layers trainable this epoch, counted from the top
    for name, param in net.named_parameters():
        if name.startswith("core.") and not name.endswith("_reverse"):
            layer = int(name.split("_l")[-1].split("_")[0])
            param.requires_grad_(layer >= layers - open_layers)
        elif name.startswith("embed."):
            param.requires_grad_(open_layers > layers)
        else:
            param.requires_grad_(True)


class StartsFromLanguageModel:
    """A labelling task's ``init_from`` steps: open the language model while preparing (before the vocabulary is
    built), start the network from it when it is built, and unfreeze gradually by epoch.  The task keeps
    ``language_model`` (between prepare and build) and ``transfer`` (what was copied, for config.json: written by
    :meth:`transfer_record`, read back by :meth:`read_transfer`)."""

    def __init__(self, settings):
        super().__init__(settings)
        self.language_model = None
        self.transfer: dict = {}

    def transfer_record(self) -> dict:
        """The ``transfer`` entry of config.json, when init_from copied anything."""
        return {"transfer": self.transfer} if self.transfer else {}

    def read_transfer(self, config: dict) -> None:
        self.transfer = config.get("transfer") or {}

    def open_start(self, section) -> None:
        if section.init_from:
            self.language_model = open_language_model(section.init_from, self.settings, section)

    def copy_start(self, net, vocab: dict[str, int], pad_id: int) -> None:
        if self.language_model is not None:  # a fresh training with init_from
            self.transfer = copy_language_model(net, vocab, pad_id, self.language_model)
            self.language_model = None

    @property
    def freezes(self) -> bool:
        """Whether training holds parts of the network frozen for a while (DDP then looks for unused weights)."""
        section = getattr(self.settings, self.kind)  # settings.classify, settings.tag
        return bool(section.init_from and section.unfreeze)

    def unfreeze(self, net, epoch: int, section) -> None:
        if section.init_from and section.unfreeze:
            unfreeze_for(net, epoch, section.unfreeze)

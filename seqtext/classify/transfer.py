"""Transfer from a seqtext language model (``init_from``), and ULMFiT-style gradual unfreezing.

The classifier takes the language model's cell, sizes, layers and word
splitting, so its embedding and the forward direction of its core start
from the language model's weights:

- each word of the classifier's vocabulary that the language model knows
  (by spelling, both lower-cased) starts from its embedding row; the other
  words start from random rows of the same scale (the language model's mean
  and spread per dimension), so they neither drown the known words nor
  vanish beside them;
- the forward direction of every layer takes the language model's weights.
  In a bidirectional stack, layer 2 and up read both directions of the layer
  below: the columns that read the forward direction are the language
  model's, those that read the backward direction start at zero, so the
  forward stack computes exactly what the language model computed;
- the backward direction starts fresh (the language model only ever read
  forwards), and is trained from the first epoch even while gradual
  unfreezing holds the transferred weights.
"""

from __future__ import annotations

import torch

from seqtext import modeldir
from seqtext.errors import ConfigError


def open_language_model(path, settings):
    """The language model in ``path`` (a TextModel), with ``settings`` adjusted to its embedding, core and word
    splitting (call it before the classifier's tokenizer is trained)."""
    from pathlib import Path

    config = modeldir.read_config(Path(path))
    if config.get("kind") != "text":
        raise ConfigError(f"{path} holds a {config.get('kind')} model, not a text model; {{init_from}} takes a "
                          "language model trained with seqtext train.", params=["init_from"])
    lm = modeldir.load(path)
    if lm.settings.text.tokenizer != "word":
        vocabulary = {"bpe": "BPE", "char": "character"}.get(lm.settings.text.tokenizer, lm.settings.text.tokenizer)
        raise ConfigError(f"{path} has a {vocabulary} vocabulary; {{init_from}} maps words, so give a word-level "
                          "language model.", params=["init_from"])
    core = settings.core
    for name in ("cell", "hidden", "layers", "nonlinearity"):
        setattr(core, name, getattr(lm.settings.core, name))
    settings.classify.embed = lm.settings.text.embed
    settings.classify.split_punctuation = lm.settings.text.split_punctuation  # words split as it split them
    settings.validate()
    return lm


@torch.no_grad()
def copy_language_model(net, tokenizer, lm) -> dict:
    """Copy the mapped embedding rows and the core's forward weights; returns counts (for the record)."""
    lm_vocab = lm.tokenizer.get_vocab()
    source = lm.net.embed.weight  # (V_lm, E)
    mean, std = source[1:].mean(0), source[1:].std(0)  # (E,) each, the padding row left out
    target = net.embed.weight  # (V, E)
    target.copy_(mean + std * torch.randn(target.shape))
    mapped = 0
    for word, index in tokenizer.get_vocab().items():
        other = lm_vocab.get(word)
        if other is not None and index != net.pad_id:
            target[index] = source[other]
            mapped += 1
    target[net.pad_id].zero_()
    lm_core = dict(lm.net.core.rnn.named_parameters())
    copied = 0
    for name, param in net.core.rnn.named_parameters():
        theirs = lm_core.get(name)  # forward direction only: "_reverse" names are not in a language model
        if theirs is None:
            continue
        if theirs.shape == param.shape:
            param.copy_(theirs)
        elif name.startswith("weight_ih") and param.shape[1] == 2 * theirs.shape[1]:  # reads both directions
            param.zero_()
            param[:, :theirs.shape[1]] = theirs
        else:
            continue
        copied += 1
    return {"words_mapped": mapped, "core_tensors": copied}


def unfreeze_for(net, epoch: int, head_epochs: int) -> None:
    """Gradual unfreezing of the transferred weights: the head (and the fresh backward direction) alone for
    ``head_epochs`` epochs, then one more core layer each epoch from the top, then the embedding."""
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

"""Transfer from a seqtext language model (``init_from``), and ULMFiT-style gradual unfreezing.

The classifier takes the language model's cell, sizes and layers, so its
embedding and the forward direction of its core start from the language
model's weights; each word of the classifier's vocabulary that the language
model knows (by spelling, both lower-cased) starts from its embedding row.
A bidirectional classifier's backward direction starts fresh: the language
model only ever read forwards.
"""

from __future__ import annotations

import torch

from seqtext import modeldir
from seqtext.errors import ConfigError


def open_language_model(path, settings):
    """The language model in ``path`` (a TextModel), with ``settings`` adjusted to its embedding and core."""
    from pathlib import Path

    config = modeldir.read_config(Path(path))
    if config.get("kind") != "text":
        raise ConfigError(f"{path} holds a {config.get('kind')} model, not a text model; {{init_from}} takes a "
                          "language model trained with seqtext train.", params=["init_from"])
    lm = modeldir.load(path)
    if lm.settings.text.tokenizer != "word":
        raise ConfigError(f"{path} has a BPE vocabulary; {{init_from}} maps words, so give a word-level language "
                          "model.", params=["init_from"])
    core = settings.core
    for name in ("cell", "hidden", "layers", "nonlinearity"):
        setattr(core, name, getattr(lm.settings.core, name))
    settings.classify.embed = lm.settings.text.embed
    settings.validate()
    return lm


@torch.no_grad()
def copy_language_model(net, tokenizer, lm) -> dict:
    """Copy the mapped embedding rows and the core's forward weights; returns counts (for the record)."""
    lm_vocab = lm.tokenizer.get_vocab()
    source = lm.net.embed.weight
    mapped = 0
    for word, index in tokenizer.get_vocab().items():
        other = lm_vocab.get(word)
        if other is not None and index != net.pad_id:
            net.embed.weight[index] = source[other]
            mapped += 1
    lm_core = dict(lm.net.core.rnn.named_parameters())
    copied = 0
    for name, param in net.core.rnn.named_parameters():
        if name in lm_core and lm_core[name].shape == param.shape:
            param.copy_(lm_core[name])
            copied += 1
    return {"words_mapped": mapped, "core_tensors": copied}


def unfreeze_for(net, epoch: int, head_epochs: int) -> None:
    """Gradual unfreezing: the head alone for ``head_epochs`` epochs, then one more core layer each epoch
    from the top, then the embedding."""
    layers = net.core.config.layers
    open_layers = max(0, epoch - head_epochs)  # core layers trainable this epoch, counted from the top
    for name, param in net.named_parameters():
        if name.startswith("core."):
            layer = int(name.split("_l")[-1].split("_")[0])
            param.requires_grad_(layer >= layers - open_layers)
        elif name.startswith("embed."):
            param.requires_grad_(open_layers > layers)
        else:
            param.requires_grad_(True)

"""ClassifierNet: a whole text in, one label out (many-to-one).

    ids (B, T) -> Embedding -> RecurrentCore (packed) -> pooling over time -> Linear over the labels

Pooling (``pooling``): ``last`` joins the final state of each direction (the
forward one after the last word, the backward one after the first), ``mean``
and ``max`` pool every step's output inside the text, ``attention`` weighs
the steps by a learnt score.  Padding never reaches any of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqtext.config import CoreConfig
from seqtext.labelconfig import ClassifyConfig
from seqtext.core import RecurrentCore
from seqtext.packing import length_mask, run_packed


class ClassifierNet(nn.Module):
    """Embedding -> RecurrentCore -> pooling -> dropout -> Linear(labels)."""

    # The embedding starts at N(0, 0.1), not nn.Embedding's N(0, 1): the words' rows then move from
    # their first updates on (SST-2 dev: 79.8 % after one epoch, against 67.5 % from N(0, 1), which
    # needed 5 epochs to reach 79.9 %).  scripts/bench_classify.py sets it with embed_std=.
    embed_std: float = 0.1

    def __init__(self, vocab_size: int, labels: int, config: ClassifyConfig, core: CoreConfig, pad_id: int = 0):
        super().__init__()
        self.pad_id, self.pooling = pad_id, config.pooling
        self.embed = nn.Embedding(vocab_size, config.embed, padding_idx=pad_id)
        if self.embed_std != 1.0:
            with torch.no_grad():
                nn.init.normal_(self.embed.weight, std=self.embed_std)
                self.embed.weight[pad_id].zero_()
        self.core = RecurrentCore(core, input_size=config.embed)
        self.embed_dropout = nn.Dropout(config.embed_dropout)
        self.output_dropout = nn.Dropout(config.output_dropout)
        width = self.core.output_size
        self.attend = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False)) \
            if config.pooling == "attention" else None
        self.head = nn.Linear(width, labels)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T) padded, lengths (B,) -> logits (B, labels).  ``shift`` (B, T, E): added to the word vectors
        after their dropout (adversarial training)."""
        emb = self.embed_dropout(self.embed(ids))  # (B, T, E)
        if shift is not None:
            emb = emb + shift
        out, hidden = run_packed(self.core, emb, lengths)  # (B, T, D*H)
        return self.head(self.output_dropout(self.pool(out, hidden, lengths)))

    def pool(self, out: torch.Tensor, hidden, lengths: torch.Tensor) -> torch.Tensor:
        """The text as one vector (B, D*H)."""
        if self.pooling == "last":
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # (L*D, B, H)
            directions = 2 if self.core.config.bidirectional else 1
            return torch.cat(list(h[-directions:]), dim=-1)  # the top layer's final state of each direction
        mask = length_mask(lengths.to(out.device), out.shape[1]).unsqueeze(-1)  # (B, T, 1)
        if self.pooling == "mean":
            return (out * mask).sum(1) / lengths.to(out.device).unsqueeze(-1).to(out.dtype)
        if self.pooling == "max":
            return out.masked_fill(~mask, float("-inf")).max(1).values
        scores = self.attend(out).masked_fill(~mask, float("-inf"))  # (B, T, 1)
        return (torch.softmax(scores, dim=1) * out).sum(1)


def adversarial_loss(runner, ids: torch.Tensor, lengths: torch.Tensor, target: torch.Tensor, share: float,
                     smoothing: float = 0.0) -> torch.Tensor:
    """Adversarial training's loss (Miyato et al. 2017): the batch's cross-entropy plus its cross-entropy with each
    text's word vectors moved by ``share`` times their length along the first one's gradient with respect to them
    (taken at a move of zero: the move that raises the loss most, to first order), with fresh dropout.
    ``runner``: a :class:`ClassifierNet` or its DDP wrapper."""
    net = getattr(runner, "module", runner)
    zero = torch.zeros(*ids.shape, net.embed.embedding_dim, device=ids.device, requires_grad=True)
    loss = F.cross_entropy(runner(ids, lengths, zero), target, label_smoothing=smoothing)
    grad, = torch.autograd.grad(loss, zero, retain_graph=True)
    with torch.no_grad():
        size = net.embed(ids).flatten(1).norm(dim=1).view(-1, 1, 1)
        shift = share * size * grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return loss + F.cross_entropy(runner(ids, lengths, shift), target, label_smoothing=smoothing)

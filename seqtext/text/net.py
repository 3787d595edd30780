"""TextNet: the language model's network.

    ids (B, T) -> Embedding -> RecurrentCore -> [projection] -> Linear or adaptive softmax over the vocabulary
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from seqtext import modeldir
from seqtext.config import CoreConfig, TextConfig
from seqtext.core import Dropout, LockedDropout, RecurrentCore
from seqtext.text.fused import linear_cross_entropy, linear_nll


class TextNet(nn.Module):
    """Embedding -> RecurrentCore -> Linear over the vocabulary."""

    def __init__(self, vocab_size: int, text: TextConfig, core: CoreConfig, pad_id: int = 0):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, text.embed, padding_idx=pad_id)
        self.core = RecurrentCore(core, input_size=text.embed)
        dropout = LockedDropout if text.locked_dropout else Dropout
        self.embed_dropout = dropout(text.embed_dropout)
        self.output_dropout = dropout(text.output_dropout)
        self.tied = text.tie_weights
        # Tied weights with a core wider than the embedding: a linear projection H -> E
        # before the shared (V, E) matrix, so the hidden size can grow without
        # growing the (large) output layer.
        self.project = (nn.Linear(self.core.output_size, text.embed)
                        if self.tied and self.core.output_size != text.embed else None)
        width = text.embed if self.project is not None else self.core.output_size
        self.adaptive = text.softmax == "adaptive"
        if self.adaptive:
            # Grave et al.'s adaptive softmax: the frequent words (ids are ordered by frequency)
            # in a full head, the rare ones in smaller tail clusters behind it.
            self.head = nn.AdaptiveLogSoftmaxWithLoss(width, vocab_size, text.cutoffs, div_value=4.0)
        else:
            self.head = nn.Linear(width, vocab_size)
        if self.tied:
            # The shared matrix is also the output layer: nn.Embedding's N(0, 1) start makes the
            # first logits huge (measured on PTB, a 600-unit core projected to 200: validation
            # perplexity 506 after one epoch, 291 from this start), so it starts small, as in the
            # reference word_language_model.
            with torch.no_grad():
                nn.init.uniform_(self.embed.weight, -0.1, 0.1)
                self.embed.weight[pad_id].zero_()
            self.head.weight = self.embed.weight  # (V, E) shared

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None, hidden=None, last_only=False,
                loss_only=False):
        """x, targets: (B, T) ids -> logits (B, T, V), mean loss over non-pad targets, hidden.

        ``last_only`` computes the head at the last step only (B, 1, V): reading a
        long prompt then costs no T x V memory.  With an adaptive softmax the
        "logits" are log-probabilities, and a call with targets returns None
        for them: its loss never builds the full (B, T, V) distribution.
        ``loss_only`` (training): the logits are not returned (None), so a full
        softmax on a CPU takes its loss and gradients in one pass over the
        vocabulary (``seqtext.text.fused``).
        """
        emb = self.embed_dropout(self.embed(x))  # (B, T, E)
        out, hidden = self.core(emb, hidden)  # (B, T, H)
        if last_only:
            out = out[:, -1:]  # (B, 1, H)
        feats = self.features(out)  # (B, T, E or H)
        if self.adaptive:
            logits, loss = None, None
            if targets is not None:
                keep = targets.flatten() != self.pad_id
                # in float32 under bf16 autocast too: its log-softmaxes would otherwise run in bf16
                with torch.autocast(feats.device.type, enabled=False):
                    loss = self.head(feats.flatten(0, 1)[keep].float(), targets.flatten()[keep]).loss
            else:
                logits = self._distribution(feats.flatten(0, 1)).view(*feats.shape[:2], -1)  # (B, T, V)
            return logits, loss, hidden
        if loss_only and targets is not None:
            return None, linear_cross_entropy(feats, self.head.weight, self.head.bias, targets, self.pad_id), hidden
        logits = self._distribution(feats)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=self.pad_id)
        return logits, loss, hidden

    @torch.no_grad()
    def score_window(self, x: torch.Tensor, targets: torch.Tensor, hidden=None):
        """Evaluation: x, targets (B, T) -> summed negative log-likelihood, top-1 hits, hidden.

        Sums stay on the device (no sync a window).  A full softmax is scored in chunks without
        keeping the (B, T, V) distribution (``seqtext.text.fused.linear_nll``); both heads take
        their softmax in float32 under bf16 autocast.
        """
        emb = self.embed_dropout(self.embed(x))  # (B, T, E)
        out, hidden = self.core(emb, hidden)  # (B, T, H)
        feats = self.features(out)  # (B, T, E or H)
        if not self.adaptive:
            nll, hits = linear_nll(feats, self.head.weight, self.head.bias, targets)
            return nll, hits, hidden
        with torch.autocast(feats.device.type, enabled=False):
            logp = self.head.log_prob(feats.flatten(0, 1).float())  # (B*T, V)
        flat = targets.flatten()
        nll = -logp.gather(1, flat[:, None]).sum()
        return nll, (logp.argmax(-1) == flat).sum(), hidden

    def step(self, tokens: torch.Tensor, hidden=None):
        """Inference, one token per row: tokens (B,) -> (logits (B, V), hidden); as forward, less overhead."""
        feats, hidden = self.advance(tokens, hidden)
        return self._distribution(feats), hidden

    def greedy_step(self, tokens: torch.Tensor, hidden, banned: torch.Tensor):
        """The likeliest next token after each of ``tokens`` (B,), never one of ``banned`` (ids).

        With an adaptive softmax this usually needs the head alone: when the
        best entry of the head is a word of the shortlist, no word of a tail
        cluster can beat it (a tail word's probability is at most its
        cluster's, and the cluster is an entry of the head).  Only otherwise
        is the full distribution computed.  Exactly the argmax of ``step``.
        """
        feats, hidden = self.advance(tokens, hidden)
        if self.adaptive:
            head = self.head.head(feats)  # (B, shortlist + clusters)
            # the banned words of the shortlist; a banned tail word only lowers its cluster's words, so a shortlist
            # word that beats the cluster entry still beats them all
            head.index_fill_(1, banned[banned < self.head.shortlist_size], -math.inf)
            best = head.argmax(-1)
            if bool((best < self.head.shortlist_size).all()):
                return best, hidden
        return self._distribution(feats).index_fill_(1, banned, -math.inf).argmax(-1), hidden

    def advance(self, tokens: torch.Tensor, hidden):
        """One fused core step for tokens (B,): the head's input (B, E or H) and the new hidden state."""
        out, hidden = self.core.step(self.embed.weight[tokens], hidden)
        return self.features(out), hidden

    def read(self, x: torch.Tensor, hidden=None):
        """ids (B, T) -> the head's inputs at every step (B, T, E or H) and the new hidden state."""
        out, hidden = self.core(self.embed_dropout(self.embed(x)), hidden)  # (B, T, H)
        return self.features(out), hidden

    def log_probs(self, feats: torch.Tensor) -> torch.Tensor:
        """Log-probabilities over the vocabulary for the head's inputs: (..., E or H) -> (..., V)."""
        if self.adaptive:
            return self.head.log_prob(feats.reshape(-1, feats.shape[-1])).view(*feats.shape[:-1], -1)
        return torch.log_softmax(self._distribution(feats).float(), dim=-1)

    def _distribution(self, feats: torch.Tensor) -> torch.Tensor:
        """Logits (full softmax) or log-probabilities (adaptive) over the vocabulary, (B, V)."""
        if self.adaptive:
            return self.head.log_prob(feats)
        return F.linear(feats, self.head.weight, self.head.bias)

    def features(self, out: torch.Tensor) -> torch.Tensor:
        """The core's outputs (..., H) as the head reads them (..., E or H)."""
        out = self.output_dropout(out)
        return out if self.project is None else self.project(out)

    def weights(self) -> dict:
        """State dict without the tied duplicate (safetensors stores no shared tensors)."""
        state = self.state_dict()
        if self.tied:
            state.pop("head.weight", None)
        return state

    def load_weights(self, state: dict, where: Path) -> None:
        if self.tied and "embed.weight" in state:
            state = dict(state, **{"head.weight": state["embed.weight"]})
        modeldir.load_state(self, state, where)

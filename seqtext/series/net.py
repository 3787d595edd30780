"""The forecasting network.

``SeriesNet`` is a per-step input projection, the very same
:class:`~seqtext.core.RecurrentCore` as the text model, and one of two heads
(``last``: the final hidden state; ``concat``: the hidden states of every step
concatenated and fed to one Linear layer).  It forecasts ``horizon`` values at
once; :func:`seqtext.series.rollout.rollout` forecasts further by feeding forecasts back in.

With ``n_ahead`` known-ahead inputs (future-known covariates, calendar), the
forecast of step k also reads their values at steps 1..k of the horizon,
through a linear map masked to be causal: the forecast of step k never
depends on the covariates of a later step, so a forecast of fewer steps than
the horizon needs no rows beyond its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqtext.config import CoreConfig, SeriesConfig
from seqtext.core import RecurrentCore


def mape_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of |pred - target| / |target| (B, H) -> (); a zero target weighs nothing, as in N-BEATS' MAPE loss.

    Scale-free only where the scaling keeps zero at zero (SeriesConfig.check asks for scaler mean or none)."""
    size = target.abs()
    weight = torch.where(size > 0, 1.0 / size.clamp(min=torch.finfo(size.dtype).tiny), torch.zeros_like(size))
    return ((pred - target).abs() * weight).mean()


# SeriesConfig.loss -> the training loss on scaled forecasts (B, H) against targets (B, H); outside the exported graph
LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss,
          "huber": lambda pred, target: F.huber_loss(pred, target, delta=1.0), "mape": mape_loss}


class SeriesNet(nn.Module):
    """Linear(in) -> RecurrentCore -> head over a window of scaled steps."""

    def __init__(self, n_inputs: int, series: SeriesConfig, core: CoreConfig, n_ids: int = 0, n_ahead: int = 0):
        super().__init__()
        self.head_kind = series.head
        self.level = series.level
        self.loss_kind = series.loss
        self.directions = 2 if core.bidirectional else 1
        # many series: a learnt vector per series id, joined to every step of its windows
        self.embed = nn.Embedding(n_ids, series.id_embed) if n_ids and series.id_embed else None
        width = n_inputs + (series.id_embed if self.embed is not None else 0)
        self.proj = nn.Linear(width, core.hidden)  # each step projected to the core's width
        self.core = RecurrentCore(core, input_size=core.hidden)
        width = self.core.output_size * (series.window if series.head == "concat" else 1)
        self.head = nn.Linear(width, series.horizon)
        # LSTNet's "highway": a linear autoregression from the window's target values straight to
        # the forecast, so the part of the series that is linear in its past (a seasonal
        # random walk on logs, say) needs no nonlinear detour through the core.
        self.skip = nn.Linear(series.window, series.horizon) if series.skip else None
        # the covariates known for the forecast steps (a planned price, the month): step k reads those of
        # steps 1..k, (H, H*A) weights under a lower-triangular mask; built last, so the initialisation of
        # the layers above is that of a network without them
        H = series.horizon
        self.ahead = nn.Linear(H * n_ahead, H, bias=False) if n_ahead else None
        if n_ahead:
            causal = torch.tril(torch.ones(H, H)).repeat_interleave(n_ahead, dim=1)  # (H, H*A)
            self.register_buffer("ahead_mask", causal, persistent=False)

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None, ids: torch.Tensor | None = None,
                ahead: torch.Tensor | None = None):
        """x: (B, W, C) scaled steps (ids: (B,) series indices, -1 unseen; ahead: (B, H, A) the scaled known-ahead
        covariates of the forecast steps) -> forecast (B, H) in scaled units, the training loss."""
        base = None
        if self.level != "none":
            # read the window relative to its own level and add it back: the net learns changes, so a
            # trend that leaves the training range needs no extrapolation by the core
            target = x[:, :, 0]  # (B, W)
            base = target[:, -1:] if self.level == "last" else target.mean(1, keepdim=True)  # (B, 1)
            x = torch.cat([(target - base).unsqueeze(-1), x[:, :, 1:]], dim=-1)  # (B, W, C)
        if self.embed is not None:
            e = self.id_vectors(ids)  # (B, D)
            x = torch.cat([x, e.unsqueeze(1).expand(-1, x.shape[1], -1)], dim=-1)  # (B, W, C+D)
        z = self.proj(x)  # (B, W, E)
        out, hidden = self.core(z)  # (B, W, D*H), (D*L, B, H)
        if self.head_kind == "concat":
            feats = out.flatten(1)  # (B, W*D*H): the seed's layout, every step's state
        else:
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # an LSTM also returns its cell state
            # the last layer's final state in each direction: the backward one has read the whole window
            feats = h[-self.directions:].transpose(0, 1).flatten(1)  # (B, D*H)
        pred = self.head(feats)  # (B, horizon)
        if self.skip is not None:
            pred = pred + self.skip(x[:, :, 0])  # (B, W) target values (relative to the level) -> (B, horizon)
        if self.ahead is not None:
            if ahead is None:
                raise ValueError("this network also reads the known-ahead covariates of its horizon steps; pass "
                                 "ahead (B, horizon, A)")
            pred = pred + F.linear(ahead.flatten(1), self.ahead.weight * self.ahead_mask)  # (B, H*A) -> (B, H)
        if base is not None:
            pred = pred + base  # (B, horizon)
        loss = LOSSES[self.loss_kind](pred, targets) if targets is not None else None
        return pred, loss

    def id_vectors(self, ids: torch.Tensor) -> torch.Tensor:
        """The embedding of each series index (B,) -> (B, D); an unseen series (-1) gets the mean vector."""
        table = self.embed.weight  # (N, D)
        out = table[ids.clamp(min=0)]  # (B, D)
        # no branch on the data, so the ONNX export traces the unseen case too
        return torch.where((ids < 0).unsqueeze(1), table.mean(0).expand_as(out), out)

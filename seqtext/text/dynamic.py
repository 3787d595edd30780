"""Dynamic evaluation (Krause et al. 2018, "Dynamic Evaluation of Neural Sequence Models").

The network reads the text in segments; after scoring a segment it takes one
gradient step on that segment's loss, so the next one is predicted by weights
adapted to what was just read.  The step is the RMS-normalised update of the
authors' ``dynamiceval.py``::

    w <- w - lr * g / (rms + eps) + decay * r * (w0 - w)

- ``rms``: the root-mean-square gradient of each weight, measured on training
  text read as ``STATS_BATCH`` parallel streams in segments of the same
  length, with the network in evaluation mode (no dropout).  Their code reads
  the whole training set; here the first ``STATS_TOKENS`` tokens of it;
- ``r``: ``rms`` divided by the mean over the weight tensors of their mean
  rms, clipped at ``1 / decay`` so the pull never overshoots ``w0``;
- ``w0``: the trained weights, which :class:`DynamicEval` puts back,
  bit for bit, when the reading ends (however it ends).

A step that leaves a weight non-finite (too large a learning rate for the
network: the 1 x 256 tanh RNN of ``configs/ptb-rnn.toml`` diverged from
1e-4) is undone: the weights go back to ``w0`` and the reading goes on from
there, counted in ``resets`` so that the caller can say so.
"""

from __future__ import annotations

import torch

from seqtext.core import detach_hidden
from seqtext.text.adaptation import EPSILON

# training tokens read for the gradient statistics: 50,000 take about 15 s for a 2 x 200 LSTM on one CPU thread
STATS_TOKENS = 50_000
STATS_BATCH = 100  # parallel streams they are read as (dynamiceval.py's batch size)


def segment_loss(net, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, hidden):
    """Mean negative log-likelihood of the scored targets of a (B, T) segment, the log-probs and the state."""
    feats, hidden = net.read(x, hidden)  # (B, T, E)
    logp = net.log_probs(feats)  # (B, T, V)
    target = logp.gather(2, y[..., None]).squeeze(2)  # (B, T)
    loss = -(target * mask).sum() / mask.sum().clamp(min=1)
    return loss, feats, logp, hidden


class _Trainable:
    """Every parameter requiring gradients, evaluation mode, gradients on; put back as they were afterwards."""

    def __init__(self, net):
        self.net = net

    def __enter__(self):
        self.training = self.net.training
        self.flags = [p.requires_grad for p in self.net.parameters()]
        for p in self.net.parameters():
            p.requires_grad_(True)
        self.net.eval()
        self.grad = torch.enable_grad()
        self.grad.__enter__()
        return self

    def __exit__(self, *exc):
        self.grad.__exit__(*exc)
        for p, flag in zip(self.net.parameters(), self.flags):
            p.requires_grad_(flag)
        self.net.train(self.training)


def gradient_rms(net, ids, scored, bptt: int, device, batch: int = STATS_BATCH) -> list[torch.Tensor]:
    """The root-mean-square gradient of each parameter (in ``net.parameters()`` order) over a text.

    ``ids`` (N+1,) is the text as one stream of ids and ``scored`` (N,) which
    of its targets count (None: all); it is cut into at most ``batch``
    parallel rows read in segments of ``bptt`` tokens, the state carried
    along each row.  The weights are not changed.
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    n = ids.numel() - 1
    mask = torch.ones(n, dtype=torch.bool) if scored is None else torch.as_tensor(scored, dtype=torch.bool)
    rows = max(1, min(batch, n // bptt))
    width = n // rows
    x = ids[: rows * width].view(rows, width)  # (B, L)
    y = ids[1: rows * width + 1].view(rows, width)
    m = mask[: rows * width].view(rows, width).float()
    params = list(net.parameters())
    sums = [torch.zeros_like(p) for p in params]
    count, hidden = 0, None
    with _Trainable(net):
        for start in range(0, width, bptt):
            cut = slice(start, start + bptt)
            seg_m = m[:, cut].to(device)
            if not bool(seg_m.any()):
                continue
            loss, _, _, hidden = segment_loss(net, x[:, cut].to(device), y[:, cut].to(device), seg_m, hidden)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            for total, grad in zip(sums, grads):
                if grad is not None:
                    total.addcmul_(grad, grad)
            count += 1
            hidden = detach_hidden(hidden)
    return [_floor((total / max(count, 1)).sqrt_()) for total in sums]


def _floor(rms: torch.Tensor) -> torch.Tensor:
    """Entries the text never moved (a word absent from the slice read) take the tensor's smallest rms.

    Read in full, the training text gives every weight of a word in the
    vocabulary some gradient; a slice of it may not, and a zero rms would make
    the step ``lr * g / eps``.  The smallest rms seen is that of the rarest
    words read, the closest measured stand-in.
    """
    positive = rms[rms > 0]
    return rms if positive.numel() == 0 else torch.where(rms > 0, rms, positive.min())


class DynamicEval:
    """Gradient steps on the text being read, with the trained weights restored afterwards.

    ``with DynamicEval(net, rms, lr, decay) as dyn:`` ... ``dyn.step(loss)``
    after scoring each segment.  On leaving the block, every tensor of the
    state dict is copied back from a copy taken on entry, and the
    parameters' ``requires_grad`` flags and training mode are as they were.
    """

    def __init__(self, net, rms: list[torch.Tensor], lr: float, decay: float):
        self.net = net
        self.params = list(net.parameters())
        if len(rms) != len(self.params):
            raise ValueError("the gradient statistics were measured on another network")
        # the mean over the weight tensors of their mean rms (dynamiceval.py's gsum)
        mean = torch.stack([r.mean() for r in rms]).mean().clamp(min=1e-30)
        with torch.no_grad():
            # decay * r, clipped at 1 (r at 1 / decay): the pull towards w0 never overshoots it
            self.pull = [(r / mean * decay).clamp(max=1.0) for r in rms]
            self.scale = [lr / (r + EPSILON) for r in rms]  # the step per unit of gradient
        self.resets = 0  # steps undone because they left a weight non-finite

    def __enter__(self) -> "DynamicEval":
        self.saved = {name: t.detach().clone() for name, t in self.net.state_dict().items()}
        self.w0 = [p.detach().clone() for p in self.params]
        self.mode = _Trainable(self.net).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.mode.__exit__(*exc)
        with torch.no_grad():
            for name, t in self.net.state_dict().items():
                t.copy_(self.saved[name])
        self.saved = self.w0 = None

    def step(self, loss: torch.Tensor) -> None:
        """One update from the gradient of ``loss`` (the mean loss of the segment just scored)."""
        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, grads)]
        with torch.no_grad():
            torch._foreach_lerp_(self.params, self.w0, self.pull)  # w + decay * r * (w0 - w): exact while w = w0
            torch._foreach_addcmul_(self.params, grads, self.scale, value=-1.0)  # - lr * g / (rms + eps)
            if not bool(torch.stack(torch._foreach_norm(self.params)).isfinite().all()):  # diverged: start again
                torch._foreach_copy_(self.params, self.w0)
                self.resets += 1

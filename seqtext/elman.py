"""The plain (Elman) RNN's training pass written out, for CPU training.

``nn.RNN`` on a CPU unrolls the sequence into a graph of small operators,
and its backward walks that graph node by node: per time step and layer a
matrix-product backward that also adds the step's outer product into the
W_hh gradient, the tanh backward, the sums and the stack.  At the PyTorch
example's configuration (2 x 200 tanh units, 35 steps, batch 20) that
backward was about a fifth of a training step.

:func:`elman` computes the same function with one autograd node per layer.
Forward: the input projections of all steps in one matrix product, then per
step one ``addmm`` into the output buffer and the activation in place.
Backward: per step one ``addmm`` (the gradient reaching the previous state)
and one product with the activation's derivative, and afterwards the weight
gradients of all steps in two matrix products and the bias gradient in one
sum.  Dropout between layers is the caller's (``F.dropout``, as in ``nn.RNN``,
unless given: the core passes its cheaper one).  The gradients equal nn.RNN's
to float32 rounding (tests/test_speed.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class _ElmanLayer(torch.autograd.Function):
    """One layer over a whole sequence: x (T, B, I), h0 (B, H) -> outputs (T, B, H)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, relu: bool):
        steps, batch, _ = x.shape
        bias = b_ih + b_hh if b_ih is not None else None
        flat = x.reshape(steps * batch, -1)  # (T*B, I)
        pre = (torch.addmm(bias, flat, w_ih.t()) if bias is not None else flat @ w_ih.t())  # (T*B, H)
        out = pre.view(steps, batch, -1)  # (T, B, H): each step's input part, overwritten by its output
        w = w_hh.t()
        h = h0
        for step in out.unbind(0):  # (B, H) views, made in one call
            torch.addmm(step, h, w, out=step)
            h = step.relu_() if relu else step.tanh_()
        ctx.save_for_backward(x, h0, w_ih, w_hh, out)
        ctx.relu, ctx.has_bias = relu, b_ih is not None
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, h0, w_ih, w_hh, out = ctx.saved_tensors
        steps, batch, hidden = out.shape
        # the activation's derivative at every step: 1 - h^2 (tanh) or [h > 0] (relu)
        slope = (out > 0).to(out.dtype) if ctx.relu else torch.mul(out, out).neg_().add_(1.0)
        grad_pre = torch.empty_like(out)  # (T, B, H): the gradient before the activation
        # per-step (B, H) views, each list made in one call
        outs, slopes, pres = grad_out.contiguous().unbind(0), slope.unbind(0), grad_pre.unbind(0)
        running = torch.empty(batch, hidden, dtype=out.dtype)
        torch.mul(outs[-1], slopes[-1], out=pres[-1])
        for t in range(steps - 2, -1, -1):
            torch.addmm(outs[t], pres[t + 1], w_hh, out=running)  # + what reached h_t from h_t+1
            torch.mul(running, slopes[t], out=pres[t])
        flat = grad_pre.view(steps * batch, hidden)  # (T*B, H)
        need = ctx.needs_input_grad
        grad_x = (flat @ w_ih).view(steps, batch, -1) if need[0] else None
        grad_h0 = grad_pre[0] @ w_hh if need[1] else None
        grad_w_ih = flat.t() @ x.reshape(steps * batch, -1) if need[2] else None
        grad_w_hh = None
        if need[3]:
            previous = torch.cat([h0[None], out[:-1]]).view(steps * batch, hidden)  # h_t-1 for every step
            grad_w_hh = flat.t() @ previous
        grad_b = flat.sum(0) if ctx.has_bias and (need[4] or need[5]) else None
        return grad_x, grad_h0, grad_w_ih, grad_w_hh, grad_b, grad_b, None


def elman(x: torch.Tensor, hidden: torch.Tensor | None, params: dict, layers: int, nonlinearity: str,
          dropout: float, training: bool, drop=F.dropout) -> tuple[torch.Tensor, torch.Tensor]:
    """``nn.RNN(batch_first=True)``'s forward: x (B, T, I), hidden (L, B, H) or None -> (B, T, H), (L, B, H).

    ``params`` maps nn.RNN's parameter names (``weight_ih_l0`` ...) to the tensors to use; ``drop(x, p)``
    is the dropout between layers (F.dropout, as nn.RNN's, unless given).
    """
    hidden_size = params["weight_hh_l0"].shape[1]
    batch = x.shape[0]
    if hidden is None:
        hidden = x.new_zeros(layers, batch, hidden_size)
    seq = x.transpose(0, 1).float().contiguous()  # (T, B, I)
    last = []
    with torch.autocast("cpu", enabled=False):  # float32 under bf16 autocast too: faster here (scripts/bench_speed.py)
        for layer in range(layers):
            if layer and dropout and training:
                seq = drop(seq, dropout)
            seq = _ElmanLayer.apply(seq, hidden[layer].float(), params[f"weight_ih_l{layer}"],
                                    params[f"weight_hh_l{layer}"], params.get(f"bias_ih_l{layer}"),
                                    params.get(f"bias_hh_l{layer}"), nonlinearity == "relu")
            last.append(seq[-1])
        return seq.transpose(0, 1), torch.stack(last)  # (B, T, H), (L, B, H)

"""The output layer and its cross-entropy in one pass over the vocabulary, for training on a CPU.

``F.cross_entropy(F.linear(h, W, b), y)`` writes the (N, V) logits, reads
them for log-softmax and writes its (N, V) output; its backward fills an
(N, V) zero gradient, scatters into it, and reads both (N, V) tensors again
for the log-softmax gradient (an exponential per element, a second time).
At the PyTorch example's configuration (N = 700 targets a step, V = 10,000
words) those passes were about a fifth of each training step.

:func:`linear_cross_entropy` computes the same loss and gradients with the
one matrix product into a buffer that becomes the logits' gradient, then,
in chunks of rows small enough to stay in a core's L2 cache, the bias added,
the softmax taken in place, the loss read off it and one subtracted at the
target, and the bias gradient summed, all while the chunk is in cache (a
product per chunk would read the whole weight matrix again for each: twice
as slow).  The backward is then only the two matrix products that any path
needs, with the 1 / N scale folded into the narrow (N, H) operands.  The
gradients equal the plain path's to float32 rounding (tests/test_speed.py).

Under CPU bf16 autocast the three matrix products run in bf16 (AMX / AVX-512
BF16 through oneDNN) while the softmax, the loss and the bias gradient stay
in float32, chunk by chunk.
"""

from __future__ import annotations

import torch

CHUNK_BYTES = 1 << 20  # float32 logits per chunk: 1 MiB, well inside a 2 MiB L2 with the product's inputs
_TINY = 1e-30  # a target probability below this is computed again through logsumexp (it may have rounded to 0)


class _LinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of ``feats @ weight.T + bias`` against ``targets``; see the module notes."""

    @staticmethod
    def forward(ctx, feats, weight, bias, targets, dtype):
        # feats (N, H), weight (V, H), bias (V,) or None, targets (N,); dtype: the products' dtype
        n, vocab = feats.shape[0], weight.shape[0]
        f, w = feats.to(dtype), weight.to(dtype)
        grad = f @ w.t()  # (N, V) logits, then softmax - one-hot in place, chunk by chunk
        losses = torch.empty(n, dtype=torch.float32)
        grad_bias = torch.zeros(vocab, dtype=torch.float32) if bias is not None else None
        rows = max(1, CHUNK_BYTES // (4 * vocab))
        low = dtype != torch.float32
        scratch = torch.empty(min(rows, n), vocab, dtype=torch.float32) if low else None
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            out = grad[start:stop]  # (R, V)
            if low:  # float32 from here: the bias, the softmax, the loss
                logits = scratch[: stop - start]
                logits.copy_(out)  # (a mixed-dtype add would convert element by element: twice the time)
                if bias is not None:
                    logits.add_(bias)
            else:
                logits = out.add_(bias) if bias is not None else out
            index = targets[start:stop, None]  # (R, 1)
            target = logits.gather(1, index).squeeze(1)  # (R,) kept for a row whose probability underflows
            prob = torch.softmax(logits, 1, out=logits)  # in place, while the chunk is in cache
            picked = prob.gather(1, index).squeeze(1)  # (R,)
            losses[start:stop] = -torch.log(picked)
            lost = picked < _TINY  # far below the likeliest word (a diverging model): log(0) would be inf
            if bool(lost.any()):
                which = start + lost.nonzero().squeeze(1)
                losses[which] = _exact_losses(f[which], w, bias, target[which - start])
            prob.scatter_add_(1, index, prob.new_full(index.shape, -1.0))
            if grad_bias is not None:
                grad_bias += prob.sum(0)
            if low:
                out.copy_(prob)
        ctx.save_for_backward(grad, f, w, grad_bias)
        ctx.dtypes = (feats.dtype, weight.dtype, bias.dtype if bias is not None else None)
        return losses.mean()

    @staticmethod
    def backward(ctx, grad_loss):
        grad, f, w, grad_bias = ctx.saved_tensors
        feats_dtype, weight_dtype, bias_dtype = ctx.dtypes
        scale = grad_loss / grad.shape[0]  # the mean's 1 / N, applied to the narrow operands only
        grad_feats = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_feats = (grad @ w).to(feats_dtype).mul_(scale)  # (N, H)
        if ctx.needs_input_grad[1]:
            grad_weight = (grad.t() @ (f * scale.to(f.dtype))).to(weight_dtype)  # (V, H)
        if grad_bias is not None and ctx.needs_input_grad[2]:
            grad_bias = (grad_bias * scale).to(bias_dtype)
        else:
            grad_bias = None
        return grad_feats, grad_weight, grad_bias, None, None


def _exact_losses(feats, weight, bias, target_logit):
    """logsumexp - target logit for a few rows, their logits computed again: (R, H) -> (R,)."""
    logits = (feats @ weight.t()).float()  # (R, V)
    if bias is not None:
        logits += bias
    return torch.logsumexp(logits, 1) - target_logit


def linear_cross_entropy(feats: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                         targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """``F.cross_entropy(F.linear(feats, weight, bias), targets, ignore_index=...)`` without the (N, V) passes.

    feats (..., H), targets (...); the mean over targets that are not ``ignore_index``.  For training on
    a CPU (on other devices, and without a target left, it is the plain expression).
    """
    import torch.nn.functional as F

    feats, targets = feats.reshape(-1, feats.shape[-1]), targets.reshape(-1)
    if feats.device.type != "cpu":  # (before any check that would wait for the device)
        return F.cross_entropy(F.linear(feats, weight, bias), targets, ignore_index=ignore_index)
    keep = targets != ignore_index
    if not bool(keep.any()):
        return F.cross_entropy(F.linear(feats, weight, bias), targets, ignore_index=ignore_index)
    if not bool(keep.all()):
        feats, targets = feats[keep], targets[keep]
    dtype = torch.float32
    if torch.is_autocast_enabled("cpu"):
        dtype = torch.get_autocast_dtype("cpu")
    with torch.autocast("cpu", enabled=False):
        return _LinearCrossEntropy.apply(feats.contiguous(), weight, bias, targets, dtype)


@torch.no_grad()
def linear_nll(feats: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
               targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed negative log-likelihood and top-1 hits of ``targets`` under ``softmax(feats @ weight.T + bias)``.

    feats (..., H), targets (...) -> (nll, hits), 0-dim tensors on the device (read them once, at the end;
    float64 on a CPU).  For evaluation: one matrix product (bf16 under CPU bf16 autocast, whose cache converts
    the weights once an evaluation), then the log-softmax in place and in float32, chunk by chunk while each
    is in cache, with no (N, V) distribution kept.  A hit is a target whose logit is the largest (a tie
    counts, where argmax would pick one; argmax is ten times slower than amax on a CPU).
    """
    import torch.nn.functional as F

    feats, targets = feats.reshape(-1, feats.shape[-1]), targets.reshape(-1)
    if feats.device.type != "cpu":
        logits = F.linear(feats, weight, bias).float()  # (N, V)
        return F.cross_entropy(logits, targets, reduction="sum"), (logits.argmax(-1) == targets).sum()
    low = torch.is_autocast_enabled("cpu")
    logits = F.linear(feats, weight) if low else feats @ weight.t()  # (N, V), the bias added below in float32
    with torch.autocast("cpu", enabled=False):
        rows = max(1, CHUNK_BYTES // (4 * logits.shape[1]))
        scratch = torch.empty(min(rows, logits.shape[0]), logits.shape[1]) if logits.dtype != torch.float32 else None
        nll = torch.zeros((), dtype=torch.float64)
        hits = torch.zeros((), dtype=torch.long)
        for start in range(0, logits.shape[0], rows):
            stop = min(start + rows, logits.shape[0])
            chunk = logits[start:stop] if scratch is None else scratch[: stop - start].copy_(logits[start:stop])
            if bias is not None:
                chunk.add_(bias)
            index = targets[start:stop, None]  # (R, 1)
            hits += (chunk.gather(1, index) >= chunk.amax(1, keepdim=True)).sum()
            torch.log_softmax(chunk, 1, out=chunk)  # in place: one kernel, three passes in cache
            nll -= chunk.gather(1, index).sum().double()
    return nll, hits

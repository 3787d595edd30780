"""The continuous neural cache (Grave et al. 2017, "Improving Neural Language Models with a Continuous Cache").

The cache holds the last N pairs (h_i, x_{i+1}): a hidden state of the text
already read (the output layer's input: the last layer's output, after the
projection if the model has one) and the token that came after it.  The next
token after h_t is then drawn from

    p(w) = (1 - lambda) p_model(w) + lambda p_cache(w),
    p_cache(w) ∝ sum_i 1[x_{i+1} = w] exp(theta * h_t . h_i)    over the last N states before t,

computed in log space (``logaddexp``), so a lambda of 0 gives the model's
own log-probabilities exactly.  Before the first pair (the text's first
token) the model's distribution is used alone.  :class:`NeuralCache` is the
mixture; :class:`CachedLM` puts it in front of a ``TextNet`` for generation.
"""

from __future__ import annotations

import math

import torch

NEG_INF = -math.inf


class NeuralCache:
    """The last ``size`` (hidden state, next token) pairs of a text, and the mixture they give."""

    def __init__(self, size: int, theta: float, lam: float):
        self.size, self.theta, self.lam = size, theta, lam
        self.keys: torch.Tensor | None = None  # (M, E), M <= size, oldest first
        self.values: torch.Tensor | None = None  # (M,) the token after each key

    def __len__(self) -> int:
        return 0 if self.keys is None else int(self.keys.shape[0])

    def reset(self) -> None:
        self.keys = self.values = None

    def push(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Remember states (T, E) and the tokens after them (T,); only the last ``size`` are kept."""
        keys, values = keys.detach(), values.detach()
        if self.keys is not None:
            keys, values = torch.cat([self.keys, keys]), torch.cat([self.values, values])
        self.keys, self.values = keys[-self.size:], values[-self.size:]

    def mix(self, logp: torch.Tensor, queries: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """The mixture's log-probabilities (B, T, V) at each step of B rows of a segment.

        ``logp`` (B, T, V): the model's log-probabilities; ``queries`` (B, T, E):
        the states they were computed from; ``values`` (B, T): the token after
        each step (``values[:, t]`` is read only by the steps after t).  Step t
        of a row sees the pairs in the cache and the row's own earlier steps,
        the last ``size`` of them; the cache itself is not changed.
        """
        b, t, v = logp.shape
        m = len(self)
        queries = queries.detach().float()
        scores = torch.matmul(queries, queries.transpose(1, 2))  # (B, T, T): the segment's own steps
        keys = torch.arange(m + t, device=logp.device)
        step = torch.arange(t, device=logp.device)[:, None]
        seen = (keys >= m + step - self.size) & (keys <= m + step - 1)  # (T, M + T): the last `size` before t
        vals = values.detach()
        if m:
            scores = torch.cat([torch.matmul(queries, self.keys.float().T), scores], dim=2)  # (B, T, M + T)
            vals = torch.cat([self.values.expand(b, m), vals], dim=1)  # (B, M + T)
        else:
            seen = seen[:, m:]
        weights = torch.softmax((self.theta * scores).masked_fill(~seen, NEG_INF), dim=2)  # (B, T, M + T)
        empty = ~seen.any(dim=1)  # (T,) steps with nothing before them
        weights = weights.masked_fill(empty[None, :, None], 0.0)
        p_cache = logp.new_zeros(b, t, v).scatter_add_(2, vals[:, None, :].expand(b, t, -1), weights)  # (B, T, V)
        mixed = torch.logaddexp(logp + math.log1p(-self.lam), p_cache.log() + (math.log(self.lam) if self.lam > 0 else NEG_INF))
        return torch.where(empty[None, :, None], logp, mixed)


class CachedLM:
    """A ``TextNet`` for generation whose next-token distribution is mixed with a cache of the text so far.

    It answers what :class:`~seqtext.text.generate.Completer` asks of a net,
    returning log-probabilities where the net returns logits (the same
    distribution after a softmax):

    - ``lm(x)`` (no hidden state): a new text (one row) is read; the cache
      then holds its pairs, and the state after its last token waits for the
      token that will follow it;
    - ``lm.step(token, hidden)``: ``token`` follows the waiting state (that
      pair joins the cache), then one step is read;
    - ``lm(x, hidden=h)``: rows that would continue the text (blank
      candidates); scored against the cache without changing it.
    """

    def __init__(self, net, size: int, theta: float, lam: float):
        self.net, self.pad_id, self.adaptive = net, net.pad_id, net.adaptive
        self.cache = NeuralCache(size, theta, lam)
        self.waiting: torch.Tensor | None = None  # (1, E) the state whose next token is not read yet

    def __call__(self, x: torch.Tensor, targets=None, hidden=None, last_only: bool = False):
        feats, new_hidden = self.net.read(x, hidden)  # (B, T, E)
        if hidden is None:
            if x.shape[0] != 1:
                raise ValueError("a cached model reads one text at a time")
            self.cache.reset()
            if last_only:
                self.cache.push(feats[0, :-1], x[0, 1:])
                steps = feats[:, -1:]  # (1, 1, E)
                out = self.cache.mix(self.net.log_probs(steps), steps, torch.zeros_like(x[:, :1]))
            else:  # each step sees the pairs before it: the text read as one segment into the empty cache
                values = torch.cat([x[:, 1:], torch.zeros_like(x[:, :1])], dim=1)  # (1, T)
                out = self.cache.mix(self.net.log_probs(feats), feats, values)
                self.cache.push(feats[0, :-1], x[0, 1:])
            self.waiting = feats[0, -1:]
            return out, None, new_hidden
        # continuations: the waiting state, followed by each row's first token, is a pair of theirs
        rows = x.shape[0]
        queries = torch.cat([self.waiting.expand(rows, 1, -1), feats], dim=1)  # (B, 1 + T, E)
        values = torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)  # (B, 1 + T)
        logp = self.net.log_probs(feats)  # (B, T, V)
        out = self.cache.mix(torch.cat([logp[:, :1], logp], dim=1), queries, values)[:, 1:]
        return (out[:, -1:] if last_only else out), None, new_hidden

    def step(self, tokens: torch.Tensor, hidden=None):
        """tokens (1,) after the waiting state -> (log-probabilities (1, V), hidden)."""
        self.cache.push(self.waiting, tokens)
        feats, hidden = self.net.advance(tokens, hidden)  # (1, E)
        self.waiting = feats
        logp = self.net.log_probs(feats)[:, None]  # (1, 1, V)
        return self.cache.mix(logp, feats[:, None], torch.zeros_like(tokens)[:, None])[:, 0], hidden

    def greedy_step(self, tokens: torch.Tensor, hidden, banned: torch.Tensor):
        """The likeliest next token under the mixture, never one of ``banned``."""
        logp, hidden = self.step(tokens, hidden)
        return logp.index_fill_(1, banned, NEG_INF).argmax(-1), hidden

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

    def _weights(self, queries: torch.Tensor, values: torch.Tensor):
        """Each step's weights over the pairs it sees (B, T, K), their tokens (B, K), and the steps that see none (T,).

        ``queries`` (B, T, E): the states of B rows of a segment; ``values``
        (B, T): the token after each step (``values[:, t]`` is read only by the
        steps after t).  Step t of a row sees the pairs in the cache and the
        row's own earlier steps, the last ``size`` of them.
        """
        b, t, _ = queries.shape
        m = len(self)
        queries = queries.detach().float()
        scores = torch.matmul(queries, queries.transpose(1, 2))  # (B, T, T): the segment's own steps
        vals = values.detach()
        if m:
            scores = torch.cat([torch.matmul(queries, self.keys.float().T), scores], dim=2)  # (B, T, K = M + T)
            vals = torch.cat([self.values.expand(b, m), vals], dim=1)  # (B, K)
        keys = torch.arange(m + t, device=queries.device)
        step = torch.arange(t, device=queries.device)[:, None]
        seen = (keys >= m + step - self.size) & (keys <= m + step - 1)  # (T, K): the last `size` before t
        weights = torch.softmax((self.theta * scores).masked_fill(~seen, NEG_INF), dim=2)  # (B, T, K)
        empty = ~seen.any(dim=1)  # (T,)
        return weights.masked_fill(empty[None, :, None], 0.0), vals, empty

    def _p_cache(self, weights: torch.Tensor, vals: torch.Tensor, vocab: int) -> torch.Tensor:
        b, t, k = weights.shape
        return weights.new_zeros(b, t, vocab).scatter_add_(2, vals[:, None, :].expand(b, t, k), weights)  # (B, T, V)

    def _log_mix(self, logp: torch.Tensor, p_cache: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
        log_lam = math.log(self.lam) if self.lam > 0 else NEG_INF
        mixed = torch.logaddexp(logp + math.log1p(-self.lam), p_cache.log() + log_lam)
        return torch.where(empty.view(1, -1, *[1] * (logp.dim() - 2)), logp, mixed)

    def mix(self, logp: torch.Tensor, queries: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """The mixture's log-probabilities (B, T, V), from the model's ``logp`` (B, T, V) at ``queries``.

        ``queries`` and ``values`` as in :meth:`_weights`; the cache itself is not changed.
        """
        weights, vals, empty = self._weights(queries, values)
        return self._log_mix(logp, self._p_cache(weights, vals, logp.shape[-1]), empty)

    def score(self, logp: torch.Tensor, queries: torch.Tensor, values: torch.Tensor):
        """The mixture's log-probability of each step's next token ``values`` (B, T), and its likeliest token (B, T).

        What :meth:`mix` gives at the targets, without its (B, T, V) logarithms:
        the likeliest token under the mixture is the model's own or one the
        cache holds, so only those are compared.
        """
        weights, vals, empty = self._weights(queries, values)
        p_cache = self._p_cache(weights, vals, logp.shape[-1])  # (B, T, V)
        target = values[..., None]
        scored = self._log_mix(logp.gather(2, target)[..., 0], p_cache.gather(2, target)[..., 0], empty)
        b, t, k = weights.shape
        # the model's likeliest first, so that a tie goes to it, as the argmax of the model alone
        candidates = torch.cat([logp.argmax(-1, keepdim=True), vals[:, None, :].expand(b, t, k)], dim=2)
        mixed = (1 - self.lam) * logp.gather(2, candidates).exp() + self.lam * p_cache.gather(2, candidates)
        return scored, candidates.gather(2, mixed.argmax(-1, keepdim=True))[..., 0]


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

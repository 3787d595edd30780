"""RecurrentCore: the one place a recurrent layer is built and called.

Every task uses this class unchanged: the language model (Embedding -> core
-> softmax head), the forecaster (Linear -> core -> forecast head), and the
tasks to come.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from seqtext.config import CoreConfig
from seqtext.elman import elman


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``F.dropout(x, p, training)`` with a cheaper mask on a CPU.

    torch draws each element's mask with its own Bernoulli sample (about 2 ms for
    the 140,000 activations of a 20 x 35 x 200 batch, three times a step at the
    PyTorch example's configuration); here four elements share one 64-bit random
    draw, 16 bits each, so ``p`` is realised to 1/65,536 (0.2 -> 0.19999695) and
    the kept values are scaled by the exact inverse of the keep rate.  Other
    devices use torch's fused kernel.
    """
    if not training or p == 0:
        return x
    threshold = round(p * 65536)
    if x.device.type != "cpu" or threshold in (0, 65536):
        return F.dropout(x, p, training)
    n = x.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-2 ** 63, 2 ** 63 - 1)
    keep = bits.view(torch.int16)[:n].view(x.shape) >= threshold - 32768  # each with probability 1 - t / 65536
    return x * keep.to(x.dtype).mul_(65536 / (65536 - threshold))


class Dropout(nn.Module):
    """``nn.Dropout`` through :func:`dropout` (the same state: none)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, shared by all its time steps (variational dropout).

    Gal & Ghahramani's variational dropout, as AWD-LSTM applies it to the
    embeddings and the core's outputs: a unit dropped for a sequence stays
    dropped along it, so the network cannot route around the noise from one
    step to the next.  Input (B, T, D); identity at evaluation.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - self.p) / (1 - self.p)  # (B, 1, D)
        return x * mask


class RecurrentCore(nn.Module):
    """A stack of recurrent layers over batch-first sequences.

    Built from the options of :class:`~seqtext.config.CoreConfig` and the
    width of each step's input (which the task decides: its embedding or
    input projection).  ``forward(x, hidden)`` takes ``x`` of shape
    (B, T, input_size) and returns
    ``(outputs, hidden)`` with outputs of shape (B, T, output_size), where
    ``output_size`` is ``hidden_size`` times the number of directions.
    """

    def __init__(self, config: CoreConfig, input_size: int):
        super().__init__()
        config.validate()
        self.config = config
        self.input_size = input_size
        common = dict(
            input_size=input_size,
            hidden_size=config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            bidirectional=config.bidirectional,
            batch_first=True,
        )
        if config.cell == "rnn":
            self.rnn = nn.RNN(nonlinearity=config.nonlinearity, **common)
            # An orthogonal W_h keeps the gradient's norm through each step of a
            # plain RNN from shrinking at the start of training; measured on the
            # pronoun corpus it is the difference between learning the subject
            # across the clause and guessing the commonest pronoun.
            for name, weight in self.rnn.named_parameters():
                if name.startswith("weight_hh"):
                    nn.init.orthogonal_(weight)
        elif config.cell == "gru":
            self.rnn = nn.GRU(**common)
        else:
            self.rnn = nn.LSTM(**common)
        # what step() calls: the fused one-step cell and each layer's parameter names
        self._step_cell = {"gru": torch.gru_cell, "lstm": torch.lstm_cell,
                           "rnn": torch.rnn_tanh_cell if config.nonlinearity == "tanh" else torch.rnn_relu_cell
                           }[config.cell]
        self._step_names = [tuple(f"{kind}_l{layer}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                            for layer in range(config.layers)]
        # a unidirectional plain RNN trains on a CPU through seqtext.elman (the same function, a faster backward)
        self._elman = config.cell == "rnn" and not config.bidirectional
        # what weight drop masks: every layer's (and direction's) hidden-to-hidden matrix
        self._recurrent_names = [name for name, _ in self.rnn.named_parameters() if name.startswith("weight_hh")]

    @property
    def output_size(self) -> int:
        return self.config.hidden * (2 if self.config.bidirectional else 1)

    def forward(self, x: torch.Tensor, hidden=None):
        cfg = self.config
        params = self.rnn._parameters
        dropped = {}
        if self.training and cfg.weight_drop > 0:
            # DropConnect on the hidden-to-hidden matrices (AWD-LSTM's weight drop): one mask
            # per batch, shared by every time step, so the recurrence itself is regularised
            # while the fused nn.RNN / GRU / LSTM kernels still run the sequence.
            dropped = {name: F.dropout(params[name], cfg.weight_drop) for name in self._recurrent_names}
        plain_cpu = self._elman and isinstance(x, torch.Tensor) and x.device.type == "cpu"  # packed: nn.RNN
        if plain_cpu and self.training and torch.is_grad_enabled():
            # training a plain RNN on a CPU: one autograd node per layer (seqtext.elman)
            return elman(x, hidden, {**params, **dropped}, cfg.layers, cfg.nonlinearity, cfg.dropout, self.training,
                         drop=dropout)
        if dropped:
            with warnings.catch_warnings():  # cuDNN: the masked copies are not one flat buffer, by design
                warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")
                return torch.func.functional_call(self.rnn, dropped, (x, hidden))
        if plain_cpu and torch.is_autocast_enabled("cpu"):
            # a plain RNN's small matrix products are slower in bf16 on a CPU (scripts/bench_speed.py): float32
            with torch.autocast("cpu", enabled=False):
                return self.rnn(x.float(), hidden if hidden is None else hidden.float())
        out, hidden = self.rnn(x, hidden)  # (B, T, D*H), (D*L, B, H)
        return out, hidden

    def step(self, x: torch.Tensor, hidden=None):
        """One time step for inference: x (B, input_size) -> (out (B, H), hidden as forward's).

        The same weights as ``forward`` through torch's fused cell functions,
        without the sequence machinery of ``nn.RNN`` (about 3x less overhead
        per step when generating word by word).  No dropout: inference only.
        """
        cfg = self.config
        if cfg.bidirectional:
            raise ValueError("a bidirectional core reads whole sequences; step() is for one direction.")
        if hidden is None:
            hidden = self.init_hidden(x.shape[0], x.device)
        params = self.rnn._parameters  # the live tensors, looked up by name (cheaper than getattr)
        if cfg.cell == "lstm":
            h_all, c_all = hidden
            hs, cs = [], []
            for layer, names in enumerate(self._step_names):
                x, c = torch.lstm_cell(x, (h_all[layer], c_all[layer]), *[params[n] for n in names])
                hs.append(x)
                cs.append(c)
            return x, (torch.stack(hs), torch.stack(cs))
        cell = self._step_cell
        hs = []
        for layer, names in enumerate(self._step_names):
            x = cell(x, hidden[layer], *[params[n] for n in names])
            hs.append(x)
        return x, torch.stack(hs)

    def init_hidden(self, batch_size: int, device=None):
        cfg = self.config
        shape = (cfg.layers * (2 if cfg.bidirectional else 1), batch_size, cfg.hidden)
        h = torch.zeros(shape, device=device)
        return (h, h.clone()) if cfg.cell == "lstm" else h


def map_hidden(hidden, fn):
    """``fn`` applied to a core's state: the one tensor of an RNN or GRU, both of an LSTM's (h, c)."""
    if hidden is None:
        return None
    if isinstance(hidden, tuple):
        return tuple(fn(h) for h in hidden)
    return fn(hidden)


def map_hidden_pair(first, second, fn):
    """``fn(a, b)`` over two states of one core, part by part (an LSTM's h with h, c with c)."""
    if isinstance(first, tuple):
        return tuple(fn(a, b) for a, b in zip(first, second))
    return fn(first, second)


def detach_hidden(hidden):
    """Cut the graph between truncated-BPTT windows, keeping the values."""
    return map_hidden(hidden, torch.Tensor.detach)

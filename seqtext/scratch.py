"""A recurrent network and back-propagation through time, by hand, in NumPy.

This module is the theory made executable: every line of the forward and
backward pass is written out so it can be read next to the equations below.
``tests/test_scratch.py`` proves it against PyTorch (``nn.RNN`` + ``nn.Linear``
and autograd) and against finite differences.  It imports NumPy only, never
torch, so it also runs where torch is not installed.

Shapes: B batch, T steps, I input size, H hidden size, O output size.

Forward
-------
The input of each step is joined with the previous hidden array and multiplied
by one weight matrix W of shape (I+H, H).  Splitting W into its input rows W_x
(I, H) and its hidden rows W_h (H, H) gives the usual form::

    h_0 = 0                                                (B, H)
    a_t = [x_t, h_{t-1}] W + b = x_t W_x + h_{t-1} W_h + b (B, H)   t = 1..T
    h_t = f(a_t)              f in {tanh, relu, identity}  (B, H)

The same W_x, W_h and b are used at every step.  The hidden arrays of all
steps are concatenated and one linear layer turns them into the prediction::

    Hc    = [h_1, h_2, ..., h_T]                           (B, T*H)
    y_hat = Hc W_lin + b_lin                               (B, O)
    L     = mean((y_hat - y)^2)   over all B*O entries     scalar

Backward (chain rule)
---------------------
::

    dL/dy_hat = 2 (y_hat - y) / (B*O)                      (B, O)
    dL/dW_lin = Hc^T dL/dy_hat                             (T*H, O)
    dL/db_lin = sum over the batch of dL/dy_hat            (O,)
    dL/dHc    = dL/dy_hat W_lin^T                          (B, T*H)
    dL/dH     = dL/dHc reshaped back to one row a step     (B, T, H)

Through time, from the last step t = T back to t = 1; nothing flows into the
last step from later ones, so the second term is zero for t = T::

    dL/dh_t = dL/dH[:, t] + dL/da_{t+1} W_h^T              (B, H)
    dL/da_t = dL/dh_t * f'(a_t)                            (B, H)
              f'(a) = 1 - tanh(a)^2 | [a > 0] | 1
    dL/dW_x += x_t^T     dL/da_t                           (I, H)
    dL/dW_h += h_{t-1}^T dL/da_t                           (H, H)
    dL/db   += sum over the batch of dL/da_t               (H,)

The sums over t are there because the same weights act at every step.

Update (gradient descent)
-------------------------
::

    P <- P - lr * dL/dP    for P in W_x, W_h, b, W_lin, b_lin

Why long gaps are hard
----------------------
Each step back multiplies the gradient by the matrix ``diag(f'(a_t)) W_h^T``.
If ``||W_h||_2 * max|f'|`` is below one, every step shrinks it.  Over many
steps what counts is how much the product of these matrices stretches per
step; for f = identity that is the spectral radius of ``W_h`` (its largest
eigenvalue in size): below one the gradient reaching early steps shrinks
geometrically with distance (it vanishes), above one it grows (explodes).  A
single step may still stretch a direction by up to ``||W_h||_2``.
:func:`seqtext.scratch_examples.gradient_norms` measures this.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from seqtext.errors import ConfigError, DataError, whole_number

NONLINEARITIES = ("tanh", "relu", "identity")
PARAM_NAMES = ("W_x", "W_h", "b", "W_lin", "b_lin")

# The worked example: 10, 20, ..., 200, windows of 3 values -> the next value.
EXAMPLE_SEQUENCE = tuple(float(v) for v in range(10, 201, 10))
EXAMPLE_QUERY = (70.0, 80.0, 90.0)
EXAMPLE_TARGET = 100.0


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #


@dataclass
class ScratchRNN:
    """The weights of the network; the same W_x, W_h, b serve every step."""

    W_x: np.ndarray  # (I, H) input rows of W
    W_h: np.ndarray  # (H, H) hidden rows of W
    b: np.ndarray  # (H,)
    W_lin: np.ndarray  # (T*H, O) reads the concatenated hidden arrays
    b_lin: np.ndarray  # (O,)
    nonlinearity: str = "tanh"

    @property
    def input_size(self) -> int:
        return self.W_x.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.W_h.shape[0]

    @property
    def seq_len(self) -> int:
        return self.W_lin.shape[0] // self.hidden_size

    @property
    def output_size(self) -> int:
        return self.W_lin.shape[1]

    @property
    def W(self) -> np.ndarray:
        """The joined weight matrix [W_x; W_h] that multiplies [x_t, h_{t-1}]."""
        return np.concatenate([self.W_x, self.W_h], axis=0)  # (I+H, H)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in PARAM_NAMES}


def _unknown_nonlinearity(nonlinearity) -> ConfigError:
    return ConfigError(f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}.")


def check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in NONLINEARITIES:
        raise _unknown_nonlinearity(nonlinearity)
    return nonlinearity


def init(
    input_size: int,
    hidden_size: int,
    seq_len: int,
    output_size: int = 1,
    seed: int = 0,
    nonlinearity: str = "tanh",
) -> ScratchRNN:
    """Random weights drawn as PyTorch draws nn.RNN's and nn.Linear's: U(-1/sqrt(fan), 1/sqrt(fan)).

    One bias ``b`` stands for nn.RNN's two (``b_ih + b_hh``), drawn once from the same range, so its spread is
    narrower than that sum's."""
    input_size = whole_number("input size", input_size)
    hidden_size = whole_number("hidden size", hidden_size)
    seq_len = whole_number("sequence length", seq_len)
    output_size = whole_number("output size", output_size)
    seed = whole_number("seed", seed, minimum=0)
    check_nonlinearity(nonlinearity)
    rng = np.random.default_rng(seed)
    k = 1.0 / math.sqrt(hidden_size)  # nn.RNN's bound
    k_lin = 1.0 / math.sqrt(seq_len * hidden_size)  # nn.Linear's bound for T*H inputs
    return ScratchRNN(
        W_x=rng.uniform(-k, k, (input_size, hidden_size)),  # (I, H)
        W_h=rng.uniform(-k, k, (hidden_size, hidden_size)),  # (H, H)
        b=rng.uniform(-k, k, hidden_size),  # (H,)
        W_lin=rng.uniform(-k_lin, k_lin, (seq_len * hidden_size, output_size)),  # (T*H, O)
        b_lin=rng.uniform(-k_lin, k_lin, output_size),  # (O,)
        nonlinearity=nonlinearity,
    )


# --------------------------------------------------------------------------- #
# Nonlinearities
# --------------------------------------------------------------------------- #


def activate(a: np.ndarray, nonlinearity: str) -> np.ndarray:
    if nonlinearity == "tanh":
        return np.tanh(a)
    if nonlinearity == "relu":
        return np.maximum(a, 0.0)
    if nonlinearity == "identity":
        return a.copy()
    raise _unknown_nonlinearity(nonlinearity)


def activate_grad(a: np.ndarray, h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """f'(a), using h = f(a) where that is cheaper."""
    if nonlinearity == "tanh":
        return 1.0 - h**2
    if nonlinearity == "relu":
        # 0 at the kink, as torch does
        return (a > 0).astype(a.dtype)
    if nonlinearity == "identity":
        return np.ones_like(a)
    raise _unknown_nonlinearity(nonlinearity)


# --------------------------------------------------------------------------- #
# Forward, loss, backward, update
# --------------------------------------------------------------------------- #


@dataclass
class Cache:
    """What the backward pass needs from the forward pass."""

    x: np.ndarray  # (B, T, I)
    a: np.ndarray  # (B, T, H) pre-activations a_1..a_T
    h: np.ndarray  # (B, T+1, H) hidden arrays h_0..h_T, h_0 = 0
    concat: np.ndarray  # (B, T*H) [h_1, ..., h_T]
    y_hat: np.ndarray  # (B, O)


def _check_x(params: ScratchRNN, x) -> np.ndarray:
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            "x must be an array of numbers of shape (batch, steps, input size); convert it first."
        ) from None
    expected = (params.seq_len, params.input_size)
    if x.ndim != 3 or x.shape[1:] != expected or x.shape[0] < 1:
        raise DataError(
            f"x must have shape (batch, {expected[0]}, {expected[1]}), got {x.shape}; "
            "give one window of seq_len steps per row."
        )
    return x


def forward(params: ScratchRNN, x) -> Cache:
    """Run the recurrence over x (B, T, I) and the linear layer over all steps."""
    x = _check_x(params, x)  # (B, T, I)
    batch, steps, _ = x.shape
    hidden = params.hidden_size
    a = np.zeros((batch, steps, hidden))  # (B, T, H)
    h = np.zeros((batch, steps + 1, hidden))  # (B, T+1, H), h[:, 0] is h_0 = 0
    for t in range(steps):
        # joined input [x_t, h_{t-1}] times W, written with W split in two
        a[:, t] = x[:, t] @ params.W_x + h[:, t] @ params.W_h + params.b  # (B, H)
        h[:, t + 1] = activate(a[:, t], params.nonlinearity)  # (B, H)
    concat = h[:, 1:].reshape(batch, steps * hidden)  # (B, T*H), h_1 first
    y_hat = concat @ params.W_lin + params.b_lin  # (B, O)
    return Cache(x=x, a=a, h=h, concat=concat, y_hat=y_hat)


def _check_targets(y, shape: tuple) -> np.ndarray:
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("targets must be numbers; convert them to an array of floats first.") from None
    if y.shape != shape:
        raise DataError(
            f"targets have shape {y.shape} but predictions have {shape}; give one target row per window."
        )
    return y


def mse_loss(y_hat, y) -> float:
    """Mean squared error over every entry."""
    y_hat = np.asarray(y_hat, dtype=np.float64)  # (B, O)
    y = _check_targets(y, y_hat.shape)  # (B, O)
    return float(np.mean((y_hat - y) ** 2))


def backprop_through_time(params: ScratchRNN, cache: Cache, dH: np.ndarray) -> dict[str, np.ndarray]:
    """Carry dL/dH (B, T, H), the gradient each h_t receives directly, back through time.

    Returns the recurrent weight gradients and, per step, dL/dh_t and dL/da_t
    (the total gradient, direct part plus what flows back from later steps).
    """
    x, a, h = cache.x, cache.a, cache.h
    batch, steps, _ = x.shape
    if np.shape(dH) != a.shape:
        raise DataError(f"dH has shape {np.shape(dH)} but the hidden states have {a.shape} (batch, steps, hidden); "
                        "give one gradient per state.")
    dW_x = np.zeros_like(params.W_x)  # (I, H)
    dW_h = np.zeros_like(params.W_h)  # (H, H)
    db = np.zeros_like(params.b)  # (H,)
    dh = np.zeros_like(a)  # (B, T, H) total dL/dh_t
    da = np.zeros_like(a)  # (B, T, H) dL/da_t
    from_later = np.zeros((batch, params.hidden_size))  # (B, H) dL/da_{t+1} W_h^T
    for t in reversed(range(steps)):
        dh[:, t] = dH[:, t] + from_later  # (B, H)
        da[:, t] = dh[:, t] * activate_grad(a[:, t], h[:, t + 1], params.nonlinearity)  # (B, H)
        dW_x += x[:, t].T @ da[:, t]  # (I, H)
        dW_h += h[:, t].T @ da[:, t]  # (H, H), h[:, t] is h_{t-1}
        db += da[:, t].sum(axis=0)  # (H,)
        from_later = da[:, t] @ params.W_h.T  # (B, H)
    return {"W_x": dW_x, "W_h": dW_h, "b": db, "dh": dh, "da": da}


def backward_trace(params: ScratchRNN, cache: Cache, y) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The gradients, plus the intermediate gradients a walk-through shows."""
    y_hat = cache.y_hat  # (B, O)
    y = _check_targets(y, y_hat.shape)  # (B, O)
    batch, steps, _ = cache.x.shape
    dy_hat = 2.0 * (y_hat - y) / y_hat.size  # (B, O)
    dW_lin = cache.concat.T @ dy_hat  # (T*H, O)
    db_lin = dy_hat.sum(axis=0)  # (O,)
    dconcat = dy_hat @ params.W_lin.T  # (B, T*H)
    dH = dconcat.reshape(batch, steps, params.hidden_size)  # (B, T, H)
    bptt = backprop_through_time(params, cache, dH)
    grads = {"W_x": bptt["W_x"], "W_h": bptt["W_h"], "b": bptt["b"], "W_lin": dW_lin, "b_lin": db_lin}
    trace = {"y_hat": dy_hat, "concat": dconcat, "H": dH, "h": bptt["dh"], "a": bptt["da"]}
    return grads, trace


def backward(params: ScratchRNN, cache: Cache, y) -> dict[str, np.ndarray]:
    """dL/dP for every parameter P, keyed by the parameter's name."""
    return backward_trace(params, cache, y)[0]


def sgd_step(params: ScratchRNN, grads: dict[str, np.ndarray], lr: float) -> ScratchRNN:
    """One gradient-descent step; returns new parameters, the old ones are kept."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:  # numpy too
        raise ConfigError(f"learning rate must be a positive number, got {lr!r}.")
    updated = {name: getattr(params, name) - lr * grads[name] for name in PARAM_NAMES}
    return replace(params, **updated)


def train(params: ScratchRNN, x, y, lr: float = 0.1, epochs: int = 1000) -> tuple[ScratchRNN, list[float]]:
    """Full-batch gradient descent; returns the trained parameters and the loss per epoch."""
    epochs = whole_number("epochs", epochs)
    y = np.asarray(y, dtype=np.float64)  # (B, O)
    losses = []
    for _ in range(epochs):
        cache = forward(params, x)
        losses.append(mse_loss(cache.y_hat, y))
        params = sgd_step(params, backward(params, cache, y), lr)
    return params, losses

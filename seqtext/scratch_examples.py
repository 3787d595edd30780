"""The worked examples of ``seqtext theory``, on the hand-written RNN of :mod:`seqtext.scratch`.

A sequence parsed and checked, normalised and cut into windows; the network
trained from scratch with the hand-written gradients only
(:func:`worked_example`); and the gradient reaching each step from a loss at
the last one (:func:`gradient_norms`), which shows why long gaps are hard for
a plain RNN.  NumPy only, like the scratch module.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from seqtext.errors import DataError, whole_number
from seqtext.scratch import (EXAMPLE_QUERY, EXAMPLE_SEQUENCE, EXAMPLE_TARGET, backprop_through_time, forward, init,
                             mse_loss, train)


# --------------------------------------------------------------------------- #
# Data for the worked example
# --------------------------------------------------------------------------- #


def parse_sequence(text: str) -> np.ndarray:
    """'10, 20, 30' (commas and/or spaces) -> array([10., 20., 30.])."""
    items = re.split(r"\s*,\s*|\s+", str(text).strip().rstrip(",").strip())  # a trailing comma is no item
    if any(items) and not all(items):  # "1,,2": a number left out between two commas
        raise DataError(f"the sequence has an empty item (item {items.index('') + 1}); give a number between each "
                        "pair of commas.")
    return check_sequence([item for item in items if item])


def check_sequence(sequence) -> np.ndarray:
    """A 1-D array of finite floats, or a DataError saying what is wrong."""
    if isinstance(sequence, (str, bytes)):
        raise DataError("the sequence must be a list of numbers, not a string; split it first or use parse_sequence.")
    if isinstance(sequence, np.ndarray) and sequence.ndim != 1:
        raise DataError(f"the sequence must be one-dimensional, got shape {sequence.shape}; give one number per step.")
    try:
        values = list(sequence)
    except TypeError:
        raise DataError(
            f"the sequence must be a list of numbers, got {type(sequence).__name__}; give e.g. [10, 20, 30, 40]."
        ) from None
    if not values:
        raise DataError("the sequence is empty; give numbers separated by commas, e.g. 10,20,30,40.")
    out = np.empty(len(values))  # (N,)
    for i, value in enumerate(values):
        try:
            if isinstance(value, (bool, np.bool_)):
                raise TypeError
            out[i] = float(value)
        except (TypeError, ValueError):
            raise DataError(
                f"the sequence must hold numbers only, but item {i + 1} is {value!r}; give numbers separated by commas."
            ) from None
        if not math.isfinite(out[i]):
            raise DataError(f"the sequence must hold finite numbers, but item {i + 1} is {value!r}; remove it.")
    return out


def make_windows(sequence, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows of `window` values and the value after each.

    Returns x (N, window, 1) and y (N, 1) with N = len(sequence) - window.
    """
    values = check_sequence(sequence)  # (N_values,)
    window = whole_number("window", window)
    if window >= len(values):
        raise DataError(
            f"a window of {window} needs a sequence of at least {window + 1} values, "
            f"got {len(values)}; give a longer sequence or a smaller window."
        )
    count = len(values) - window
    x = np.stack([values[i : i + window] for i in range(count)])[:, :, None]  # (N, window, 1)
    y = values[window:, None].copy()  # (N, 1)
    return x, y


@dataclass
class Normaliser:
    """z = (v - mean) / std, fitted on the training values, and back."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values) -> "Normaliser":
        values = check_sequence(values)
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = float(values.mean()), float(values.std())
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise DataError("the sequence's values are too large to normalise (their mean or spread overflows a "
                            "float); scale them down, e.g. divide them by 1e6.")
        # a constant series would divide by zero; leave its scale alone
        return cls(mean=mean, std=std if std > 0 else 1.0)

    def transform(self, values) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse(self, values) -> np.ndarray:
        return np.asarray(values, dtype=np.float64) * self.std + self.mean


def worked_example(seed: int = 0, epochs: int = 3000, lr: float = 0.1, nonlinearity: str = "tanh") -> dict:
    """Train on 10, 20, ..., 200 (windows of 3, hidden size 2) and predict after [70, 80, 90].

    The window [70, 80, 90] -> 100 is left out of training, so 100 is a
    prediction inside the range the network saw, not a memorised answer.
    """
    sequence = np.array(EXAMPLE_SEQUENCE)  # (20,)
    query = np.array(EXAMPLE_QUERY)  # (3,)
    window = len(query)
    scaler = Normaliser.fit(sequence)
    x, y = make_windows(scaler.transform(sequence), window)  # (17, 3, 1), (17, 1)
    held_out = np.all(np.isclose(scaler.inverse(x[:, :, 0]), query), axis=1)  # (17,)
    x_train, y_train = x[~held_out], y[~held_out]  # (16, 3, 1), (16, 1)
    params = init(1, 2, window, 1, seed=seed, nonlinearity=nonlinearity)
    params, losses = train(params, x_train, y_train, lr=lr, epochs=epochs)
    z = scaler.transform(query)[None, :, None]  # (1, 3, 1)
    prediction = float(scaler.inverse(forward(params, z).y_hat)[0, 0])
    return {
        "sequence": sequence.tolist(),
        "window": window,
        "hidden": 2,
        "nonlinearity": nonlinearity,
        "seed": seed,
        "epochs": epochs,
        "lr": lr,
        "train_windows": int(len(x_train)),
        "first_loss": losses[0],
        "final_loss": mse_loss(forward(params, x_train).y_hat, y_train),  # after the last update
        "query": query.tolist(),
        "target": EXAMPLE_TARGET,
        "prediction": prediction,
        "relative_error": abs(prediction - EXAMPLE_TARGET) / EXAMPLE_TARGET,
        "params": params,
    }


# --------------------------------------------------------------------------- #
# Vanishing and exploding gradients
# --------------------------------------------------------------------------- #


def gradient_norms(
    seq_len: int = 30,
    hidden_size: int = 2,
    nonlinearity: str = "tanh",
    seed: int = 0,
    batch: int = 16,
) -> list[float]:
    """||dL/dh_t|| for a loss read from the last step only, by distance T - t.

    Entry d is the norm of the gradient reaching the hidden array d steps
    before the last, relative to the gradient at the last step (entry 0 is 1),
    so the list shows how fast it shrinks or grows with distance.  The norm is
    taken over a batch of random inputs so one lucky sequence does not decide it.
    """
    seq_len = whole_number("sequence length", seq_len)
    batch = whole_number("batch", batch)
    params = init(1, hidden_size, seq_len, 1, seed=seed, nonlinearity=nonlinearity)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, seq_len, 1))  # (B, T, 1)
    cache = forward(params, x)
    dH = np.zeros_like(cache.a)  # (B, T, H)
    # L = mean over the batch of sum(h_T): only the last step is read directly
    dH[:, -1] = 1.0 / batch  # (B, H)
    dh = backprop_through_time(params, cache, dH)["dh"]  # (B, T, H)
    norms = np.sqrt((dh**2).sum(axis=(0, 2)))  # (T,) Frobenius norm over batch and units
    norms = norms[::-1]  # distance 0 (the last step) first
    return (norms / norms[0]).tolist()

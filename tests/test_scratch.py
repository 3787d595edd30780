"""The hand-written RNN in seqtext.scratch, proven against PyTorch autograd and finite differences."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqtext import scratch

from seqtext import scratch_examples as examples
from seqtext.errors import ConfigError, DataError

FORWARD_TOL = 1e-10
GRAD_TOL = 1e-8


@st.composite
def cases(draw, nonlinearities=scratch.NONLINEARITIES):
    """Parameters, inputs and targets of a random shape."""
    batch = draw(st.integers(1, 4))
    input_size = draw(st.integers(1, 4))
    hidden = draw(st.integers(1, 5))
    steps = draw(st.integers(1, 6))
    output = draw(st.integers(1, 3))
    nonlinearity = draw(st.sampled_from(nonlinearities))
    seed = draw(st.integers(0, 2**16))
    params = scratch.init(input_size, hidden, steps, output, seed=seed, nonlinearity=nonlinearity)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, steps, input_size))  # (B, T, I)
    y = rng.standard_normal((batch, output))  # (B, O)
    return params, x, y


def torch_reference(params: scratch.ScratchRNN, x: np.ndarray, y: np.ndarray):
    """y_hat, loss and every gradient from PyTorch, with the scratch weights copied in (float64)."""
    batch, steps, input_size = x.shape
    hidden, output = params.hidden_size, params.output_size
    xt = torch.from_numpy(x)  # (B, T, I)
    yt = torch.from_numpy(y)  # (B, O)
    linear = torch.nn.Linear(steps * hidden, output, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(params.W_lin.T))  # (O, T*H)
        linear.bias.copy_(torch.from_numpy(params.b_lin))  # (O,)

    if params.nonlinearity in ("tanh", "relu"):
        rnn = torch.nn.RNN(
            input_size, hidden, batch_first=True, nonlinearity=params.nonlinearity, dtype=torch.float64
        )
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(torch.from_numpy(params.W_x.T))  # (H, I)
            rnn.weight_hh_l0.copy_(torch.from_numpy(params.W_h.T))  # (H, H)
            # nn.RNN adds two biases; one carries b, the other stays zero
            rnn.bias_ih_l0.copy_(torch.from_numpy(params.b))  # (H,)
            rnn.bias_hh_l0.zero_()  # (H,)
        out, _ = rnn(xt)  # (B, T, H)
    else:
        # nn.RNN has no identity nonlinearity, so the same recurrence as a torch loop
        W_x = torch.from_numpy(params.W_x.copy()).requires_grad_()  # (I, H)
        W_h = torch.from_numpy(params.W_h.copy()).requires_grad_()  # (H, H)
        b = torch.from_numpy(params.b.copy()).requires_grad_()  # (H,)
        h = torch.zeros(batch, hidden, dtype=torch.float64)  # (B, H)
        states = []
        for t in range(steps):
            h = xt[:, t] @ W_x + h @ W_h + b  # (B, H)
            states.append(h)
        out = torch.stack(states, dim=1)  # (B, T, H)

    y_hat = linear(out.reshape(batch, steps * hidden))  # (B, O)
    loss = torch.nn.functional.mse_loss(y_hat, yt)
    loss.backward()

    if params.nonlinearity in ("tanh", "relu"):
        # the zero bias gets the same gradient as the one holding b (up to rounding)
        assert torch.allclose(rnn.bias_hh_l0.grad, rnn.bias_ih_l0.grad, atol=1e-12, rtol=0)
        grads = {
            "W_x": rnn.weight_ih_l0.grad.T,
            "W_h": rnn.weight_hh_l0.grad.T,
            "b": rnn.bias_ih_l0.grad,
        }
    else:
        grads = {"W_x": W_x.grad, "W_h": W_h.grad, "b": b.grad}
    grads["W_lin"] = linear.weight.grad.T
    grads["b_lin"] = linear.bias.grad
    return y_hat.detach().numpy(), loss.item(), {k: v.numpy() for k, v in grads.items()}


# --------------------------------------------------------------------------- #
# Against PyTorch
# --------------------------------------------------------------------------- #


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_forward_and_gradients_match_pytorch(case):
    params, x, y = case
    cache = scratch.forward(params, x)
    loss = scratch.mse_loss(cache.y_hat, y)
    grads = scratch.backward(params, cache, y)

    y_hat_ref, loss_ref, grads_ref = torch_reference(params, x, y)

    np.testing.assert_allclose(cache.y_hat, y_hat_ref, rtol=0, atol=FORWARD_TOL)
    assert abs(loss - loss_ref) <= FORWARD_TOL
    assert set(grads) == set(scratch.PARAM_NAMES)
    for name in scratch.PARAM_NAMES:
        assert grads[name].shape == getattr(params, name).shape, name
        np.testing.assert_allclose(grads[name], grads_ref[name], rtol=0, atol=GRAD_TOL, err_msg=name)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_hidden_states_match_nn_rnn(nonlinearity):
    params = scratch.init(3, 4, 5, 2, seed=7, nonlinearity=nonlinearity)
    x = np.random.default_rng(0).standard_normal((2, 5, 3))  # (B, T, I)
    rnn = torch.nn.RNN(3, 4, batch_first=True, nonlinearity=nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(params.W_x.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params.W_h.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params.b))
        rnn.bias_hh_l0.zero_()
        out, h_last = rnn(torch.from_numpy(x))  # (B, T, H), (1, B, H)
    cache = scratch.forward(params, x)
    np.testing.assert_allclose(cache.h[:, 1:], out.numpy(), rtol=0, atol=FORWARD_TOL)
    np.testing.assert_allclose(cache.h[:, -1], h_last[0].numpy(), rtol=0, atol=FORWARD_TOL)
    np.testing.assert_allclose(cache.concat, out.numpy().reshape(2, 20), rtol=0, atol=FORWARD_TOL)


# --------------------------------------------------------------------------- #
# Against finite differences
# --------------------------------------------------------------------------- #


def _loss(params, x, y):
    return scratch.mse_loss(scratch.forward(params, x).y_hat, y)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_gradients_match_finite_differences(case):
    params, x, y = case
    eps = 1e-6
    cache = scratch.forward(params, x)
    if params.nonlinearity == "relu":
        # a nudge of eps moves each pre-activation by far less than this margin,
        # so no finite difference straddles the kink at 0
        assume(np.min(np.abs(cache.a)) > 1e-3)
    grads = scratch.backward(params, cache, y)
    for name in scratch.PARAM_NAMES:
        value = getattr(params, name)
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[index] += eps
            minus[index] -= eps
            numeric[index] = (
                _loss(replace(params, **{name: plus}), x, y)
                - _loss(replace(params, **{name: minus}), x, y)
            ) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


# --------------------------------------------------------------------------- #
# The pieces
# --------------------------------------------------------------------------- #


def test_import_does_not_pull_in_torch():
    code = "import seqtext.scratch, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_joined_input_times_w_equals_split_form():
    params = scratch.init(2, 3, 4, seed=1)
    rng = np.random.default_rng(0)
    x_t = rng.standard_normal((5, 2))  # (B, I)
    h_prev = rng.standard_normal((5, 3))  # (B, H)
    joined = np.concatenate([x_t, h_prev], axis=1)  # (B, I+H)
    assert params.W.shape == (5, 3)
    np.testing.assert_allclose(joined @ params.W, x_t @ params.W_x + h_prev @ params.W_h, atol=1e-14)


def test_forward_shapes_and_zero_initial_state():
    params = scratch.init(2, 3, 4, 5, seed=2, nonlinearity="relu")
    cache = scratch.forward(params, np.ones((6, 4, 2)))
    assert cache.a.shape == (6, 4, 3)
    assert cache.h.shape == (6, 5, 3)
    assert not cache.h[:, 0].any()
    assert cache.concat.shape == (6, 12)
    assert cache.y_hat.shape == (6, 5)
    assert (cache.h >= 0).all()


def test_init_is_seeded_and_shaped():
    a = scratch.init(2, 3, 4, 5, seed=3)
    b = scratch.init(2, 3, 4, 5, seed=3)
    for name in scratch.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.W_x.shape, a.W_h.shape, a.b.shape, a.W_lin.shape, a.b_lin.shape) == (
        (2, 3),
        (3, 3),
        (3,),
        (12, 5),
        (5,),
    )
    assert (a.input_size, a.hidden_size, a.seq_len, a.output_size) == (2, 3, 4, 5)


def test_sgd_step_subtracts_lr_times_gradient_and_keeps_the_old_params():
    params = scratch.init(1, 2, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 3, 1))  # (B, T, I)
    y = np.zeros((4, 1))  # (B, O)
    grads = scratch.backward(params, scratch.forward(params, x), y)
    before = {name: value.copy() for name, value in params.arrays().items()}
    updated = scratch.sgd_step(params, grads, 0.05)
    for name in scratch.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(updated, name), before[name] - 0.05 * grads[name])
        np.testing.assert_array_equal(getattr(params, name), before[name])
    assert _loss(updated, x, y) < _loss(params, x, y)
    again = scratch.sgd_step(params, grads, np.float32(0.05))  # a numpy number is a number
    np.testing.assert_allclose(again.W_h, updated.W_h, rtol=1e-6)


def test_train_lowers_the_loss():
    x, y = examples.make_windows(np.sin(np.linspace(0, 6, 40)), 4)
    params = scratch.init(1, 3, 4, seed=0)
    _, losses = scratch.train(params, x, y, lr=0.1, epochs=200)
    assert len(losses) == 200
    assert losses[-1] < 0.1 * losses[0]


def test_make_windows_and_parse_sequence():
    x, y = examples.make_windows(examples.parse_sequence("10, 20,30 40 50"), 3)
    assert x.shape == (2, 3, 1) and y.shape == (2, 1)
    np.testing.assert_array_equal(x[:, :, 0], [[10, 20, 30], [20, 30, 40]])
    np.testing.assert_array_equal(y[:, 0], [40, 50])


def test_normaliser_round_trips():
    scaler = examples.Normaliser.fit([10, 20, 30, 40])
    z = scaler.transform([10, 20, 30, 40])
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    np.testing.assert_allclose(scaler.inverse(z), [10, 20, 30, 40])
    assert examples.Normaliser.fit([5, 5, 5]).std == 1.0


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: examples.make_windows([], 3), DataError, "empty"),
        (lambda: examples.make_windows([1, "a", 3], 1), DataError, "numbers only"),
        (lambda: examples.make_windows([1, float("nan"), 3], 1), DataError, "finite"),
        (lambda: examples.make_windows([1, 2, 3], 3), DataError, "at least 4 values"),
        (lambda: examples.make_windows([1, 2, 3], 5), DataError, "smaller window"),
        (lambda: examples.make_windows([1, 2, 3], 0), ConfigError, "window"),
        (lambda: examples.make_windows("1,2,3", 1), DataError, "not a string"),
        (lambda: examples.parse_sequence("10, 20, thirty"), DataError, "'thirty'"),
        (lambda: examples.parse_sequence("  "), DataError, "empty"),
        (lambda: scratch.init(1, 0, 3), ConfigError, "hidden size"),
        (lambda: scratch.init(1, 2, 3, nonlinearity="sigmoid"), ConfigError, "nonlinearity"),
        (lambda: scratch.forward(scratch.init(1, 2, 3), np.zeros((2, 4, 1))), DataError, "shape"),
        (lambda: scratch.sgd_step(scratch.init(1, 2, 3), {}, 0), ConfigError, "learning rate"),
        (lambda: scratch.backprop_through_time(scratch.init(1, 2, 3), scratch.forward(scratch.init(1, 2, 3),
                                                                                       np.zeros((2, 3, 1))),
                                               np.zeros((2, 3))), DataError, "dH has shape (2, 3)"),
    ],
)
def test_bad_input_is_one_clear_sentence(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert words in message
    assert "\n" not in message and message.endswith(".")


# --------------------------------------------------------------------------- #
# The worked example and vanishing gradients
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_worked_example_predicts_100_within_3_percent(seed):
    result = examples.worked_example(seed=seed)
    assert result["query"] == [70.0, 80.0, 90.0]
    # the query window is held out, so 100 is predicted, not memorised
    assert result["train_windows"] == 16
    assert result["final_loss"] < result["first_loss"]
    assert abs(result["prediction"] - 100.0) <= 3.0, result["prediction"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_norms_shrink_with_distance(seed):
    tanh = examples.gradient_norms(30, 8, "tanh", seed)
    relu = examples.gradient_norms(30, 8, "relu", seed)
    assert len(tanh) == len(relu) == 30
    assert tanh[0] == relu[0] == 1.0
    assert tanh[10] < 1e-1 and tanh[-1] < 1e-3
    assert relu[-1] < 1e-3

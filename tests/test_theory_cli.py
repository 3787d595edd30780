"""``seqtext theory``: the hand-worked training step, gradient norms and worked example."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from seqtext.cli import cli

from conftest import assert_clean_failure


def run(*args):
    return CliRunner().invoke(cli, ["theory", *args])


def test_text_output_walks_through_one_step():
    result = run()
    assert result.exit_code == 0, result.output
    out = result.output
    for section in (
        "Data",
        "x (3, 1)",
        "W (3, 2)",
        "W_x (1, 2)",
        "W_h (2, 2)",
        "b (2,)",
        "[x_1, h_0] (3,)",
        "a_1 = x_1 W_x + h_0 W_h + b",
        "h_1 = tanh(a_1)",
        "h_3 = tanh(a_3)",
        "concatenation [h_1, h_2, h_3] (6,)",
        "y_hat = concat W_lin + b_lin (1,)",
        "loss = mean((y_hat - y)^2)",
        "Backward",
        "dL/dy_hat",
        "dL/dW_lin = concat^T dL/dy_hat (6, 1)",
        "dL/db_lin (1,)",
        "reshaped to (T, H) (3, 2)",
        "dL/dh_1 (2,)",
        "dL/dW_x = sum_t x_t^T dL/da_t (1, 2)",
        "dL/dW_h = sum_t h_(t-1)^T dL/da_t (2, 2)",
        "dL/db = sum_t dL/da_t (2,)",
        "Update, P <- P - lr * dL/dP",
    ):
        assert section in out, section


def test_text_output_follows_the_options():
    result = run("--sequence", "1,2,3,4,5,6", "--window", "4", "--hidden", "3", "--nonlinearity", "relu")
    assert result.exit_code == 0, result.output
    assert "W_h (3, 3)" in result.output
    assert "h_4 = relu(a_4)" in result.output
    assert "dL/dW_lin = concat^T dL/dy_hat (12, 1)" in result.output


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "identity"])
def test_json_gradients_have_the_right_shapes_and_the_update_is_w_minus_lr_grad(nonlinearity):
    lr = 0.05
    result = run("--json", "--hidden", "3", "--window", "4", "--lr", str(lr), "--nonlinearity", nonlinearity)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    shapes = {"W_x": [1, 3], "W_h": [3, 3], "b": [3], "W_lin": [12, 1], "b_lin": [1]}
    assert {name: g["shape"] for name, g in data["gradients"].items()} == shapes
    for name, shape in shapes.items():
        weight = np.array(data["weights"][name])
        grad = np.array(data["gradients"][name]["value"])
        assert list(weight.shape) == list(grad.shape) == shape
        np.testing.assert_allclose(np.array(data["updated"][name]), weight - lr * grad, rtol=0, atol=1e-15)
    # W is W_x stacked on W_h
    np.testing.assert_array_equal(
        np.array(data["weights"]["W"]), np.vstack([data["weights"]["W_x"], data["weights"]["W_h"]])
    )
    assert len(data["steps"]) == 4
    assert len(data["concat"]) == 12
    assert data["intermediate_gradients"]["H"]["shape"] == [4, 3]
    assert data["loss"] == pytest.approx((data["y_hat"][0] - data["y"][0]) ** 2)
    # the loss on the same window after the update, as the text output prints it: lower after a small step
    text = run("--hidden", "3", "--window", "4", "--lr", str(lr), "--nonlinearity", nonlinearity).output
    assert f"loss on this window: {data['loss']:.6f} before, {data['loss_after']:.6f} after" in text
    assert data["loss_after"] < data["loss"]


def test_json_matches_the_library():
    from seqtext import scratch
    from seqtext import scratch_examples as examples

    data = json.loads(run("--json").output)
    values = np.arange(10.0, 100.0, 10.0)  # (9,)
    scaler = examples.Normaliser.fit(values)
    x, y = examples.make_windows(scaler.transform(values), 3)  # (6, 3, 1), (6, 1)
    params = scratch.init(1, 2, 3, seed=0)
    grads = scratch.backward(params, scratch.forward(params, x[:1]), y[:1])
    for name, grad in grads.items():
        np.testing.assert_allclose(np.array(data["gradients"][name]["value"]), grad, rtol=0, atol=1e-15)


def test_gradient_norms_table_and_tanh_decay():
    result = run("--gradient-norms")
    assert result.exit_code == 0, result.output
    assert "tanh" in result.output and "relu" in result.output
    assert "diag(f'(a_t)) W_h^T" in result.output
    rows = [line.split() for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(30))

    data = json.loads(run("--gradient-norms", "--json").output)
    tanh = data["tanh"]
    assert len(tanh) == len(data["relu"]) == 30 == len(data["distance"])
    assert tanh[0] == 1.0
    assert tanh[5] < tanh[0] and tanh[15] < tanh[5] and tanh[29] < tanh[15]
    assert tanh[29] < 1e-3


def test_gradient_norms_follow_length_and_hidden():
    data = json.loads(run("--gradient-norms", "--json", "--length", "12", "--hidden", "4").output)
    assert data["seq_len"] == 12 and data["hidden"] == 4 and len(data["tanh"]) == 12


def test_worked_example_predicts_100():
    result = run("--worked-example", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert abs(data["prediction"] - 100) <= 3
    text = run("--worked-example").output
    assert "[70, 80, 90] ->" in text and "target 100" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (["--sequence", "10,20,abc,40,50"], "numbers only"),
        (["--sequence", "10,20,inf,40,50"], "finite numbers"),
        (["--sequence", "1e308,1e308,2,3,4"], "too large to normalise"),  # the mean overflows
        (["--sequence", "1e200,2,3,4,5"], "too large to normalise"),  # the spread (squares) overflows
        (["--sequence", ""], "empty"),
        (["--sequence", " , "], "empty"),
        (["--sequence", "10,20,30", "--window", "5"], "smaller window"),
        (["--sequence", "10,20,30", "--window", "3"], "at least 4 values"),
        (["--window", "0"], "window"),
        (["--hidden", "0"], "Invalid value for '--hidden': 0 is not in the range 1<=x<=4096."),
        (["--nonlinearity", ""], "'--nonlinearity': '' is not one of 'tanh', 'relu', 'identity'."),  # not tanh
        (["--worked-example", "--nonlinearity", ""], "'--nonlinearity': '' is not one of"),
        (["--worked-example", "--epochs", "10" * 10], "'--epochs': 10101010101010101010 is not in the range"),
        (["--gradient-norms", "--length", "10000", "--hidden", "4096"],
         "--length 10000 with --hidden 4096 is more than a by-hand demonstration runs in seconds (length x hidden^2 "
         "is 167,772,160,000, at most 100,000,000); give a smaller --length or --hidden."),
        (["--gradient-norms", "--length", "5", "--hidden", "4096"], "--hidden 4096 is more than a by-hand "
         "demonstration runs in seconds (W_h's spectral radius takes hidden^3, 68,719,476,736, at most 100,000,000); "
         "give --hidden 464 or less."),  # it took a minute: the norm and eigenvalues of a 4096 x 4096 W_h
        (["--window", "20", "--hidden", "4096", "--sequence", ",".join(map(str, range(30)))],
         "--window 20 with --hidden 4096 is more than a by-hand demonstration"),
        (["--hidden", "4096", "--json"], "--json writes every weight and gradient in full, and --hidden 4096 makes "
         "16,777,216 numbers a matrix (at most 1,000,000); give --hidden 1000 or less, or leave out --json for the "
         "summarised view."),  # about 1.5 GB of JSON, where the text view summarises as NumPy prints
        (["--worked-example", "--lr", "50"], "gradient descent with --lr 50 diverged (the loss went from 0.4255 to nan "
                                             "in 3000 epochs); give a smaller --lr, e.g. 0.1."),
        (["--worked-example", "--lr", "100", "--epochs", "10"], "diverged (the loss went from 0.4255 to 2.61743e+59 "
                                                                "in 10 epochs)"),  # finite, yet far above the start
        (["--lr", "1e308"], "gradient descent with --lr 1e+308 diverged (the loss on the window went from 0.114420 "
                            "to inf in one update)"),
        (["--nonlinearity", "sigmoid"], "nonlinearity"),
        (["--lr", "0"], "learning rate"),
        (["--seed", str(10 ** 20)], "'--seed': 100000000000000000000 is not in the range 0<=x<=9223372036854775807"),
        (["--gradient-norms", "--sequence", "1,2,3,4"], "--sequence"),
        (["--gradient-norms", "--worked-example"], "pick one"),
        (["--sequence", "1,,2,3,4"], "the sequence has an empty item (item 2)"),
        (["--gradient-norms", "--lr", "7"], "--lr has no effect with --gradient-norms (it is for --worked-example "
                                            "or the one-step view); leave it out."),
        (["--worked-example", "--length", "5"], "--length has no effect with --worked-example (it is for "
                                                "--gradient-norms)"),
    ],
)
def test_bad_input_is_one_clear_line(args, words):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow warnings stay out of a diverging run
        result = run(*args)
    assert_clean_failure(result, words)


@pytest.mark.parametrize("args", [["--sequence", "1,2,x"], ["--sequence", "1,,2,3"], ["--sequence", ""],
                                  ["--nonlinearity", "sigmoid"], ["--worked-example", "--nonlinearity", "Tanh"]])
def test_a_value_an_option_cannot_take_is_a_usage_error_as_everywhere(args):
    from seqtext import scratch

    result = run(*args)
    assert result.exit_code == 2 and "Invalid value for '" + args[-2] + "'" in result.output, result.output
    from seqtext.cli.theory import theory

    choice = next(p.type for p in theory.params if p.name == "nonlinearity")
    assert tuple(choice.choices) == scratch.NONLINEARITIES  # the CLI's list is the library's


def test_gradient_norms_name_the_norm_and_spectral_radius_of_the_w_h_they_read():
    from seqtext import scratch

    for hidden, seed in ((8, 0), (2, 0), (1, 8)):
        data = json.loads(run("--gradient-norms", "--json", "--hidden", hidden, "--seed", seed).output)
        w_h = scratch.init(1, hidden, 30, seed=seed).W_h
        assert data["w_h_norm"] == pytest.approx(np.linalg.norm(w_h, 2), rel=1e-12)
        assert data["w_h_spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(w_h))), rel=1e-12)
        assert f"||W_h||_2 = {data['w_h_norm']:.3f} and the spectral radius is " in data["explanation"]
    # the default's W_h stretches one direction (norm above 1), yet its spectral radius is below 1 and the
    # gradient vanishes: the text must not say "a factor above 1 explodes"
    data = json.loads(run("--gradient-norms", "--json").output)
    assert data["w_h_norm"] > 1 > data["w_h_spectral_radius"] and data["tanh"][-1] < 1e-3
    assert "with f = identity the gradient would vanish; with tanh and relu f'(a_t) changes" in data["explanation"]
    # a W_h whose norm is below 1 shrinks the gradient at every step, whatever the nonlinearity
    small = json.loads(run("--gradient-norms", "--json", "--hidden", "1", "--seed", "8").output)
    assert small["w_h_norm"] < 1 and "below 1, so every step shrinks the gradient" in small["explanation"]
    assert max(small["tanh"][1:]) < 1 and max(small["relu"][1:]) <= 1


def test_a_loss_that_rises_for_a_few_epochs_and_comes_down_is_no_divergence():
    bump = run("--worked-example", "--lr", "0.6", "--epochs", "4")
    assert bump.exit_code == 0 and "loss 0.4255 -> 0.555350 after 4 epochs" in bump.output
    assert "diverged" not in run("--worked-example", "--lr", "0.6").output


def test_the_one_step_view_counts_every_window_and_reads_the_first():
    values = list(range(0, 2000, 10))
    data = json.loads(run("--json", "--window", "3", "--sequence", ",".join(map(str, values))).output)
    mean, std = np.mean(values), np.std(values)
    assert data["windows"] == len(values) - 3
    np.testing.assert_allclose([row[0] for row in data["x"]], (np.array(values[:3]) - mean) / std, rtol=1e-12)
    np.testing.assert_allclose(data["y"], [(values[3] - mean) / std], rtol=1e-12)


def test_a_trailing_comma_in_the_sequence_is_no_item():
    from seqtext.scratch_examples import parse_sequence

    assert parse_sequence("10, 20, 30, 40,").tolist() == [10.0, 20.0, 30.0, 40.0]


def test_a_step_that_raises_the_loss_is_pointed_out():
    rose = run("--lr", "100")
    assert rose.exit_code == 0 and "0.114420 before, 37997.182897 after" in rose.output
    assert "the loss rose: a step of --lr 100 overshoots" in rose.output
    assert "the loss rose" not in run().output

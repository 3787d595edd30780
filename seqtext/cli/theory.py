"""``seqtext theory``: one training step of a plain RNN, worked by hand.

The numbers come from :mod:`seqtext.scratch` (NumPy only), whose docstring
holds the equations; this command prints each intermediate array so the maths
can be followed with real values.  NumPy and the scratch module are imported
inside the command so ``seqtext --help`` stays fast.
"""

from __future__ import annotations

import click

from seqtext.cli.common import counted, echo_json, handle_errors
from seqtext.cli.theory_limits import DEFAULT_LR, diverged, too_much, too_much_json

_DEFAULT_SEQUENCE = "10,20,30,40,50,60,70,80,90"
_DEFAULT_WINDOW = 3
_DEFAULT_HIDDEN = 2
_DEFAULT_NORMS_HIDDEN = 8  # wide enough that a dead relu unit does not end the demo
_DEFAULT_NONLINEARITY = "tanh"

def _norms_explanation(norm: float, radius: float) -> str:
    """Why the gradient shrinks (or grows), with this W_h's largest singular value and spectral radius."""
    if norm < 1:  # tanh' and relu' are at most 1: every step shrinks the gradient
        verdict = "below 1, so every step shrinks the gradient, with tanh and relu alike: it vanishes"
    elif radius < 1:
        verdict = ("with f = identity the gradient would vanish; with tanh and relu f'(a_t) changes from step to "
                   "step, and such products can stretch more than W_h alone, so the table shows what happens")
    else:
        verdict = "with f' near 1 (small a_t) the gradient can keep its size or grow over many steps"
    return ("Each step back multiplies the gradient by the matrix diag(f'(a_t)) W_h^T. If ||W_h||_2 x max|f'| is "
            "below 1, every step shrinks it; in general what counts is how much the product of these matrices "
            "stretches per step over many steps, which for f = identity is W_h's spectral radius (its largest "
            "eigenvalue in size): below 1 the gradient vanishes geometrically with distance, above 1 it explodes. "
            f"Here ||W_h||_2 = {norm:.3f} and the spectral radius is {radius:.3f}; {verdict}.")


# what each view reads: the one-step view (no flag), --gradient-norms and --worked-example
_TAKES = {None: {"--sequence", "--window", "--hidden", "--nonlinearity", "--lr"},
          "--gradient-norms": {"--hidden", "--length"},
          "--worked-example": {"--nonlinearity", "--epochs", "--lr"}}


@click.command("theory")
@click.option("--sequence", default=None, help=f"Numbers separated by commas  [default: {_DEFAULT_SEQUENCE}]")
@click.option("--window", type=click.IntRange(min=1, max=10_000), default=None,
              help=f"Steps read per prediction  [default: {_DEFAULT_WINDOW}]")
@click.option(
    "--hidden",
    type=click.IntRange(min=1, max=4096),  # a by-hand demonstration; with --window or --length, see theory_limits.WORK
    default=None,
    help=f"Hidden size  [default: {_DEFAULT_HIDDEN}; {_DEFAULT_NORMS_HIDDEN} with --gradient-norms]",
)
@click.option("--lr", type=float, default=None, help=f"Learning rate of the update  [default: {DEFAULT_LR}]")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed of the initial weights (with --gradient-norms, also of the random inputs).")
@click.option(
    "--nonlinearity", type=click.Choice(["tanh", "relu", "identity"]), default=None,
    help=f"The hidden layer's function  [default: {_DEFAULT_NONLINEARITY}]",
)
@click.option(
    "--gradient-norms",
    is_flag=True,
    help="Show how the gradient reaching step t shrinks with distance, for tanh and relu, and why.",
)
@click.option("--length", type=click.IntRange(min=1, max=10_000), default=None,
              help="Sequence length for --gradient-norms  [default: 30]")
@click.option(
    "--worked-example",
    is_flag=True,
    help="Train on 10, 20, ..., 200 with the hand-written gradients and predict after [70, 80, 90].",
)
@click.option("--epochs", type=click.IntRange(min=1, max=100_000), default=None,
              help="Epochs for --worked-example  [default: 3000]")
@click.option("--json", "as_json", is_flag=True, help="Print the same as one JSON document.")
@handle_errors
def theory(sequence, window, hidden, lr, seed, nonlinearity, gradient_norms, length, worked_example, epochs, as_json):
    """Step through the maths of a plain RNN: forward, back-propagation through time, update.

    By default prints one training step on the first window of --sequence:
    the input of each step, W split into its input and hidden parts, each
    hidden array, their concatenation, y_hat, the loss, every gradient with
    its shape and the updated weights.  The equations are in seqtext/scratch.py.
    """
    from seqtext.errors import ConfigError

    if gradient_norms and worked_example:
        raise ConfigError("--gradient-norms and --worked-example show different things; pick one.")
    given = {
        "--sequence": sequence is not None,
        "--window": window is not None,
        "--hidden": hidden is not None,
        "--nonlinearity": nonlinearity is not None,
        "--length": length is not None,
        "--epochs": epochs is not None,
        "--lr": lr is not None,
    }
    mode = "--gradient-norms" if gradient_norms else "--worked-example" if worked_example else None
    unused = [name for name, was_given in given.items() if was_given and name not in _TAKES[mode]]
    if unused:
        where = f"with {mode}" if mode else "without --gradient-norms or --worked-example"
        homes = sorted({m or "the one-step view" for m, takes in _TAKES.items() for name in unused if name in takes})
        has, it = ("has", "it") if len(unused) == 1 else ("have", "they")
        raise ConfigError(f"{', '.join(unused)} {has} no effect {where} ({it} {'is' if it == 'it' else 'are'} for "
                          f"{' or '.join(homes)}); leave {'it' if it == 'it' else 'them'} out.")
    lr = DEFAULT_LR if lr is None else lr
    nonlinearity = _DEFAULT_NONLINEARITY if nonlinearity is None else nonlinearity  # "" is refused, not tanh

    if gradient_norms:
        hidden = _DEFAULT_NORMS_HIDDEN if hidden is None else hidden
        _gradient_norms(30 if length is None else length, hidden, seed, as_json)
    elif worked_example:
        _worked_example(seed, 3000 if epochs is None else epochs, lr, nonlinearity, as_json)
    else:
        _one_step(
            _DEFAULT_SEQUENCE if sequence is None else sequence,
            _DEFAULT_WINDOW if window is None else window,
            _DEFAULT_HIDDEN if hidden is None else hidden,
            lr,
            seed,
            nonlinearity,
            as_json,
        )


# --------------------------------------------------------------------------- #
# Formatting
# --------------------------------------------------------------------------- #


def _fmt(array, indent: int = 0) -> str:
    """An array on one line, or one row a line aligned under the first."""
    import numpy as np

    text = np.array2string(
        np.asarray(array, dtype=float), precision=4, floatmode="fixed", suppress_small=True, separator=", "
    )
    return text.replace("\n", "\n" + " " * indent)


def _shape(array) -> str:
    shape = tuple(array.shape)
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _line(label: str, array, width: int = 24) -> None:
    """``label (shape) = values``; a matrix with a long label starts on the next line."""
    head = f"  {label} {_shape(array)}"
    if len(head) <= width or getattr(array, "ndim", 1) == 1:
        head = head.ljust(width) + " = "
        click.echo(head + _fmt(array, indent=len(head)))
    else:
        pad = " " * (len(head) - len(head.lstrip()) + 4)
        click.echo(head)
        click.echo(pad + _fmt(array, indent=len(pad)))


def _numbers(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


# --------------------------------------------------------------------------- #
# The three views
# --------------------------------------------------------------------------- #


def _one_step(sequence_text, window, hidden, lr, seed, nonlinearity, as_json) -> None:
    import numpy as np

    from seqtext import scratch
    from seqtext import scratch_examples as examples
    from seqtext.errors import DataError

    try:
        values = examples.parse_sequence(sequence_text)  # (N,)
    except DataError as exc:  # a value the option cannot take: a usage error (exit 2), as click's own checks
        raise click.BadParameter(str(exc), param_hint="'--sequence'") from None
    scratch.check_nonlinearity(nonlinearity)
    too_much("--window", window, hidden)
    if as_json:
        too_much_json(hidden)
    scaler = examples.Normaliser.fit(values)
    # the first window only, as a batch of one, so each step's input is a single number
    x, y = examples.make_windows(scaler.transform(values[:window + 1]), window)  # (1, T, 1), (1, 1)
    windows = len(values) - window
    params = scratch.init(1, hidden, window, 1, seed=seed, nonlinearity=nonlinearity)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging update is refused below, not warned of
        cache = scratch.forward(params, x)
        loss = scratch.mse_loss(cache.y_hat, y)
        grads, trace = scratch.backward_trace(params, cache, y)
        updated = scratch.sgd_step(params, grads, lr)
        after = scratch.mse_loss(scratch.forward(updated, x).y_hat, y)  # the same window, with the new weights
    diverged(f"the loss on the window went from {loss:.6f} to {after:g} in one update", lr, after)
    prediction = float(scaler.inverse(cache.y_hat)[0, 0])

    steps = []
    for t in range(window):
        steps.append(
            {
                "t": t + 1,
                "x": cache.x[0, t],  # (I,)
                "h_prev": cache.h[0, t],  # (H,)
                "joined": np.concatenate([cache.x[0, t], cache.h[0, t]]),  # (I+H,)
                "a": cache.a[0, t],  # (H,)
                "h": cache.h[0, t + 1],  # (H,)
                "dh": trace["h"][0, t],  # (H,)
                "da": trace["a"][0, t],  # (H,)
            }
        )

    if as_json:
        echo_json(
            {
                "sequence": values.tolist(),
                "normaliser": {"mean": scaler.mean, "std": scaler.std},
                "window": window,
                "hidden": hidden,
                "nonlinearity": nonlinearity,
                "lr": lr,
                "seed": seed,
                "windows": windows,
                "x": x[0].tolist(),  # (T, 1)
                "y": y[0].tolist(),  # (1,)
                "weights": {"W": params.W.tolist(), **{k: v.tolist() for k, v in params.arrays().items()}},
                "steps": [
                    {key: (value.tolist() if hasattr(value, "tolist") else value) for key, value in step.items()}
                    for step in steps
                ],
                "concat": cache.concat[0].tolist(),  # (T*H,)
                "y_hat": cache.y_hat[0].tolist(),  # (O,)
                "prediction": prediction,
                "loss": loss,
                "intermediate_gradients": {
                    "y_hat": {"shape": [1], "value": trace["y_hat"][0].tolist()},
                    "H": {"shape": list(trace["H"][0].shape), "value": trace["H"][0].tolist()},
                },
                "gradients": {
                    name: {"shape": list(g.shape), "value": g.tolist()} for name, g in grads.items()
                },
                "updated": {name: value.tolist() for name, value in updated.arrays().items()},
                "loss_after": after,
            }
        )
        return

    f = nonlinearity
    target = values[window]
    click.echo("One training step of a plain RNN, by hand (the equations are in seqtext/scratch.py)")
    click.echo("")
    click.echo("Data")
    click.echo(f"  sequence      {_numbers(values)}")
    click.echo(f"  normalised    z = (v - {scaler.mean:g}) / {scaler.std:.4g}")
    click.echo(
        f"  window        [{_numbers(values[:window])}] -> {target:g}, "
        f"the first of {windows} windows, as a batch of one"
    )
    _line("x", x[0])
    _line("y", y[0])
    click.echo("")
    click.echo(f"Weights (seed {seed}): one W multiplies the joined input [x_t, h_(t-1)]")
    _line("W", params.W)
    click.echo(f"  W is split into its input part (first {params.input_size} row) and hidden part (last "
               f"{hidden} row{'s' if hidden > 1 else ''})")
    _line("W_x", params.W_x)
    _line("W_h", params.W_h)
    _line("b", params.b)
    _line("W_lin", params.W_lin)
    _line("b_lin", params.b_lin)
    click.echo("")
    click.echo(f"Forward, h_0 = 0, the same W_x, W_h, b at every step, f = {f}")
    for step in steps:
        t = step["t"]
        click.echo(f"  step {t}")
        _line(f"  x_{t}", step["x"], width=28)
        _line(f"  [x_{t}, h_{t - 1}]", step["joined"], width=28)
        _line(f"  a_{t} = x_{t} W_x + h_{t - 1} W_h + b", step["a"], width=28)
        _line(f"  h_{t} = {f}(a_{t})", step["h"], width=28)
    names = ", ".join(f"h_{t}" for t in range(1, window + 1)) if window <= 4 else f"h_1, h_2, ..., h_{window}"
    _line(f"concatenation [{names}]", cache.concat[0])
    _line("y_hat = concat W_lin + b_lin", cache.y_hat[0])
    click.echo(f"  y_hat in the sequence's units = {prediction:.4f} (target {target:g})")
    click.echo(f"  loss = mean((y_hat - y)^2) = {loss:.6f}")
    click.echo("")
    click.echo("Backward (chain rule)")
    _line(f"dL/dy_hat = 2 (y_hat - y) / n, n = {y.size}", trace["y_hat"][0])
    _line("dL/dW_lin = concat^T dL/dy_hat", grads["W_lin"])
    _line("dL/db_lin", grads["b_lin"])
    _line("dL/dH = dL/dy_hat W_lin^T, reshaped to (T, H)", trace["H"][0])
    click.echo("  through time, last step first: dL/dh_t = dL/dH[t] + dL/da_(t+1) W_h^T, dL/da_t = dL/dh_t * f'(a_t)")
    for step in reversed(steps):
        t = step["t"]
        _line(f"  dL/dh_{t}", step["dh"], width=28)
        _line(f"  dL/da_{t}", step["da"], width=28)
    _line("dL/dW_x = sum_t x_t^T dL/da_t", grads["W_x"])
    _line("dL/dW_h = sum_t h_(t-1)^T dL/da_t", grads["W_h"])
    _line("dL/db = sum_t dL/da_t", grads["b"])
    click.echo("")
    click.echo(f"Update, P <- P - lr * dL/dP with lr = {lr:g}")
    for name, value in updated.arrays().items():
        _line(name, value)
    click.echo(f"  loss on this window: {loss:.6f} before, {after:.6f} after")
    if after > loss:
        click.echo(f"  the loss rose: a step of --lr {lr:g} overshoots the minimum along the gradient; a smaller "
                   "--lr lowers it")


def _gradient_norms(length, hidden, seed, as_json) -> None:
    import numpy as np

    from seqtext import scratch
    from seqtext import scratch_examples as examples

    too_much("--length", length, hidden, cubed=True)
    table = {nl: examples.gradient_norms(length, hidden, nl, seed) for nl in ("tanh", "relu")}
    w_h = scratch.init(1, hidden, length, 1, seed=seed).W_h  # the W_h both tables read
    norm, radius = float(np.linalg.norm(w_h, 2)), float(np.max(np.abs(np.linalg.eigvals(w_h))))
    explanation = _norms_explanation(norm, radius)
    if as_json:
        echo_json(
            {
                "seq_len": length,
                "hidden": hidden,
                "seed": seed,
                "distance": list(range(length)),
                **table,
                "w_h_norm": norm,
                "w_h_spectral_radius": radius,
                "explanation": explanation,
            }
        )
        return
    click.echo(
        f"Gradient reaching step t from a loss at the last step (T = {length}, hidden size {hidden}, seed {seed})"
    )
    click.echo("||dL/dh_t|| relative to the last step, by distance T - t")
    click.echo(f"{'distance':>8}  {'tanh':>10}  {'relu':>10}")
    for distance in range(length):
        click.echo(f"{distance:>8}  {table['tanh'][distance]:>10.3e}  {table['relu'][distance]:>10.3e}")
    click.echo(explanation)


def _worked_example(seed, epochs, lr, nonlinearity, as_json) -> None:
    import numpy as np

    from seqtext import scratch_examples as examples

    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is refused below, not warned of
        result = examples.worked_example(seed=seed, epochs=epochs, lr=lr, nonlinearity=nonlinearity)
    span = counted(epochs)
    diverged(f"the loss went from {result['first_loss']:.4f} to {result['final_loss']:g} in {span}", lr,
              result["final_loss"], result["prediction"], start=result["first_loss"])
    params = result.pop("params")
    if as_json:
        result["weights"] = {name: value.tolist() for name, value in params.arrays().items()}
        echo_json(result)
        return
    click.echo("Worked example, trained from scratch with the hand-written gradients only")
    click.echo(
        f"  sequence 10, 20, ..., 200, windows of {result['window']} -> next value, "
        f"hidden size {result['hidden']}, {nonlinearity}, normalised (z-score)"
    )
    click.echo(f"  the window [{_numbers(result['query'])}] is held out: {result['train_windows']} training windows")
    click.echo(
        f"  loss {result['first_loss']:.4f} -> {result['final_loss']:.6f} after {span} "
        f"of gradient descent (lr {lr:g}, seed {seed})"
    )
    click.echo(
        f"  [{_numbers(result['query'])}] -> {result['prediction']:.2f} "
        f"(target {result['target']:g}, error {100 * result['relative_error']:.2f} %)"
    )

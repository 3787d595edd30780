"""Series commands: ``seqtext forecast train | predict | evaluate``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from seqtext.cli.common import FRACTION, POSITIVE, default_option, echo_json, handle_errors, note
from seqtext.config import CELLS, OPTIMIZERS, SERIES_DEFAULTS

PLOT_MISSING = "--plot needs matplotlib; install it with pip install 'seqtext[plot]'"


def _opt(name, kind, help=None, **extra):
    return default_option(SERIES_DEFAULTS, name, kind, help, **extra)


def _features(text: str | None) -> list[str]:
    if not text:
        return []
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise click.UsageError("--features has an empty name; give column names separated by commas, e.g. a,b.")
    return names


def _check_plot(plot: str | None) -> None:
    """Refuse --plot before any work when it cannot be written."""
    if plot is None:
        return
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise click.ClickException(PLOT_MISSING)
    if Path(plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.UsageError(f"--plot {plot} must end in .png, .svg or .pdf.")


def _number(value: float):
    """A metric for JSON: NaN (undefined) becomes null."""
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else round(value, 6)


@click.group()
def forecast():
    """Forecast numeric series with the same recurrent core as the text model.

    \b
      seqtext forecast train --csv corpora/series/airline.csv --target passengers \\
          --date month --window 24 --horizon 24 --log --out runs/airline
      seqtext forecast predict --model runs/airline --csv corpora/series/airline.csv --steps 24
      seqtext forecast evaluate --model runs/airline --csv corpora/series/airline.csv --holdout 24
    """


@forecast.command()
@click.option("--csv", "csv_path", required=True, metavar="FILE", help="CSV file with a header line.")
@click.option("--target", required=True, metavar="COL", help="Column to forecast.")
@click.option("--features", metavar="A,B", help="Covariate columns read at every step, comma-separated.")
@click.option("--date", metavar="COL", help="Date column: checked to increase; labels the forecasts.")
@click.option("--out", required=True, metavar="DIR", help="Model directory to write.")
@click.option("--holdout", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Leave out the last N values, to score them later with evaluate --holdout N.")
@_opt("--window", POSITIVE, "Steps read per forecast.")
@_opt("--horizon", POSITIVE, "Steps forecast at once; longer forecasts are rolled out.")
@_opt("--stride", POSITIVE, "Distance between consecutive training windows.")
@_opt("--scaler", click.Choice(["zscore", "minmax", "none"]), "Scaling fitted on the training part.")
@click.option("--log", is_flag=True, default=SERIES_DEFAULTS["log"],
              help="Log-transform the target first (positive series with a growing swing).")
@_opt("--head", click.Choice(["concat", "last"]), "concat: every step's hidden state; last: the final one.")
@_opt("--level", click.Choice(["mean", "last", "none"]),
      "Read each window relative to its mean or last value (helps trends), or as is.")
@click.option("--skip/--no-skip", default=SERIES_DEFAULTS["skip"], show_default=True,
              help="Add a linear autoregression over the window to the core's forecast.")
@_opt("--hidden", POSITIVE, "Hidden units per layer.")
@_opt("--layers", POSITIVE, "Stacked recurrent layers.")
@_opt("--nonlinearity", click.Choice(["tanh", "relu"]), "Activation of the plain RNN cell.")
@_opt("--dropout", FRACTION, "Dropout between stacked layers.")
@_opt("--weight-drop", FRACTION, "DropConnect on the core's hidden-to-hidden weights while training.")
@click.option("--bidirectional", is_flag=True, default=SERIES_DEFAULTS["bidirectional"],
              help="Read each input window both ways (it holds only the past).")
@_opt("--cell", click.Choice(CELLS), "Recurrent cell; rnn is nn.RNN.")
@click.option("--fill", is_flag=True, default=SERIES_DEFAULTS["fill"],
              help="Interpolate missing or non-finite values instead of refusing them.")
@_opt("--epochs", POSITIVE, "Upper bound on epochs; early stopping usually ends sooner.")
@_opt("--batch-size", POSITIVE, "Windows per batch.")
@_opt("--optimizer", click.Choice(OPTIMIZERS), "adam, or plain SGD (give it a large --lr, e.g. 20).")
@_opt("--lr", click.FloatRange(min=0, min_open=True), "Learning rate.")
@_opt("--weight-decay", click.FloatRange(min=0), "L2 penalty on the weights.")
@_opt("--patience", POSITIVE, "Epochs without improvement before stopping.")
@_opt("--valid-fraction", FRACTION,
      "Share of the series' end held out for early stopping (0: stop on the training loss).")
@_opt("--seed", click.IntRange(min=0), "Seed for initialisation and data order.")
@_opt("--device", str, "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@_opt("--threads", POSITIVE, "CPU threads for training.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def train(csv_path, target, features, date, out, holdout, quiet, **options):
    """Train a forecaster on one column of a CSV file."""
    from seqtext.checkpoint import OutputLock, check_output_dir
    from seqtext.series import Forecaster
    from seqtext.train import TrainingInterrupted

    names = _features(features)
    check_output_dir(out)  # before training, so a bad --out costs nothing
    with OutputLock(out):
        try:
            model = _fit(Forecaster(progress=not quiet, **options), csv_path, target, names, date, holdout,
                         options["fill"])
            path = model.save(out)
        except TrainingInterrupted:
            # a series trains in seconds: nothing half-done is kept, the previous model (if any) stays
            note(f"interrupted: nothing was written to {out}; run the command again to train.")
            raise SystemExit(130) from None
    s = model.summary
    click.echo(f"model written to {path}")
    line = (f"trained on {s['train_values']} values ({s['train_windows']} windows), "
            f"{s['epochs_run']} epochs, {s['seconds']:.1f} s")
    if "valid_mae" in s:
        line += f"; validation MAE {s['valid_mae']:.4g} over {s['valid_windows']} windows"
    click.echo(line)


def _fit(model, csv_path, target, names, date, holdout, fill):
    """Fit on the CSV, leaving out its last ``holdout`` values."""
    from seqtext.series import read_table

    data = Path(csv_path)
    if holdout:
        table = read_table(data, target, names, date, fill=fill)
        if holdout >= table.n:
            raise click.UsageError(f"--holdout {holdout} leaves nothing to train on ({table.n} values in {data}).")
        data = table.head(table.n - holdout)
    return model.fit(data, target=target, features=names, date=date)


def _load(model: str, fill: bool):
    from seqtext.series import Forecaster

    forecaster = Forecaster.load(model)
    if fill:
        forecaster.series_config.fill = True
    return forecaster


@forecast.command()
@click.option("--model", required=True, metavar="DIR", help="Model directory written by forecast train.")
@click.option("--csv", "csv_path", metavar="FILE",
              help="History to forecast from (the model's columns; rows after the last target value may carry "
                   "future covariates)  [default: the end of the training series]")
@click.option("--steps", type=POSITIVE, help="Values to forecast  [default: the model's horizon]")
@click.option("--fill", is_flag=True, help="Interpolate missing or non-finite values in the history.")
@click.option("--json", "as_json", is_flag=True, help="Print the forecast as JSON.")
@click.option("--plot", metavar="FILE.png", help="Draw the history and the forecast to an image.")
@handle_errors
def predict(model, csv_path, steps, fill, as_json, plot):
    """Forecast the values after the history."""
    from seqtext.series import future_dates, plot_forecast

    _check_plot(plot)
    forecaster = _load(model, fill)
    table = forecaster.read(Path(csv_path) if csv_path else None)
    steps = steps or forecaster.series_config.horizon
    values = forecaster.predict(steps, history=table)
    dates = _forecast_dates(table, steps, future_dates)
    target = forecaster.series_config.target
    if plot:
        labels = table.dates[: table.n] + dates if dates else None
        plot_forecast(plot, table.target, values, dates=labels, title=f"{target}: {steps}-step forecast")
    rows = [{"step": k + 1, **({"date": dates[k]} if dates else {}), "value": float(v)} for k, v in enumerate(values)]
    if as_json:
        echo_json({"target": target, "steps": steps, "forecast": rows})
    else:
        for row in rows:
            click.echo(f"{row.get('date', row['step'])}\t{row['value']:.4f}")
    if plot:
        note(f"plot written to {plot}")


def _forecast_dates(table, steps: int, future_dates) -> list | None:
    """Labels of the forecast rows: the table's own beyond the last value, then extended evenly."""
    if table.dates is None:
        return None
    own = table.dates[table.n : table.n + steps]
    if len(own) == steps:
        return own
    more = future_dates(table.dates[: table.n + len(own)], steps - len(own))
    return own + more if more is not None else None


@forecast.command()
@click.option("--model", required=True, metavar="DIR", help="Model directory written by forecast train.")
@click.option("--csv", "csv_path", required=True, metavar="FILE", help="The series, with the values to hold out.")
@click.option("--holdout", type=POSITIVE, help="Last values to forecast and score  [default: the model's horizon]")
@click.option("--season", type=POSITIVE, default=1, show_default=True,
              help="Period of the seasonal-naive forecast that scales MASE (1: the naive last value).")
@click.option("--fill", is_flag=True, help="Interpolate missing or non-finite values.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--plot", metavar="FILE.png", help="Draw the history, the roll-out forecast and the actual values.")
@handle_errors
def evaluate(model, csv_path, holdout, season, fill, as_json, plot):
    """Score forecasts of the last --holdout values from the history before them (nothing is refitted).

    Two ways: one roll-out of --holdout steps from the end of the history, and
    one step ahead (each value from all the actual values before it).
    """
    from seqtext.series import forecast_metrics, plot_forecast

    _check_plot(plot)
    forecaster = _load(model, fill)
    table = forecaster.read(Path(csv_path), allow_future=False)
    rollout = forecaster.forecast_holdout(table, holdout)
    one_step = forecaster.forecast_holdout(table, holdout, one_step=True)
    n_hold, origin = len(rollout["actual"]), table.n - len(rollout["actual"])
    results = {
        "rollout": forecast_metrics(rollout["actual"], rollout["forecast"], rollout["history"], season),
        "one_step": forecast_metrics(one_step["actual"], one_step["forecast"], one_step["history"], season),
    }
    target = forecaster.series_config.target
    if forecaster.seen_in_training(table, origin):
        note(f"note: the model was trained on values up to {forecaster.tail['dates'][-1]}, so it has seen the "
             "held-out values; train it without them for an honest score")
    if plot:
        plot_forecast(plot, rollout["history"], rollout["forecast"], actual=rollout["actual"],
                      dates=table.dates, title=f"{target}: last {n_hold} values held out")
    if as_json:
        echo_json({"target": target, "holdout": n_hold, "history": origin, "season": season,
                   **{k: {m: _number(v) for m, v in r.items()} for k, r in results.items()}})
    else:
        span = f" ({table.dates[origin]} to {table.dates[-1]})" if table.dates else ""
        click.echo(f"held out the last {n_hold} values of {target}{span}; forecast from the {origin} before them")
        click.echo(f"{'':18s}{'MAE':>12s}{'RMSE':>12s}{'MAPE %':>10s}{'sMAPE %':>10s}{'MASE':>8s}")
        for label, key in ((f"{n_hold}-step roll-out", "rollout"), ("one step ahead", "one_step")):
            r = results[key]
            click.echo(f"{label:18s}{r['mae']:12.4g}{r['rmse']:12.4g}{r['mape']:10.2f}{r['smape']:10.2f}"
                       f"{r['mase']:8.3f}")
    if plot:
        note(f"plot written to {plot}")

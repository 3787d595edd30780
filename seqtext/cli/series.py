"""Series commands: ``seqtext forecast train | predict | evaluate``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from seqtext.cli.common import POSITIVE, echo_json, handle_errors, note, run_training
from seqtext.cli.options import flag, given_options, training_command
from seqtext.config import SeriesSettings

PLOT_MISSING = "--plot needs matplotlib; install it with pip install 'seqtext[plot]'"
# how the library's parameters read on these commands: the series is --csv; predict and evaluate take
# their columns and transforms from the model
TRAIN_FLAGS = {"data": "--csv"}
MODEL_FLAGS = {"data": "--csv", "history": "--csv", "target": "the model's target",
               "features": "the model's features", "date": "the model's date column",
               "log": "the model's log transform"}
RESUMABLE = {"epochs", "patience"}  # what --resume may change


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
@click.option("--csv", "csv", metavar="FILE", help="CSV file with a header line  [required unless --resume]")
@click.option("--out", metavar="DIR", help="Model directory to write  [required unless --resume]")
@click.option("--holdout", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Leave out the last N values, to score them later with evaluate --holdout N.")
@training_command(SeriesSettings)
@handle_errors(flags=TRAIN_FLAGS)
@click.pass_context
def train(ctx, csv, out, holdout, resume, quiet, **options):
    """Train a forecaster on one column of a CSV file.

    The model directory is saved after every epoch; Ctrl-C leaves a resumable
    one, continued with --resume DIR.
    """
    from seqtext.modeldir import check_output_dir, open_model
    from seqtext.series import Forecaster

    if resume:
        changed = sorted(set(given_options(ctx, {**options, "holdout": holdout, "out": out})) - RESUMABLE)
        if changed:
            raise click.UsageError(f"--resume continues with the saved settings and data; only --epochs and "
                                   f"--patience may change (got {flag(changed[0])}).")
        out = Path(resume)
        open_model(out, SeriesSettings)  # a series model, before anything is locked
    else:
        for name, value in (("--csv", csv), ("--out", out)):
            if not value:
                raise click.UsageError(f"Missing option '{name}': give it, or --resume DIR to continue a training.")
        out = Path(out)
        check_output_dir(out)  # before training, so a bad --out costs nothing

    def work():
        if resume:
            limits = {name: options[name] for name in given_options(ctx, options) if name in RESUMABLE}
            return Forecaster.resume(out, Path(csv) if csv else None, progress=not quiet, checkpoint_dir=out,
                                     **limits)
        return Forecaster(progress=not quiet, **options).fit(Path(csv), holdout=holdout, checkpoint_dir=out)

    model = run_training(ctx, out, work, "seqtext forecast train --resume")
    if model is not None:
        _report(out, model.summary)


def _report(path, s: dict) -> None:
    click.echo(f"model written to {path}")
    line = (f"trained on {s['train_values']} values ({s['train_windows']} windows), "
            f"{s['epochs_run']} epochs, {s['seconds']:.1f} s")
    if "valid_mae" in s:
        line += f"; validation MAE {s['valid_mae']:.4g} over {s['valid_windows']} windows"
    click.echo(line)


def _load(model: str, fill: bool):
    from seqtext.series import Forecaster

    forecaster = Forecaster.load(model)
    if fill:
        forecaster.settings.series.fill = True
    return forecaster


@forecast.command()
@click.option("--model", required=True, metavar="DIR", help="Model directory written by forecast train.")
@click.option("--csv", "csv", metavar="FILE",
              help="History to forecast from (the model's columns; rows after the last target value may carry "
                   "future covariates)  [default: the end of the training series]")
@click.option("--steps", type=POSITIVE, help="Values to forecast  [default: the model's horizon]")
@click.option("--fill", is_flag=True, help="Interpolate missing or non-finite values in the history.")
@click.option("--json", "as_json", is_flag=True, help="Print the forecast as JSON.")
@click.option("--plot", metavar="FILE.png", help="Draw the history and the forecast to an image.")
@handle_errors(flags=MODEL_FLAGS)
def predict(model, csv, steps, fill, as_json, plot):
    """Forecast the values after the history."""
    from seqtext.series import plot_forecast

    _check_plot(plot)
    forecaster = _load(model, fill)
    table = forecaster.read(Path(csv) if csv else None)
    steps = steps or forecaster.settings.series.horizon
    rows = forecaster.forecast(steps, history=table)
    target = forecaster.settings.series.target
    if plot:
        dates = [row["date"] for row in rows] if "date" in rows[0] else None
        labels = table.dates[: table.n] + dates if dates else None
        plot_forecast(plot, table.target, [row["value"] for row in rows], dates=labels,
                      title=f"{target}: {steps}-step forecast")
    if as_json:
        echo_json({"target": target, "steps": steps, "forecast": rows})
    else:
        for row in rows:
            click.echo(f"{row.get('date', row['step'])}\t{row['value']:.4f}")
    if plot:
        note(f"plot written to {plot}")


@forecast.command()
@click.option("--model", required=True, metavar="DIR", help="Model directory written by forecast train.")
@click.option("--csv", "csv", required=True, metavar="FILE", help="The series, with the values to hold out.")
@click.option("--holdout", type=POSITIVE, help="Last values to forecast and score  [default: the model's horizon]")
@click.option("--season", type=POSITIVE, default=1, show_default=True,
              help="Period of the seasonal-naive forecast that scales MASE (1: the naive last value).")
@click.option("--fill", is_flag=True, help="Interpolate missing or non-finite values.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--plot", metavar="FILE.png", help="Draw the history, the roll-out forecast and the actual values.")
@handle_errors(flags=MODEL_FLAGS)
def evaluate(model, csv, holdout, season, fill, as_json, plot):
    """Score forecasts of the last --holdout values from the history before them (nothing is refitted).

    Two ways: one roll-out of --holdout steps from the end of the history, and
    one step ahead (each value from all the actual values before it).
    """
    from seqtext.series import forecast_metrics, plot_forecast

    _check_plot(plot)
    forecaster = _load(model, fill)
    table = forecaster.read(Path(csv), allow_future=False)
    rollout = forecaster.forecast_holdout(table, holdout)
    one_step = forecaster.forecast_holdout(table, holdout, one_step=True)
    n_hold, origin = len(rollout["actual"]), table.n - len(rollout["actual"])
    results = {
        "rollout": forecast_metrics(rollout["actual"], rollout["forecast"], rollout["history"], season),
        "one_step": forecast_metrics(one_step["actual"], one_step["forecast"], one_step["history"], season),
    }
    target = forecaster.settings.series.target
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

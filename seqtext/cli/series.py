"""Series commands: ``seqtext forecast train | predict | evaluate | backtest``."""

from __future__ import annotations

from pathlib import Path

import click

from seqtext.cli import series_report as report
from seqtext.cli.common import POSITIVE, counted, echo_json, first_process_only, handle_errors, note, run_training
from seqtext.cli.options import required_paths, resume_changes, resume_kind, training_command
from seqtext.cli.series_checks import check_out, check_outputs, check_plot, pick, write_both
from seqtext.config import SeriesSettings
from seqtext.errors import some
# how the library's parameters read on these commands: the series is --csv; predict and evaluate take
# their columns and transforms from the model
TRAIN_FLAGS = {"data": "--csv"}
MODEL_FLAGS = {"data": "--csv", "history": "--csv", "target": "the model's target",
               "features": "the model's features", "date": "the model's date column",
               "log": "--log", "log1p": "--log1p",  # the model's transform: "this model was trained with --log"
               "id": "the model's id column",
               "calibrate": "forecast train --calibrate", "horizon": "forecast train --horizon",
               "window": "forecast train --window", "valid_fraction": "forecast train --valid-fraction",
               "deseasonalize": "forecast train --deseasonalize",
               "past_features": "the model's past features", "calendar": "the model's calendar inputs",
               "static_features": "the model's static features"}


def _levels(ctx, param, value):
    """``--levels 80,95`` -> [80.0, 95.0]."""
    if value is None:
        return []
    try:
        levels = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of percentages, e.g. 80,95.") from None
    if not levels or not all(0 < v < 100 for v in levels):
        raise click.BadParameter(f"{value!r}: each level is a percentage between 0 and 100, e.g. 80,95.")
    return levels


LEVELS = click.option("--levels", callback=_levels, metavar="L,L",
                      help="Prediction intervals at these levels, % (e.g. 80,95); needs a calibrated model "
                           "(the default of forecast train when the series are long enough; see --calibrate).")
SEASON = click.option("--season", type=POSITIVE,
                      help="Period of seasonal naive (baseline and MASE scale)  [default: from the dates: 12 for "
                           "months, 4 quarters, 7 days, 5 weekdays, 52 weeks, 24 hours; else 1]")
BASELINES = click.option("--baselines", default="all", show_default=True, metavar="LIST",
                         help="Baselines scored on the same values: naive,snaive,drift,ets,theta, all or none "
                              "(ets and theta need statsmodels).")
MODEL = click.option("--model", required=True, metavar="DIR",
                     help="Model directory written by forecast train, or one written by `seqtext export`.")
SERIES = click.option("--series", "series_id", metavar="ID",
                      help="Many series: the one to plot  [default: the first]")


@click.group()
@click.pass_context
def forecast(ctx):
    """Forecast numeric series with the same recurrent core as the text model.

    \b
      seqtext forecast train --csv corpora/series/airline.csv --target passengers \\
          --date month --window 24 --horizon 24 --log --out runs/airline
      seqtext forecast predict --model runs/airline --csv corpora/series/airline.csv --steps 24
      seqtext forecast evaluate --model runs/airline --csv corpora/series/airline.csv --holdout 24
      seqtext forecast backtest --model runs/airline --csv corpora/series/airline.csv --steps 12
    """
    first_process_only(ctx)


@forecast.command()
@click.option("--csv", "csv", metavar="FILE", help="CSV file with a header line  [required unless --resume]")
@click.option("--out", metavar="DIR", help="Model directory to write  [required unless --resume]")
@click.option("--holdout", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Leave out the last N values, to score them later with evaluate --holdout N.")
@training_command(SeriesSettings)
@handle_errors(flags=TRAIN_FLAGS)
@click.pass_context
def train(ctx, csv, out, holdout, resume, quiet, **options):
    """Train a forecaster on one column of a CSV file (or on many series: --id COL).

    The model directory is saved as training goes (after the first epoch,
    then at most every 2 s, and at the end); Ctrl-C leaves a resumable one,
    continued with --resume DIR.  Then a copy is trained without the last
    values of each series (--calibrate N; by default the larger of the
    horizon and the season the dates suggest, at least 12, when the series
    are long enough; 0: none), whose rolling-origin errors calibrate the
    prediction intervals of predict --levels.
    """
    from seqtext.modeldir import check_output_dir, open_model
    from seqtext.series import Forecaster

    if resume:
        changes = resume_changes(ctx, options, {"holdout": holdout, "out": out})
        resume_kind(resume, SeriesSettings.kind)
        out = Path(resume)
        open_model(out, SeriesSettings)  # its settings readable, before anything is locked
    else:
        required_paths(("--csv", csv, "the CSV file to train on"), ("--out", out, "the model directory to write"))
        out = Path(out)
        check_output_dir(out)  # before training, so a bad --out costs nothing

    def work():
        if resume:
            return Forecaster.resume(out, Path(csv) if csv else None, progress=not quiet, checkpoint_dir=out,
                                     **changes)
        return Forecaster(progress=not quiet, **options).fit(Path(csv), holdout=holdout, checkpoint_dir=out)

    model = run_training(ctx, out, work, "seqtext forecast train --resume")
    if model is not None:
        report.trained(out, model.summary, model.task.intervals)


def _load(model: str, fill: bool):
    """A model directory on torch, or an exported one on onnxruntime (then torch is never imported)."""
    from seqtext.export import open_model

    forecaster = open_model(model, "series")
    if fill is not None:  # --fill or --no-fill; neither: as the model was trained
        forecaster.settings.series.fill = fill
    return forecaster


def _left_out(forecaster, csv, actuals, cases, skipped, series_id) -> dict:
    """{id: why} for the series of --csv that evaluate scores none of: too short, or without actual values."""
    why = dict.fromkeys(skipped, "was left out as too short to score")
    if actuals and series_id not in why and series_id not in [c[0] for c in cases]:  # read again only to say why
        if series_id in [k for k, _ in forecaster.read_series(Path(csv), allow_future=False)]:
            why[series_id] = f"has no actual values in {actuals}"
    return why


def _note_slow(names, cases: int) -> None:
    """ETS (four fits) and Theta per forecast take a while on many series or origins: say so, and how to skip."""
    slow = [n for n in ("ets", "theta") if n in names]
    if slow and cases > 20:
        note(f"fitting {' and '.join(n.upper() if n == 'ets' else n.title() for n in slow)} on {cases} histories "
             "(seconds each); --baselines naive,snaive,drift leaves them out")


@forecast.command()
@MODEL
@click.option("--csv", "csv", metavar="FILE",
              help="History to forecast from (the model's columns; rows after the last target value may carry "
                   "future covariates)  [default: the end of the training series]")
@click.option("--steps", type=POSITIVE, help="Values to forecast  [default: the model's horizon]")
@LEVELS
@click.option("--fill/--no-fill", default=None,
              help="Interpolate missing or non-finite values in the history, or refuse them  [default: as trained]")
@click.option("--json", "as_json", is_flag=True, help="Print the forecast as JSON.")
@click.option("--out", metavar="FILE.csv", help="Also write the forecast rows to a CSV file.")
@click.option("--plot", metavar="FILE.png", help="Draw the history and the forecast (and its intervals) to an image.")
@SERIES
@handle_errors(flags=MODEL_FLAGS)
def predict(model, csv, steps, levels, fill, as_json, out, plot, series_id):
    """Forecast the values after the history (of every series, for a model of many)."""
    from seqtext.series import infer, plot_forecast
    from seqtext.series.dates import forecast_dates
    from seqtext.series.intervals import level_name

    check_plot(plot, series_id)
    check_out(out)
    check_outputs({"--out": out, "--plot": plot}, {"--csv": csv})
    forecaster = _load(model, fill)
    series = forecaster.read_series(Path(csv) if csv else None)
    if not csv:
        infer.warn_left_out(forecaster)
    items, results = infer.predict(forecaster, steps, None, None, levels, items=series)
    rows = infer.as_rows(items, results)
    steps = len(results[0]["forecast"])
    target = forecaster.settings.series.target
    draw = None
    if plot:
        key, table = pick(items, series_id, dict.fromkeys([k for k, _ in series],
                                                          "was left out as too short to forecast from"))
        result = results[[k for k, _ in items].index(key)]
        dates = forecast_dates(table, steps)
        labels = table.dates[: table.n] + dates if dates else None
        names = [level_name(lv) for lv in levels]
        bands = [(name, result[f"lower_{name}"], result[f"upper_{name}"]) for name in names]
        draw = plot_forecast(plot, table.target, result["forecast"], dates=labels, bands=bands, deferred=True,
                             title=f"{target}{'' if key is None else ' ' + key}: {steps}-step forecast")
    write_both((lambda then: report.forecast_csv(out, rows, then)) if out else None, draw, plot)
    if as_json:
        echo_json({"target": target, "steps": steps, **({"levels": levels} if levels else {}), "forecast": rows})
    else:  # a tab-separated table under a header: the columns' names as in --json and --out
        label = "date" if "date" in rows[0] else "step"
        names = [k for k in rows[0] if k not in ("id", "step", "date", infer.LEGACY)]
        click.echo("\t".join(["id"] * ("id" in rows[0]) + [label] + names))
        for row in rows:
            cells = [str(row["id"])] if "id" in row else []
            cells.append(str(row.get(label, row["step"])))
            cells += [report.shown(row[k]) for k in names]
            click.echo("\t".join(cells))
    for what, path in (("plot", plot), ("forecast", out)):
        if path:
            note(f"{what} written to {path}")


@forecast.command()
@MODEL
@click.option("--csv", "csv", required=True, metavar="FILE",
              help="The series, with the values to hold out (the history only, with --actuals).")
@click.option("--holdout", type=POSITIVE, help="Last values to forecast and score  [default: the model's horizon]")
@click.option("--actuals", metavar="FILE",
              help="Score the values of this CSV file instead (the same columns; the rows after the history).")
@SEASON
@BASELINES
@LEVELS
@click.option("--fill/--no-fill", default=None,
              help="Interpolate missing or non-finite values in the history, or refuse them  [default: as trained]")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--plot", metavar="FILE.png", help="Draw the history, the roll-out forecast and the actual values.")
@SERIES
@handle_errors(flags={**MODEL_FLAGS, "steps": "--holdout (or the rows of --actuals)"})
def evaluate(model, csv, holdout, actuals, season, baselines, levels, fill, as_json, plot, series_id):
    """Score forecasts of the last --holdout values (or of --actuals) from the history before them.

    Nothing is refitted.  Two ways: one roll-out from the end of the history,
    and one step ahead (each value from all the actual values before it).
    The baselines forecast the same values from the same history, and the
    skill over seasonal naive is printed beside them; with --levels, the
    intervals' coverage, width and Winkler score too.  For many series, the
    figures are means over the series.
    """
    from seqtext.series import baselines as base
    from seqtext.series import infer, plot_forecast, scoring
    from seqtext.errors import agrees

    check_plot(plot, series_id)
    check_outputs({"--plot": plot}, {"--csv": csv, "--actuals": actuals})
    names, skipped = base.available(base.parse(baselines))
    forecaster = _load(model, fill)
    infer.require_intervals(forecaster, levels, holdout)  # before the baselines' slow fits
    cases, skipped_series = scoring.holdout_cases(forecaster, Path(csv), holdout, Path(actuals) if actuals else None)
    if skipped_series:
        n = len(skipped_series)
        note(f"warning: {n} of the {len(cases) + n} series {agrees(n, 'has', 'have')} fewer values than the window of "
             f"{forecaster.settings.series.window} before the values to score and {agrees(n, 'is', 'are')} left out: "
             f"{some(skipped_series)}.")
    key, table, origin, n_hold = cases[0] if series_id is None else \
        pick([(c[0], c) for c in cases], series_id, _left_out(forecaster, csv, actuals, cases, skipped_series,
                                                              series_id))[1]  # checked before the slow part
    _note_slow(names, len(cases))
    rollout = scoring.score_cases(forecaster, cases, season=season, names=names, levels=levels)
    one_step = scoring.score_cases(forecaster, cases, season=season, one_step=True)
    summary = scoring.summarize(rollout, names, levels)
    summary_one = scoring.summarize(one_step)
    steps = max(c[3] for c in cases)
    target, many = forecaster.settings.series.target, forecaster.settings.series.id is not None
    seen = scoring.seen_in_training(forecaster, cases)
    if seen:
        note(f"note: {seen}")
    if plot:
        r = rollout[cases.index((key, table, origin, n_hold))]
        bands = [(lv, b["lower"], b["upper"]) for lv, b in r.get("intervals", {}).items()]
        plot_forecast(plot, table.target[:origin], r["forecast"], actual=r["actual"], dates=table.dates, bands=bands,
                      title=f"{target}{'' if key is None else ' ' + key}: last {counted(n_hold, 'value')} held out")
    if as_json:
        obj = {"target": target, "holdout": steps, "values_scored": summary["values_scored"],
               "season": rollout[0]["season"],
               "rollout": report.metrics_only(summary), "one_step": report.metrics_only(summary_one)}
        if many:
            obj.update(series=len(cases), skipped_series=skipped_series)
        else:
            obj["history"] = origin
        for k in ("baselines", "skill", "skill_on", "beats_snaive", "intervals", "mase_undefined"):
            if k in summary:
                obj[k] = summary[k]
        if skipped:
            obj["skipped_baselines"] = skipped
        echo_json(obj)
    else:
        counts = sorted({c[3] for c in cases})
        each = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
        if many and actuals:
            click.echo(f"forecast the values of {target} in {actuals} ({each} in each of {len(cases)} series) from "
                       "the history before them; means over the series")
        elif many:
            click.echo(f"forecast the last {counted(steps, 'value')} of {target} in each of {len(cases)} series from "
                       "the values before them; means over the series")
        else:
            span = f" ({table.dates[origin]} to {table.dates[origin + n_hold - 1]})" if table.dates else ""
            what = f"the {counted(n_hold, 'value')} of {target} in {actuals}" if actuals else \
                f"held out the last {counted(n_hold, 'value')} of {target}"
            click.echo(f"{what}{span}; forecast from the {origin} before {agrees(n_hold, 'it', 'them')}")
        click.echo(report.HEADER)
        click.echo(report.metric_line(f"{steps}-step roll-out", summary))
        click.echo(report.metric_line("one step ahead", summary_one))
        if names or skipped:
            click.echo(f"baselines, {counted(steps, 'step')} from the same history (season {rollout[0]['season']}):")
            report.echo_baselines(summary, skipped, per="series" if many else "roll-outs", cases=len(rollout))
        report.echo_intervals(summary.get("intervals"), forecaster.task.intervals if levels else None)
    if plot:
        note(f"plot written to {plot}")


@forecast.command()
@MODEL
@click.option("--csv", "csv", required=True, metavar="FILE", help="The series to backtest on.")
@click.option("--start", type=click.IntRange(min=1), metavar="ROW",
              help="First origin (row number; the first value is row 0)  [default: the middle of each series]")
@click.option("--steps", type=POSITIVE, help="Values forecast from each origin  [default: the model's horizon]")
@click.option("--stride", type=POSITIVE, default=1, show_default=True, help="Rows between origins.")
@click.option("--refit", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Train a fresh model with this one's settings on the values before the first origin, and again "
                   "every N origins, each forecasting from its origins (intervals calibrated anew); 0: forecast "
                   "every origin with this model, fitting nothing.")
@click.option("--train-length", type=POSITIVE, metavar="N",
              help="With --refit: each refit trains on the last N values of each series before its origin (a sliding "
                   "window)  [default: all of them]")
@click.option("--quiet", is_flag=True, help="No progress bars while refitting.")
@SEASON
@BASELINES
@LEVELS
@click.option("--fill/--no-fill", default=None,
              help="Interpolate missing or non-finite values in the history, or refuse them  [default: as trained]")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and every origin's results) as JSON.")
@click.option("--out", metavar="FILE.csv",
              help="Write a report: one row per origin and step, with the forecast, bounds and baselines.")
@click.option("--plot", metavar="FILE.png", help="Draw the series and the forecast from every origin.")
@SERIES
@handle_errors(flags=MODEL_FLAGS)
def backtest(model, csv, start, steps, stride, refit, train_length, quiet, season, baselines, levels, fill, as_json,
             out, plot, series_id):
    """Forecast from rolling origins and score each forecast, beside the baselines (refitting only with --refit)."""
    from seqtext.series import baselines as base
    from seqtext.series import infer, plot_backtest, scoring

    check_plot(plot, series_id)
    check_out(out)
    check_outputs({"--out": out, "--plot": plot}, {"--csv": csv})
    names, skipped = base.available(base.parse(baselines))
    forecaster = _load(model, fill)
    if refit:  # the bars of the refits' trainings (an exported model refuses to refit: backtest says so)
        forecaster.progress = not quiet
    infer.require_intervals(forecaster, levels, steps or forecaster.settings.series.horizon)  # before the baselines
    if {"ets", "theta"} & set(names) or plot and series_id is not None:
        cases = scoring.backtest_cases(forecaster, Path(csv), start, steps, stride)[0]
        if plot and series_id is not None:  # the series to plot checked before the slow part
            pick([(c[0], None) for c in cases], series_id, dict.fromkeys(
                [k for k, _ in forecaster.read_series(Path(csv), allow_future=False)],
                "was left out as too short to backtest"))
        _note_slow(names, len(cases))
    result = forecaster.backtest(Path(csv), start, steps, stride, season, baselines=names, levels=levels,
                                 refit=refit, train_length=train_length)
    rows, target = result["results"], forecaster.settings.series.target
    many = forecaster.settings.series.id is not None
    draw = None
    if plot:
        key = rows[0].get("id") if series_id is None else series_id
        mine = [r for r in rows if r.get("id") == key]
        if not mine:
            raise click.UsageError(f"--series {series_id} has no backtest origins.")
        _, table = pick(forecaster.read_series(Path(csv), allow_future=False), key)
        draw = plot_backtest(plot, table.target, mine, dates=table.dates, deferred=True,
                             title=f"{target}{'' if key is None else ' ' + key}: {counted(len(mine), 'origin')}, "
                                   f"{counted(result['steps'], 'step')} each")
    write_both((lambda then: report.backtest_csv(out, rows, then)) if out else None, draw, plot)
    if as_json:
        echo_json({"target": target, **{k: v for k, v in result.items() if k != "results"},
                   **({"skipped_baselines": skipped} if skipped else {}), "results": rows})
    else:
        first, last = rows[0].get("date", rows[0]["origin"]), rows[-1].get("date", rows[-1]["origin"])
        where = f"{len({r.get('id') for r in rows})} series, " if many else f"from {first} to {last}, "
        click.echo(f"backtest of {target}: {counted(len(rows), 'origin')} ({where}every {stride}), "
                   f"{counted(result['steps'], 'step')} each; "
                   f"{'refitted ' + counted(result['refits'], 'time') if refit else 'nothing refitted'}"
                   f"{f' on the last {train_length} values of each series' if train_length else ''}; means over the "
                   "origins")
        click.echo(report.HEADER)
        click.echo(report.metric_line("model", result))
        if names or skipped:
            report.echo_baselines(result, skipped, per="origins", cases=len(rows))
        report.echo_intervals(result.get("intervals"), forecaster.task.intervals if levels and not refit else None)
        if levels and refit:
            click.echo(f"(each refit's intervals calibrated anew on its last "
                       f"{counted(forecaster.settings.series.calibrate, 'value')})")
    for what, path in (("plot", plot), ("report", out)):
        if path:
            note(f"{what} written to {path}")

"""How the series commands print and write what they compute: metric tables, interval tables, CSV reports."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import click

from seqtext.atomic import write_file
from seqtext.errors import counted, install_hint, some

LABEL = 26  # width of the row labels of the metric tables
HEADER = f"{'':{LABEL}s}{'MAE':>12s}{'RMSE':>12s}{'MAPE %':>10s}{'sMAPE %':>10s}{'MASE':>8s}"
BASELINE_LABELS = {"naive": "naive", "snaive": "seasonal naive", "drift": "drift", "ets": "ETS (statsmodels)",
                   "theta": "Theta (statsmodels)"}


def number(value):
    """A metric for JSON: NaN (undefined) becomes null; ten significant digits (a series of 1e-9 keeps its own)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(f"{value:.10g}") if isinstance(value, float) else value


def shown(value: float) -> str:
    """A forecast in a printed table: four decimals, or four significant digits below 0.01 (1e-9 is not 0.0000)."""
    return f"{value:.4f}" if value == 0 or abs(value) >= 0.01 else f"{value:.4g}"


def metrics_only(summary: dict) -> dict:
    return {m: number(summary[m]) for m in ("mae", "rmse", "mape", "smape", "mase")}


def metric_line(label: str, m: dict) -> str:
    return (f"{label:{LABEL}s}{m['mae']:12.4g}{m['rmse']:12.4g}{m['mape']:10.2f}{m['smape']:10.2f}"
            f"{m['mase']:8.3f}")


def echo_baselines(summary: dict, skipped: list, *, per: str, cases: int) -> None:
    """The baselines' rows under a metric table (a baseline that failed on some of the ``cases``: its means over
    the others, and how many failed), the skill over seasonal naive and the share it beats."""
    failures = []
    for name, m in summary.get("baselines", {}).items():
        label, failed = BASELINE_LABELS[name], m.get("failed", 0)
        if failed == cases:
            which = f" on any of the {cases} {per}" if cases > 1 else ""
            click.echo(f"  {label:{LABEL - 2}s}failed: could not be fitted{which}")
            continue
        click.echo(metric_line("  " + label, m))
        if failed:
            failures.append(f"  ({label} could not be fitted on {failed} of the {cases} {per}; its means are over "
                            f"the other {cases - failed})")
    for line in failures:
        click.echo(line)
    if skipped:
        click.echo(f"  ({', '.join(BASELINE_LABELS[n] for n in skipped)}: install statsmodels, "
                   f"{install_hint('statsmodels')})")
    if "skill" in summary:
        on = summary.get("skill_on", "mase").upper()  # MAE where MASE is undefined
        click.echo(f"skill over seasonal naive (1 - {on} / its {on}): {summary['skill']:.3f}; the model's MAE is the "
                   f"lower on {100 * summary['beats_snaive']:.0f} % of the {per}")


def echo_intervals(intervals: dict, calibration=None) -> None:
    """Coverage, width, Winkler score and width relative to seasonal naive's, per level."""
    if not intervals:
        return
    click.echo(f"{'intervals':12s}{'coverage %':>12s}{'width':>12s}{'Winkler':>12s}{'MSIS':>8s}"
               f"{'width / snaive':>16s}{'snaive cov. %':>15s}")
    for level, m in intervals.items():
        click.echo(f"{level + ' %':12s}{m['coverage']:12.1f}{m['width']:12.4g}{m['winkler']:12.4g}{m['msis']:8.2f}"
                   f"{m['width_vs_snaive']:16.2f}{m['snaive_coverage']:15.1f}")
    if calibration is not None:
        from seqtext.series.intervals import OWN_STEP

        counts = calibration.counts
        how = f"{counts[0]} errors one step ahead, {counts[-1]} at step {len(counts)}"
        few = sum(c < OWN_STEP for c in counts)
        if few:  # those steps borrow from every step's scores, scaled by a power law of the step
            how += f"; {counted(few, 'step')} with fewer than {OWN_STEP} pooled with the others, scaled by step"
        click.echo(f"(intervals calibrated on {how})")


def write_csv(path, header: list, rows: list[list], then=None) -> Path:
    """Write a CSV file atomically: it appears whole or not at all (``then``: as in :func:`atomic.write_file`)."""
    path = Path(path)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    try:
        return write_file(path, lambda tmp: Path(tmp).write_text(buf.getvalue(), encoding="utf-8", newline=""),
                          then)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path} ({exc.strerror or exc}); choose another path.") from None


def forecast_csv(path, rows: list[dict], then=None) -> Path:
    """``predict --out``: one row per forecast step, the columns of the JSON rows (``then``: see write_csv)."""
    from seqtext.series.infer import LEGACY

    seen = dict.fromkeys(k for row in rows for k in row if k != LEGACY)  # dates may be known for some series only
    header = [k for k in ("id", "step", "date") if k in seen] + [k for k in seen if k not in ("id", "step", "date")]
    return write_csv(path, header, [[_cell(r.get(k)) for k in header] for r in rows], then)


def backtest_csv(path, results: list[dict], then=None) -> Path:
    """``backtest --out``: one row per origin and step, with the model's forecast, bounds and each baseline's
    (``then``: see write_csv)."""
    first = results[0]
    levels = list(first.get("intervals", {}))
    names = list(first.get("baselines", {}))
    header = (["id"] if "id" in first else []) + ["origin"] + (["origin_date"] if "date" in first else [])
    header += ["step", "actual", "forecast"] + [f"{b}_{lv}" for lv in levels for b in ("lower", "upper")] + names
    out = []
    for r in results:
        for k in range(r["steps"]):
            row = ([r["id"]] if "id" in r else []) + [r["origin"]] + ([r["date"]] if "date" in r else [])
            row += [k + 1, r["actual"][k], r["forecast"][k]]
            row += [r["intervals"][lv][b][k] for lv in levels for b in ("lower", "upper")]
            row += [r["baselines"][n]["forecast"][k] for n in names]
            out.append([_cell(v) for v in row])
    return write_csv(path, header, out, then)


def _cell(value):
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(number(value))
    return "" if value is None else value


def trained(path, s: dict, intervals=None) -> None:
    """The lines after a training: where the model was written, what it trained on, how long, its intervals."""
    click.echo(f"model written to {path}")
    line = (f"trained on {s['train_values']} values ({s['train_windows']} windows), "
            f"{counted(s['epochs_run'])}, {s['seconds']:.1f} s")
    if "valid_mae" in s:
        line += f"; validation MAE {s['valid_mae']:.4g} over {s['valid_windows']} windows"
    if "series" in s:
        line += f"; {s['series']} series"
        if s.get("short_series"):  # left out of training (named in a warning)
            line += f" ({s['short_series']} too short, left out)"
    for field, what in (("as_is_ids", "not deseasonalized (a value at or below 0, or under two periods)"),
                        ("log1p_ids", "read as log(1 + y) (--log1p-troughs)")):
        if field in s:  # the option is on: how many it touched, 0 too
            ids = [k for k in s[field] if k is not None]  # a single series has no id to name
            line += f"; {len(s[field])} {what}{': ' + some(ids) if ids else ''}"
    if intervals is not None:
        line += (f"; intervals calibrated on {sum(intervals.counts)} rolling-origin errors of a copy fitted without "
                 f"the last {counted(intervals.values, 'value')}")
    click.echo(line)

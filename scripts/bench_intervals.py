"""Conformal intervals and baselines on airline and energy: the model against naive, seasonal naive, drift, ETS
and Theta on the same holdout, and the coverage of its 80 % and 95 % intervals over rolling origins.

    python scripts/bench_intervals.py                    # both series, seeds 0-4
    python scripts/bench_intervals.py airline --seeds 0 --calibrate 36

For each seed: fit on all but the last 24 months (``--window 25 --log``,
the README's recommended setting, with ``calibrate``: a copy without the
last ``calibrate`` training months gives the rolling-origin errors, then
the final model is fitted on all the training months).  Then

- accuracy: one 24-step forecast of the held-out months, beside the
  baselines forecasting them from the same 120 (airline) or 216 (energy)
  months;
- intervals: a backtest over the held-out months, origins at each of their
  first 13 months, 12 steps from each (156 forecasts; nothing refitted):
  coverage of the 80 % and 95 % intervals, their mean width relative to
  the seasonal naive forecast's normal interval, Winkler score and MSIS.

Forecasts from neighbouring origins overlap, so the 156 hits are not
independent: read the coverage with a standard error nearer that of 24
values than of 156 (about 8 points at 80 %).  The tests check coverage
where it can be measured tightly (many independent series).

All of that scores one calibration, made on one stretch of each series (the
24 months before the held-out ones).  So each seed also runs a backtest that
refits (``backtest(..., refit=1)``): 13 origins, every 4 months from month 84
(airline) or every 8 from month 132 (energy), each with a fresh model and
calibration trained on the values before it, 12 steps from each (156
forecasts): the coverage of the procedure over many stretches of the
series, as time-series cross-validation measures it.

Energy is read with its covariates (appliances, efficiency, people: known
ahead, as planned); ``--no-covariates`` reads the use alone, as this bench
did until 2026-12-04.

Each coverage is printed twice, from the same fitted models: with the
intervals as forecasts carry them (each step's own quantile where it has
enough scores) and with the power law ``s_k = a * k**b`` alone (the rule
before; :meth:`Calibration.borrowed`).

    python scripts/bench_intervals.py onestep            # one stationary series, 12 seeds

``onestep``: the set-up of tests/test_series_intervals.py's one-series test
(a sine of period 12 plus noise, 300 values to fit, horizon 1, calibrate
48, one-step forecasts of the next 120), over seeds 0-11: the one-step
coverage of both rules.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERIES = {"airline": (ROOT / "seqtext" / "corpora" / "series" / "airline.csv", "passengers"),
          "energy": (ROOT / "seqtext" / "corpora" / "series" / "energy.csv", "use")}
COVARIATES = {"airline": [], "energy": ["appliances", "efficiency", "people"]}
REFITS = {"airline": (84, 4), "energy": (132, 8)}  # the refitting backtest's first origin and stride: 13 origins
HOLDOUT, STEPS = 24, 12
SETTINGS = dict(window=25, log=True)


def stats(values, fmt="6.2f") -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():{fmt}} ± {v.std():{fmt.split('.')[0][:-1] or ''}.{fmt.split('.')[1]}}" if len(v) > 1 else \
        f"{v[0]:{fmt}}"


def run(name: str, seeds, calibrate: int, covariates: bool = True) -> None:
    from seqtext import Forecaster

    path, target = SERIES[name]
    features = COVARIATES[name] if covariates else []
    print(f"{name}: last {HOLDOUT} months held out; {SETTINGS}, covariates {features or 'none'}, calibrate "
          f"{calibrate}; seeds {seeds}")
    acc, base, cover, secs, models, refitted = [], None, [], [], [], []
    first, stride = REFITS[name]
    for seed in seeds:
        model = Forecaster(device="cpu", seed=seed, calibrate=calibrate, threads=1, features=features, **SETTINGS)
        t0 = time.perf_counter()
        model.fit(path, target=target, date="month", holdout=HOLDOUT)
        secs.append(time.perf_counter() - t0)
        r = model.evaluate(path, HOLDOUT, season=None, baselines="all" if base is None else ())
        base = base or r["baselines"]
        acc.append(r)
        n = model.read(path, allow_future=False).n
        cover.append(model.backtest(path, start=n - HOLDOUT, steps=STEPS, season=None, levels=[80, 95],
                                    baselines="snaive"))
        models.append(model)
        refitted.append(model.backtest(path, start=first, steps=STEPS, stride=stride, season=None, levels=[80, 95],
                                       baselines="snaive", refit=1))
    print(f"  24-step forecast of the held-out months  {'MAPE %':>16s} {'MASE':>16s}")
    print(f"  {'model':40s} {stats([r['mape'] for r in acc]):>16s} {stats([r['mase'] for r in acc], '6.3f'):>16s}")
    for key, m in base.items():
        print(f"  {key:40s} {m['mape']:16.2f} {m['mase']:16.3f}")
    print(f"  backtest: {cover[0]['origins']} origins x {STEPS} steps over the held-out months")
    for level, ivs in backtest_lines(cover):
        before = [power_law_coverage(m, c, float(level)) for m, c in zip(models, cover)]
        print(f"      the power law alone (the rule before): coverage {stats([b[0] for b in before], '5.1f')} %, "
              f"width / seasonal naive's {stats([b[1] / i['width'] * i['width_vs_snaive'] for b, i in zip(before, ivs)], '5.2f')}")
    print(f"  training (both fits) {stats(secs, '5.1f')} s")
    print(f"  refitting backtest: {refitted[0]['origins']} origins x {STEPS} steps from month {first} every {stride}, "
          "a fresh model and calibration at each")
    for level, _ in backtest_lines(refitted):
        per_origin = {}  # origin -> the coverage of its forecast, one a seed
        for row in (row for c in refitted for row in c["results"]):
            per_origin.setdefault(row["origin"], []).append(row["intervals"][level]["coverage"])
        print("      per origin (mean over seeds): " + " ".join(f"{np.mean(v):.0f}" for v in per_origin.values()))


def backtest_lines(runs: list):
    """Print the model's and seasonal naive's MAPE and MASE over the seeds' backtests, then per level the
    intervals' line; yields (level, each seed's interval scores) after each, for lines of its own."""
    snaive = runs[0]["baselines"]["snaive"]
    print(f"  {'model':40s} {stats([c['mape'] for c in runs]):>16s} {stats([c['mase'] for c in runs], '6.3f'):>16s}")
    print(f"  {'seasonal naive':40s} {snaive['mape']:16.2f} {snaive['mase']:16.3f}")
    for level in ("80", "95"):
        ivs = [c["intervals"][level] for c in runs]
        print(f"  {level} % intervals: coverage {stats([i['coverage'] for i in ivs], '5.1f')} % (seasonal naive's "
              f"{ivs[0]['snaive_coverage']:.1f} %), width / seasonal naive's "
              f"{stats([i['width_vs_snaive'] for i in ivs], '5.2f')}, Winkler "
              f"{stats([i['winkler'] for i in ivs], '6.1f')}, MSIS {stats([i['msis'] for i in ivs], '5.2f')}")
        yield level, ivs


def power_law_coverage(model, backtest: dict, level: float) -> tuple[float, float]:
    """(coverage %, mean width) of the backtest's forecasts with the power-law intervals alone."""
    scaler, cal = model.scaler, model.task.intervals
    hits, widths = [], []
    for row in backtest["results"]:
        forecast, actual = np.asarray(row["forecast"]), np.asarray(row["actual"])
        scaled = (scaler.forward_target(forecast) - scaler.center[0]) / scaler.scale[0]
        half = cal.borrowed(level, len(forecast)) * scaler.interval_unit / scaler.scale[0]  # in scaled units
        lower, upper = scaler.inverse_target(scaled - half), scaler.inverse_target(scaled + half)
        hits += list((actual >= lower) & (actual <= upper))
        widths += list(upper - lower)
    return 100 * float(np.mean(hits)), float(np.mean(widths))


def onestep(seeds) -> None:
    """One-step coverage on one stationary series, each step's own quantile vs the power law alone."""
    from seqtext import Forecaster

    tiny = dict(hidden=16, batch_size=16, epochs=20, patience=6, device="cpu", seed=0, threads=1)
    hits = {(rule, level): [] for rule in ("now", "power law") for level in (80, 95)}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        t = np.arange(420)
        values = 100 + 20 * np.sin(2 * np.pi * t / 12) + 3 * rng.normal(size=len(t))
        model = Forecaster(window=12, horizon=1, calibrate=48, **tiny).fit(values[:300])
        result = model.backtest(values, start=300, steps=1, levels=[80, 95])
        for level in (80, 95):
            hits[("now", level)].append(result["intervals"][str(level)]["coverage"])
            hits[("power law", level)].append(power_law_coverage(model, result, level)[0])
    n = len(seeds) * 120
    print(f"one stationary series, horizon 1, calibrate 48 (48 scores): one-step coverage over seeds {seeds} "
          f"({n} forecasts)")
    for (rule, level), values in hits.items():
        print(f"  {level} %  {rule:10s} {np.mean(values):5.1f} %  (per seed {stats(values, '5.1f')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=["all", "airline", "energy", "onestep"])
    parser.add_argument("--seeds", default=None, help="default: 0-4 (onestep: 0-11)")
    parser.add_argument("--calibrate", type=int, default=24)
    parser.add_argument("--no-covariates", action="store_true", help="energy: the use alone")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.what == "onestep":
        onestep([int(s) for s in args.seeds.split(",")] if args.seeds else list(range(12)))
        return
    seeds = [int(s) for s in (args.seeds or "0,1,2,3,4").split(",")]
    for name in (["airline", "energy"] if args.what == "all" else [args.what]):
        run(name, seeds, args.calibrate, not args.no_covariates)


if __name__ == "__main__":
    main()

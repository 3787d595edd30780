"""Benchmark the series package: the toy sequence, airline passengers, energy and the CLI's training time.

    python scripts/bench_series.py                       # everything, 5 seeds (about 3 minutes on 2 cores)
    python scripts/bench_series.py airline --window 36 --horizon 12 --hidden 32 --seeds 0,1,2
    python scripts/bench_series.py energy --window 24 --horizon 24 --log

Options given on the command line replace the compared settings; the rest
stay at the defaults of seqtext.config.SeriesSettings.

Airline: fitted on 1949-1958, the last 24 months held out; one 24-step
forecast from the end of 1958, and one-step-ahead forecasts over the same
24 months (each from every actual value before it).  Reference MAPEs
(statsmodels, fitted on the same 120 months): Holt-Winters 6.39 % (24-step),
SARIMA on logs 8.52 % (24-step) and 2.55 % (one step), seasonal naive 15.52 %
and 10.52 %.  With statsmodels installed, Holt-Winters and SARIMA are rerun
here for comparison; it is never a dependency of seqtext.

Energy (corpora/series/energy.csv): fitted on 2005-2022, the last 24
months held out, scored the same way, without and with its covariates.

Each figure is a mean and a standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AIRLINE = ROOT / "seqtext" / "corpora" / "series" / "airline.csv"
ENERGY = ROOT / "seqtext" / "corpora" / "series" / "energy.csv"
HOLDOUT = 24

# Settings compared on airline (everything else at the defaults of seqtext.config.SeriesSettings).
# RECOMMENDED is what the README (Series forecasting) suggests for a monthly series with a
# growing swing: the lowest one-step and 24-step errors found with the default skip path.
# DIRECT is the best direct multi-horizon setting (12 months at once).
RECOMMENDED = dict(window=25, log=True)
DIRECT = dict(window=12, horizon=12, log=True)
# The defaults before the skip path, for comparison.
NO_SKIP = dict(skip=False, weight_decay=0.0)


def _stats(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():6.2f} ± {v.std():4.2f}"


def toy(seeds) -> None:
    from seqtext import Forecaster

    print("toy: window 3, trained on 10, 20, ..., 200; history [70, 80, 90] (want 100 within 2 %)")
    for label, series in (("10..200", list(range(10, 210, 10))), ("10..90", list(range(10, 100, 10)))):
        preds = []
        for seed in seeds:
            f = Forecaster(window=3, seed=seed, device="cpu").fit(series)
            preds.append(float(f.predict(history=[70, 80, 90])[0]))
        errs = [abs(p - 100) for p in preds]
        print(f"  trained on {label:8s} prediction {_stats(preds)}   worst error {max(errs):.2f} %")


def case(path: Path, target: str, features: list, seeds, options: dict, label: str) -> dict:
    """Fit on all but the last 24 rows of a CSV, then score a 24-step and a one-step forecast of them."""
    from seqtext import Forecaster

    roll, one, secs, epochs = [], [], [], []
    for seed in seeds:
        f = Forecaster(seed=seed, device="cpu", **options)
        t0 = time.perf_counter()
        f.fit(path, target=target, features=features, date="month", holdout=HOLDOUT)
        secs.append(time.perf_counter() - t0)
        epochs.append(f.summary["epochs_run"])
        roll.append(f.evaluate(path, HOLDOUT)["mape"])
        one.append(f.evaluate(path, HOLDOUT, one_step=True)["mape"])
    print(f"  {label:58s} 24-step MAPE {_stats(roll)} %   one-step MAPE {_stats(one)} %   "
          f"fit {np.mean(secs):4.1f} s ({np.mean(epochs):.0f} epochs; {f.summary['values']} values)", flush=True)
    return {"rollout": roll, "one_step": one, "seconds": secs}


def airline(seeds, options: dict, label: str) -> dict:
    return case(AIRLINE, "passengers", [], seeds, options, label)


def energy(seeds, options: dict, label: str, features=("appliances", "efficiency", "people")) -> dict:
    return case(ENERGY, "use", list(features), seeds, options, label)


def references() -> None:
    try:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
        from statsmodels.tsa.statespace.sarimax import SARIMAX
    except ImportError:
        print("  (statsmodels is not installed: reference figures as published in shared/data/README.md)")
        return
    import csv

    with open(AIRLINE, newline="") as fh:
        values = np.array([float(r["passengers"]) for r in csv.DictReader(fh)])
    train, test = values[:-HOLDOUT], values[-HOLDOUT:]
    mape = lambda f: float(100 * np.mean(np.abs(f - test) / test))  # noqa: E731
    hw = ExponentialSmoothing(train, trend="add", seasonal="mul", seasonal_periods=12).fit()
    print(f"  Holt-Winters (statsmodels)   24-step MAPE {mape(hw.forecast(HOLDOUT)):.2f} %")
    sarima = SARIMAX(np.log(train), order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False)
    print(f"  SARIMA on logs (statsmodels) 24-step MAPE {mape(np.exp(sarima.forecast(HOLDOUT))):.2f} %")


def cli_time(seed: int = 0) -> float:
    """Wall time of `seqtext forecast train` on airline with its defaults (a fresh process)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "seqtext", "forecast", "train", "--csv", str(AIRLINE), "--target", "passengers",
               "--date", "month", "--out", os.path.join(tmp, "m"), "--quiet", "--seed", str(seed), "--device", "cpu"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


NUMERIC = (("window", int), ("horizon", int), ("hidden", int), ("layers", int), ("epochs", int),
           ("patience", int), ("batch-size", int), ("lr", float), ("weight-decay", float),
           ("lr-decay", float), ("valid-fraction", float), ("dropout", float), ("deseasonalize", int))


def choices(name: str) -> tuple:
    """The values a choice option of the forecaster takes, as seqtext.config declares them (so a value the
    forecaster gains, such as --scaler mean, is taken here too)."""
    from dataclasses import fields

    from seqtext.config import CoreConfig, SeriesConfig

    return next(f.metadata["rule"].choices for section in (SeriesConfig, CoreConfig) for f in fields(section)
                if f.name == name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=["all", "toy", "airline", "energy", "cli"])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest for these tiny models on a shared machine)")
    for name, kind in NUMERIC:
        parser.add_argument(f"--{name}", type=kind)
    for name in ("head", "level", "scaler", "cell", "nonlinearity"):
        parser.add_argument(f"--{name}", choices=choices(name))
    parser.add_argument("--log", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--skip", action=argparse.BooleanOptionalAction, default=None)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    keys = [name.replace("-", "_") for name, _ in NUMERIC] + [
        "head", "level", "scaler", "cell", "nonlinearity", "log", "bidirectional", "skip"]
    given = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}

    import torch

    torch.set_num_threads(args.threads)
    print(f"seeds {seeds}; torch threads {torch.get_num_threads()}")
    if args.what in ("all", "toy"):
        toy(seeds)
    if args.what in ("all", "airline"):
        print(f"airline: fitted on 1949-1958, last {HOLDOUT} months held out")
        references()
        if given:
            airline(seeds, given, " ".join(f"{k}={v}" for k, v in given.items()))
        else:
            airline(seeds, {}, "defaults (window 24, horizon 1, skip, weight decay 0.01)")
            airline(seeds, NO_SKIP, "defaults without the skip path and weight decay")
            airline(seeds, dict(log=True), "defaults + log")
            airline(seeds, RECOMMENDED, "recommended: " + " ".join(f"{k}={v}" for k, v in RECOMMENDED.items()))
            airline(seeds, DIRECT, "direct 12 months: " + " ".join(f"{k}={v}" for k, v in DIRECT.items()))
            airline(seeds, {**DIRECT, **NO_SKIP}, "direct 12 months, without the skip path")
    if args.what in ("all", "energy"):
        print(f"energy: fitted on 2005-2022, last {HOLDOUT} months held out")
        opts = given or RECOMMENDED
        name = " ".join(f"{k}={v}" for k, v in opts.items())
        energy(seeds, opts, f"{name}, no covariates", features=())
        energy(seeds, opts, f"{name}, covariates")
    if args.what in ("all", "cli"):
        times = [cli_time(s) for s in seeds[:3]]
        print(f"cli: `seqtext forecast train` on airline with its defaults: {_stats(times)} s wall "
              f"(process start included), {len(times)} runs")


if __name__ == "__main__":
    main()

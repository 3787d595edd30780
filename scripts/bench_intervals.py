"""Conformal intervals and baselines on airline and energy: the model against naive, seasonal naive, drift, ETS
and Theta on the same holdout, and the coverage of its 80 % and 95 % intervals over rolling origins.

    python scripts/bench_intervals.py                    # both series, seeds 0,1,2
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
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERIES = {"airline": (ROOT / "corpora" / "series" / "airline.csv", "passengers"),
          "energy": (ROOT / "corpora" / "series" / "energy.csv", "use")}
HOLDOUT, STEPS = 24, 12
SETTINGS = dict(window=25, log=True)


def stats(values, fmt="6.2f") -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():{fmt}} ± {v.std():{fmt.split('.')[0][:-1] or ''}.{fmt.split('.')[1]}}" if len(v) > 1 else \
        f"{v[0]:{fmt}}"


def run(name: str, seeds, calibrate: int) -> None:
    from seqtext import Forecaster

    path, target = SERIES[name]
    print(f"{name}: last {HOLDOUT} months held out; {SETTINGS}, calibrate {calibrate}; seeds {seeds}")
    acc, base, cover, secs = [], None, [], []
    for seed in seeds:
        model = Forecaster(device="cpu", seed=seed, calibrate=calibrate, threads=1, **SETTINGS)
        t0 = time.perf_counter()
        model.fit(path, target=target, date="month", holdout=HOLDOUT)
        secs.append(time.perf_counter() - t0)
        r = model.evaluate(path, HOLDOUT, season=None, baselines="all" if base is None else ())
        base = base or r["baselines"]
        acc.append(r)
        n = model.read(path, allow_future=False).n
        cover.append(model.backtest(path, start=n - HOLDOUT, steps=STEPS, season=None, levels=[80, 95],
                                    baselines="snaive"))
    print(f"  24-step forecast of the held-out months  {'MAPE %':>16s} {'MASE':>16s}")
    print(f"  {'model':40s} {stats([r['mape'] for r in acc]):>16s} {stats([r['mase'] for r in acc], '6.3f'):>16s}")
    for key, m in base.items():
        print(f"  {key:40s} {m['mape']:16.2f} {m['mase']:16.3f}")
    print(f"  backtest: {cover[0]['origins']} origins x {STEPS} steps over the held-out months")
    print(f"  {'model':40s} {stats([c['mape'] for c in cover]):>16s} {stats([c['mase'] for c in cover], '6.3f'):>16s}")
    snaive = cover[0]["baselines"]["snaive"]
    print(f"  {'seasonal naive':40s} {snaive['mape']:16.2f} {snaive['mase']:16.3f}")
    for level in ("80", "95"):
        ivs = [c["intervals"][level] for c in cover]
        print(f"  {level} % intervals: coverage {stats([i['coverage'] for i in ivs], '5.1f')} % (seasonal naive's "
              f"{ivs[0]['snaive_coverage']:.1f} %), width / seasonal naive's "
              f"{stats([i['width_vs_snaive'] for i in ivs], '5.2f')}, Winkler "
              f"{stats([i['winkler'] for i in ivs], '6.1f')}, MSIS {stats([i['msis'] for i in ivs], '5.2f')}")
    print(f"  training (both fits) {stats(secs, '5.1f')} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=["all", "airline", "energy"])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--calibrate", type=int, default=24)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in (["airline", "energy"] if args.what == "all" else [args.what]):
        run(name, seeds, args.calibrate)


if __name__ == "__main__":
    main()

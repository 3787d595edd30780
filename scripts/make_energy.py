"""Write corpora/series/energy.csv: a deterministic, energy-like monthly household series.

    python scripts/make_energy.py [--out corpora/series/energy.csv] [--seed 7]

Monthly electricity use (kWh) of a household, 2005-01 to 2024-12 (240 rows),
with the covariates that drive it:

- appliances: the number of appliances, slowly rising (one more every year
  or two);
- efficiency: their average efficiency (0..1), creeping up, then a sudden jump
  in 2019-04 when the heating is replaced by a heat pump;
- people: people at home (a child is born in 2009, a lodger stays 2014-2016,
  a child leaves in 2022).

use = 38 * appliances * (0.55 + 0.45 * people / 2) / efficiency * season + noise,
where the season is a winter peak (cosine over the year, +-25 %) and the noise
a small AR(1).  So the series has a rising trend, a yearly wave and a sudden
drop (about a third, at the heat pump), each explained by a covariate.  The
same seed always writes the same file.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
START_YEAR, YEARS = 2005, 20
DROP = (2019, 4)  # the heat pump arrives


def generate(seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    appliances = 8
    noise = 0.0
    for k in range(YEARS * 12):
        year, month = START_YEAR + k // 12, k % 12 + 1
        if month == 1 and k > 0 and rng.random() < 0.6:
            appliances += 1
        efficiency = 0.55 + 0.004 * (k / 12) + (0.25 if (year, month) >= DROP else 0.0)
        people = 2 + (year >= 2009) + (2014 <= year <= 2016) - (year >= 2022) + (year >= 2011)
        season = 1 + 0.25 * math.cos(2 * math.pi * (month - 1) / 12)  # peak in January
        noise = 0.6 * noise + rng.normal(0, 0.02)
        use = 38 * appliances * (0.55 + 0.45 * people / 2) / efficiency * season * (1 + noise)
        rows.append({"month": f"{year:04d}-{month:02d}", "use": round(use, 1), "appliances": appliances,
                     "efficiency": round(efficiency, 3), "people": people})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "seqtext" / "corpora" / "series" / "energy.csv")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()

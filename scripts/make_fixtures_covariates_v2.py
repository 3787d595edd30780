"""How tests/fixtures/series-covariates-v2 and its answers (expected.json, "series_covariates") were made.

A format-2 model directory with a future-known covariate, calendar inputs and calibrated intervals, written
by the release whose network did not yet read the covariates of the steps it forecasts (commit c74309d).
Run with that release, from its source tree:

    mkdir /tmp/seqtext-c74309d && git archive c74309d | tar -x -C /tmp/seqtext-c74309d && \\
        cd /tmp/seqtext-c74309d && PYTHONPATH=. python /path/to/scripts/make_fixtures_covariates_v2.py \\
        /path/to/tests/fixtures

tests/test_series_compat.py checks that today's code opens the directory and answers exactly as recorded.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

from seqtext import Forecaster

torch.set_num_threads(1)
if len(sys.argv) != 2 or sys.argv[1].startswith("-"):  # -h/--help, or no folder: say how to run it
    print(__doc__)
    sys.exit(0 if sys.argv[1:] in (["-h"], ["--help"]) else 2)
out = Path(sys.argv[1])
n = 60
i = np.arange(n + 6)
months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in i]
price = np.round(1 + 0.3 * np.cos(i / 2.5), 4)
sales = np.round(80 + 10 * np.sin(2 * np.pi * i / 12) - 15 * price + 0.3 * i, 3)
table = {"month": months[:n], "sales": sales[:n].tolist(), "price": price[:n].tolist()}
fc = Forecaster(window=8, horizon=3, hidden=8, epochs=20, seed=0, device="cpu", calendar=True, calibrate=12,
                target="sales", features=["price"], date="month").fit(table)
fc.save(out / "series-covariates-v2")
history = {"month": months, "sales": sales[:n].tolist() + [None] * 6, "price": price.tolist()}
full = {"month": months, "sales": sales.tolist(), "price": price.tolist()}
answers = {
    "history": history,
    "full": full,
    "predict3": fc.predict(3).tolist(),  # within the horizon no future rows were needed
    "predict6": fc.predict(6, history=history).tolist(),
    "levels": {k: v.tolist() for k, v in fc.predict(3, history=history, levels=[80]).items()},
    "evaluate": fc.evaluate(full, 6),
}
path = out / "expected.json"
expected = json.loads(path.read_text())
expected["series_covariates"] = answers
path.write_text(json.dumps(expected, indent=2) + "\n")
print(json.dumps({k: v for k, v in answers.items() if k not in ("history", "full")}, indent=1))

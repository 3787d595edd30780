"""How tests/fixtures/{text-v1,series-v1,expected.json} were made: format-1 model directories and their answers.

Run with the release that wrote format 1 (commit 8eefa21), from the repository root:

    git worktree add /tmp/seqtext-v1 8eefa21 && cd /tmp/seqtext-v1 && \
        PYTHONPATH=. python /path/to/scripts/make_fixtures_v1.py /path/to/tests/fixtures

tests/test_compat.py and tests/test_series_compat.py check that today's code opens those
directories and answers exactly as recorded.
"""
import json
import sys
from pathlib import Path

from seqtext import Forecaster, TextModel

if len(sys.argv) != 2 or sys.argv[1].startswith("-"):  # -h/--help, or no folder: say how to run it
    print(__doc__)
    sys.exit(0 if sys.argv[1:] in (["-h"], ["--help"]) else 2)
out = Path(sys.argv[1])
lines = [l for l in Path("seqtext/corpora/pronouns.txt").read_text().splitlines()[:300]]
tm = TextModel(seed=0, epochs=3, hidden=16, embed=8, cell="gru", layers=2, dropout=0.1, tie_weights=True,
               mode="sentence").fit(lines)
tm.save(out / "text-v1")
prompts = ["Mary rides the bicycle, the bicycle is ___", "John drives", "___ and John ride the car, the car is theirs."]
text_out = {p: str(tm.complete(p, words=6)) for p in prompts}
text_out["next_words"] = [[w, round(p, 6)] for w, p in tm.next_words("Mary rides the bicycle, the bicycle is ___", k=3)]
ev = tm.evaluate(lines[:50])
text_out["perplexity"] = ev["perplexity"]
series = [112,118,132,129,121,135,148,148,136,119,104,118,115,126,141,135,125,149,170,170,158,133,114,140,
          145,150,178,163,172,178,199,199,184,162,146,166,171,180,193,181,183,218,230,242,209,191,172,194]
dates = [f"{1949 + i // 12}-{i % 12 + 1:02d}" for i in range(len(series))]
fc = Forecaster(window=12, horizon=3, epochs=20, hidden=8, log=True, seed=0).fit({"month": dates, "passengers": series},
                                                                                    target="passengers", date="month")
fc.save(out / "series-v1")
series_out = {"predict6": fc.predict(6).tolist(), "evaluate": fc.evaluate({"month": dates, "passengers": series}, 6)}
(out / "expected.json").write_text(json.dumps({"text": text_out, "series": series_out}, indent=2) + "\n")
print(json.dumps({"text": text_out, "series": series_out}, indent=1))

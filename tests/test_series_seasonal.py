"""--deseasonalize: each series divided by its seasonal ratios (classical multiplicative decomposition of its last
four periods before the origin) and the forecasts multiplied back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import seqtext
from seqtext.cli import cli
from seqtext.errors import ConfigError, SeqtextWarning
from seqtext.series import Forecaster
from seqtext.series.seasonal import cycle, factors

from conftest import assert_clean_failure, panel_train_args

TINY = dict(hidden=8, epochs=3, patience=3, batch_size=32, device="cpu", seed=0)


def seasonal_panel(n=72, ids=("A", "B", "C"), seed=0):
    """{id, month, value}: monthly series whose season multiplies a growing level (peaks twice the troughs)."""
    rng = np.random.default_rng(seed)
    table = {"id": [], "month": [], "value": []}
    pattern = 1 + 0.35 * np.sin(2 * np.pi * np.arange(12) / 12)
    for i, key in enumerate(ids):
        t = np.arange(n)
        y = 100 * (i + 1) * (1 + 0.005 * t) * pattern[t % 12] * (1 + 0.02 * rng.normal(size=n))
        table["id"] += [key] * n
        table["month"] += [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(n)]
        table["value"] += y.round(3).tolist()
    return table


@pytest.mark.parametrize("period, n", [(12, 48), (12, 30), (7, 40), (4, 9)])
def test_the_ratios_are_statsmodels_classical_multiplicative_decomposition(period, n):
    pytest.importorskip("statsmodels")
    from statsmodels.tsa.seasonal import seasonal_decompose

    rng = np.random.default_rng(period + n)
    y = (50 + 0.4 * np.arange(n)) * (1 + 0.3 * np.cos(2 * np.pi * np.arange(n) / period)) + rng.normal(size=n)
    theirs = seasonal_decompose(y, model="multiplicative", period=period).seasonal
    assert np.allclose(np.resize(cycle(y, period), n), theirs, rtol=0, atol=1e-12)


def test_the_ratios_come_from_the_last_four_periods_and_continue_by_phase():
    rng = np.random.default_rng(0)
    known = 10 + rng.uniform(1, 2, size=100)
    ratios = factors(known, 12, 110)
    last = cycle(known[-48:], 12)  # the first of them for row 52
    assert np.allclose(ratios[52:64], last) and np.allclose(ratios[100:110], last[:10])
    assert np.allclose(ratios[:12], np.roll(last, 52 % 12))  # rows before them repeat the pattern: row 0 is row 60's
    assert ratios[:100].mean() == pytest.approx(1.0, abs=0.01)
    assert factors(known[:23], 12, 30) is None  # fewer than two periods
    assert factors(np.r_[known[:50], 0.0], 12, 60) is None  # a value at 0 among the last four periods
    assert factors(np.r_[-1.0, known[:60]], 12, 70) is not None  # ... but not before them


def test_a_deseasonalized_model_forecasts_the_season_it_was_not_taught(tmp_path):
    """Divided out, the season is multiplied back into the forecasts: with three epochs of a tiny network the
    deseasonalized model follows the months' pattern far better than the same network taught the season."""
    table = seasonal_panel()
    train = {k: [v for v, m in zip(col, table["month"]) if m < "2005-01"] for k, col in table.items()}
    later = {k: [v for v, m in zip(col, table["month"]) if m >= "2005-01"] for k, col in table.items()}
    scores = {}
    for period in (0, 12):
        model = Forecaster(window=12, horizon=6, scaler="mean", deseasonalize=period, calibrate=0, **TINY)
        model.fit(train, date="month", id="id")
        scores[period] = model.evaluate(train, actuals=later, season=12)["mape"]
    assert scores[12] < 0.5 * scores[0], scores


def test_each_backtest_origin_reads_its_ratios_from_the_values_before_it():
    """Values after an origin change nothing forecast from it, so a backtest scores what a forecast made then
    would have been; from a later origin they do (the ratios and the window see them)."""
    table = seasonal_panel(ids=("A",))
    model = Forecaster(window=12, horizon=3, deseasonalize=12, calibrate=0, target="value", date="month", **TINY)
    model.fit({k: v[:60] for k, v in table.items()})
    changed = dict(table, value=table["value"][:66] + [3 * v for v in table["value"][66:]])
    before = {r["origin"]: r["forecast"] for r in model.backtest(table, start=60, steps=3)["results"]}
    after = {r["origin"]: r["forecast"] for r in model.backtest(changed, start=60, steps=3)["results"]}
    assert all(np.allclose(before[o], after[o]) for o in range(60, 64))
    assert not np.allclose(before[68], after[68])


def test_deseasonalize_saves_loads_calibrates_and_names_the_series_it_leaves(tmp_path):
    table = seasonal_panel()
    first = table["id"].index("C")
    table["value"][first + 70] = 0.0  # C touches zero in its last four years: kept as it is
    runner = CliRunner()
    data = tmp_path / "p.csv"
    data.write_text("id,month,value\n" + "\n".join(f"{a},{b},{c}" for a, b, c in zip(*table.values())) + "\n")
    out = tmp_path / "m"
    args = panel_train_args(data)
    result = runner.invoke(cli, [*args, "--deseasonalize", "12", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "; 1 not deseasonalized (a value at or below 0, or under two periods): C" in result.output
    assert json.loads((out / "config.json").read_text())["series"]["deseasonalize"] == 12
    model = seqtext.load(out)
    forecast = model.predict(6, levels=[80])
    again = Forecaster.load(out).predict(6, levels=[80])
    for key in ("A", "B", "C"):
        assert np.array_equal(forecast[key]["forecast"], again[key]["forecast"])
        assert np.all(forecast[key]["lower_80"] <= forecast[key]["forecast"])
        assert np.all(forecast[key]["forecast"] <= forecast[key]["upper_80"])
    # the months' pattern is in A's forecast: its peak month (April, the sine's top) above its trough (October)
    months = {r["date"]: r["forecast"] for r in model.forecast(12) if r["id"] == "A"}
    assert months["2006-04"] > 1.3 * months["2006-10"] and max(months, key=months.get) == "2006-04", months
    short = {k: v[:20] for k, v in table.items()}  # A's first 20 months: under two periods
    with pytest.warns(SeqtextWarning, match=r"series A has 20 values before the forecast, fewer than the two periods "
                                            r"\(24\) that deseasonalize 12 estimates seasonal ratios from"):
        model.predict(3, history=short)
    for bad, words in ((["--deseasonalize", "1"], "--deseasonalize 1 is no season"),
                       (["--deseasonalize", "-12"], "--deseasonalize")):
        result = runner.invoke(cli, [*args, *bad, "--out", str(tmp_path / "refused")])
        assert_clean_failure(result, words)
        assert not (tmp_path / "refused").exists()
    with pytest.raises(ConfigError, match="deseasonalize 1 is no season"):
        Forecaster(deseasonalize=1)


def test_a_backtest_forecasts_what_predict_would_from_each_origin():
    """The roll-out from each backtest origin reads only the rows before it, re-scaled with that origin's ratios:
    the same forecast as predict() given the history up to the origin."""
    table = seasonal_panel(ids=("A",))
    model = Forecaster(window=12, horizon=3, deseasonalize=12, calibrate=0, target="value", date="month", **TINY)
    model.fit({k: v[:60] for k, v in table.items()})
    rows = model.backtest(table, start=50, steps=5)["results"]
    assert len(rows) == 72 - 5 - 50 + 1
    for row in rows[::4]:
        origin = row["origin"]
        alone = model.predict(5, history={k: v[:origin] for k, v in table.items()})
        assert np.allclose(row["forecast"], alone, rtol=1e-6), origin


def test_the_validation_mae_is_in_the_series_units():
    """Early stopping's validation MAE (model.summary, the command line's line) puts the seasonal ratios back."""
    import torch

    from seqtext.series.scaling import make_windows, split_point

    rng = np.random.default_rng(0)
    n, t = 96, np.arange(96)
    y = (100 + t) * (1 + 0.5 * np.sin(2 * np.pi * t / 12)) * (1 + 0.02 * rng.normal(size=n))
    model = Forecaster(window=12, horizon=3, deseasonalize=12, calibrate=0, valid_fraction=0.25, **TINY).fit(y)
    split = split_point(n, 12, 3, 0.25)
    table = model.read(y)
    x_va, _, starts = make_windows(model.task.scale(table, n, None, upto=split), 12, 3, 1, split, n)
    with torch.inference_mode():
        pred = model.net(torch.as_tensor(x_va, dtype=torch.float32))[0].double().numpy()
    rows = starts[:, None] + 12 + np.arange(3)
    guess = model.task.scaler.inverse_target(pred) * model.task.seasonal(table, n, upto=split)[rows]
    assert model.summary["valid_mae"] == pytest.approx(float(np.mean(np.abs(guess - y[rows]))), rel=1e-5)


def test_forecasts_from_too_little_history_are_named_in_one_warning():
    table = seasonal_panel(ids=("A",))
    model = Forecaster(window=6, horizon=3, deseasonalize=12, calibrate=0, target="value", date="month", **TINY)
    model.fit(table)
    with pytest.warns(SeqtextWarning) as caught:
        model.backtest(table, start=6, steps=3)
    said = [str(w.message) for w in caught if "deseasonalize" in str(w.message)]
    assert said == ["18 of the 64 forecasts start after fewer than the two periods (24) of values that deseasonalize "
                    "12 estimates seasonal ratios from (the history: 6 values before its first), so they are made "
                    "without them; give longer histories, or start a backtest later."]

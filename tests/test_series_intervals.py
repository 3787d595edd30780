"""Conformal prediction intervals: the order statistics, empirical coverage on synthetic series, storage, API, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import seqtext
from seqtext.cli import cli
from seqtext.errors import DataError, SeqtextWarning
from seqtext.series import Forecaster
from seqtext.series.intervals import OWN_STEP, Calibration

from conftest import assert_clean_failure

TINY = dict(hidden=16, batch_size=64, epochs=6, patience=6, device="cpu", seed=0)


def panel(n_series=200, length=84, seed=0):
    """Seasonal series with i.i.d. noise of their own level, amplitude, phase and noise size: {id, t, value}."""
    rng = np.random.default_rng(seed)
    ids, ts, values = [], [], []
    for i in range(n_series):
        level, amp, phase, sigma = rng.uniform(50, 150), rng.uniform(0.1, 0.4), rng.uniform(0, 2 * np.pi), \
            rng.uniform(0.02, 0.08)
        t = np.arange(length)
        y = level * (1 + amp * np.sin(2 * np.pi * t / 12 + phase)) + level * sigma * rng.normal(size=length)
        ids += [f"s{i}"] * length
        ts += t.tolist()
        values += y.tolist()
    return {"id": ids, "t": ts, "value": values}


def split(table, last):
    """(history, the last ``last`` rows of each series) of a long table."""
    keep = {"id": [], "t": [], "value": []}
    later = {"id": [], "t": [], "value": []}
    t_max = max(table["t"])
    for i, t, v in zip(table["id"], table["t"], table["value"]):
        target = later if t > t_max - last else keep
        target["id"].append(i), target["t"].append(t), target["value"].append(v)
    return keep, later


def binomial_band(level, n, z=2.0):
    """The interval a coverage of n independent trials lies in at z standard errors (+ conformal's 1/(n+1));
    two by default, as the issue states."""
    p = level / 100
    se = math.sqrt(p * (1 - p) / n)
    return 100 * (p - z * se), 100 * (p + z * se + 1 / (n + 1))


# ----------------------------------------------------------------------------- order statistics


def test_a_step_with_many_scores_is_symmetric_at_its_own_absolute_order_statistic():
    """Many series: each step's interval is the forecast plus or minus the ``ceil((n+1)L)``-th smallest of its own
    absolute scores, symmetric even where every calibration error fell on one side (a bias of the calibration
    copy's stretch need not carry over)."""
    n = 200
    scores = np.arange(1.0, n + 1)  # 1, 2, ..., 200: every error above the forecast
    cal = Calibration(12, [scores, -2 * scores], [n, n])
    lower, upper = cal.offsets(90, 2)
    assert upper[0] == math.ceil((n + 1) * 0.90) == 181  # the 181st smallest absolute score
    assert upper[1] == 2 * 181  # the second step's, all below the forecast: the same rule
    np.testing.assert_array_equal(lower, -upper)


def test_too_few_scores_use_the_widest_and_pooled_scores_scale_by_step():
    cal = Calibration(3, [[-1.0, 2.0, 0.5], [3.0, -4.0], [6.0]])
    assert cal.counts == [3, 2, 1]
    spread = cal.spreads()
    assert np.all(np.diff(spread) > 0)  # errors grow with the step here
    lower, upper = cal.offsets(99, 3)  # 6 pooled scores cannot reach 99 %: the largest scaled one
    pooled = np.concatenate([np.abs(s) / spread[k] for k, s in enumerate(cal.scores)])
    np.testing.assert_allclose(upper, pooled.max() * spread)
    np.testing.assert_allclose(lower, -upper)


def test_one_series_steps_with_enough_scores_use_their_own():
    rng = np.random.default_rng(0)
    scores = [rng.normal(size=40), 2 * rng.normal(size=OWN_STEP), 3 * rng.normal(size=OWN_STEP - 1)]
    cal = Calibration(40, scores)
    assert OWN_STEP == 20
    lower, upper = cal.offsets(80, 3)
    np.testing.assert_allclose(lower, -upper)  # symmetric
    own = [np.sort(np.abs(s))[math.ceil((len(s) + 1) * 0.8) - 1] for s in scores[:2]]
    assert upper[0] == own[0] and upper[1] == own[1]  # the 33rd of 40 and the 17th of 20 absolute scores
    assert upper[2] == cal.borrowed(80, 3)[2]  # 19 scores: the pooled power law
    _, upper = cal.offsets(95, 3)  # 95 %: the 39th of 40 leaves one above it; the 20th of 20 does not
    assert upper[0] == np.sort(np.abs(scores[0]))[38]
    second = np.sort(np.abs(scores[1]))[-2]  # step 2: the power law's, never below its own second largest
    assert upper[1] == max(cal.borrowed(95, 3)[1], second) and upper[2] == cal.borrowed(95, 3)[2]
    for steps in (1, 3):  # the intervals of two levels nest, whichever rule each step and level takes
        widths = [cal.offsets(level, steps)[1] for level in (50, 80, 90, 95, 99, 99.9)]
        assert all(np.all(a <= b) for a, b in zip(widths, widths[1:]))


def test_one_series_half_widths_never_narrow_with_the_step():
    rng = np.random.default_rng(1)
    scores = [3 * rng.normal(size=40), rng.normal(size=39), 2 * rng.normal(size=38)]  # step 2 narrower than 1
    cal = Calibration(40, scores)
    own = [np.sort(np.abs(s))[math.ceil((len(s) + 1) * 0.8) - 1] for s in scores]
    assert own[1] < own[0] and own[1] < own[2]
    _, upper = cal.offsets(80, 3)
    assert upper[0] == upper[1] == pytest.approx((40 * own[0] + 39 * own[1]) / 79)  # pooled, weighted by scores
    assert upper[2] >= upper[1]
    np.testing.assert_array_equal(cal.offsets(80, 2)[1], upper[:2])  # a shorter forecast: the same intervals


def test_a_level_asked_twice_is_one_interval():
    from seqtext.series.intervals import check_levels

    assert check_levels([80, 95, 80.0]) == [80.0, 95.0]


def test_steps_beyond_the_calibration_are_refused():
    cal = Calibration(2, [[1.0] * 300, [2.0] * 300])
    with pytest.raises(DataError, match="calibrated for up to 2 steps"):
        cal.offsets(80, 3)


# ----------------------------------------------------------------------------- coverage


@pytest.fixture(scope="module")
def calibrated_panel():
    table = panel()
    history, future = split(table, 6)
    model = Forecaster(window=12, horizon=6, calibrate=12, **TINY).fit(history, target="value", id="id")
    return model, history, future


@pytest.mark.parametrize("level", [80, 95])
def test_coverage_of_many_series_is_the_nominal_level(calibrated_panel, level):
    model, history, future = calibrated_panel
    assert model.task.intervals.counts[0] == 200 * 12
    result = model.evaluate(history, actuals=future, levels=[level], season=12)
    n = 200 * 6
    low, high = binomial_band(level, n)
    assert low <= result["intervals"][str(level)]["coverage"] <= high, result["intervals"]


def test_one_step_intervals_are_compared_with_seasonal_naives_one_step_intervals(calibrated_panel):
    """One step ahead, each held-out value's reference is seasonal naive's one-step interval from the values before
    it, not its roll-out interval from the origin (whose spread grows by season)."""
    from seqtext.series import baselines as base

    model, history, future = calibrated_panel
    row = model.evaluate(history, actuals=future, levels=[80], season=12, one_step=True)["results"][0]
    pick = lambda table: np.array([v for i, v in zip(table["id"], table["value"]) if i == row["id"]])  # noqa: E731
    y, actual = np.concatenate([pick(history), pick(future)]), pick(future)
    origin = len(y) - len(actual)
    lower, upper = np.array([base.seasonal_naive_interval(y[:t], 1, 12, 80) for t in range(origin, len(y))])[:, :, 0].T
    scores = row["intervals"]["80"]
    assert scores["snaive_coverage"] == pytest.approx(100 * np.mean((actual >= lower) & (actual <= upper)))
    width = np.mean(np.subtract(scores["upper"], scores["lower"]))
    assert scores["width_vs_snaive"] == pytest.approx(width / np.mean(upper - lower))


def test_intervals_nest_and_widen_with_the_level(calibrated_panel):
    model, history, _ = calibrated_panel
    out, plain = model.predict(6, history, levels=[50, 80, 95]), model.predict(6, history)
    for key, r in out.items():
        assert np.all(r["lower_95"] <= r["lower_80"]) and np.all(r["lower_80"] <= r["lower_50"])
        assert np.all(r["upper_50"] <= r["upper_80"]) and np.all(r["upper_80"] <= r["upper_95"])
        np.testing.assert_array_equal(r["forecast"], plain[key])


def random_walks(n_series: int, length: int, seed: int = 0) -> dict:
    """{id, value}: random walks, whose forecast errors grow with the horizon (as the square root of the step)."""
    rng = np.random.default_rng(seed)
    return {"id": [f"r{i}" for i in range(n_series) for _ in range(length)],
            "value": np.concatenate([100 + np.cumsum(rng.normal(size=length)) for _ in range(n_series)]).tolist()}


def test_intervals_widen_with_the_horizon():
    """Each step's own quantiles (many series) and the pooled scores' spread (one series) both widen the interval
    step by step where the errors grow with the horizon."""
    model = Forecaster(window=12, horizon=6, calibrate=6, **TINY).fit(random_walks(200, 48), target="value", id="id")
    assert model.task.intervals.counts == [200 * (6 - k) for k in range(6)]  # each step's own scores
    for key, r in model.predict(6, levels=[80, 95]).items():
        for level in (80, 95):
            width = r[f"upper_{level}"] - r[f"lower_{level}"]
            assert np.all(np.diff(width) > 0) and width[-1] > 1.8 * width[0], (key, level, width)
    walk = random_walks(1, 300, seed=5)["value"]
    model = Forecaster(window=12, horizon=6, calibrate=36, **TINY).fit(walk)
    assert model.task.intervals.counts[:6] == [36, 35, 34, 33, 32, 31]
    r = model.predict(6, levels=[80])  # each step's own scores: a narrower step is pooled with the one before
    width = r["upper_80"] - r["lower_80"]
    assert np.all(np.diff(width) > -1e-9) and width[-1] > 1.4 * width[0], width


def test_coverage_of_one_series_with_pooled_scores():
    rng = np.random.default_rng(3)
    t = np.arange(420)
    values = 100 + 20 * np.sin(2 * np.pi * t / 12) + 3 * rng.normal(size=len(t))
    model = Forecaster(window=12, horizon=1, calibrate=48, **{**TINY, "epochs": 20, "batch_size": 16}).fit(
        values[:300])
    assert sum(model.task.intervals.counts) == 48 * 49 // 2
    result = model.backtest(values, start=300, steps=1, levels=[80, 95])
    n = result["origins"]
    for level in (80, 95):
        # step 1 has 48 scores of its own, so its interval is their conformal quantile, not the power law's
        # (which covered 72.5 % at 80 % here)
        low, high = binomial_band(level, n)
        assert low <= result["intervals"][str(level)]["coverage"] <= high, (level, result["intervals"])


# ----------------------------------------------------------------------------- storage, API, CLI


def test_calibration_survives_save_and_load(calibrated_panel, tmp_path):
    model, history, _ = calibrated_panel
    path = model.save(tmp_path / "m")
    stored = json.loads((path / "scaler.json").read_text())
    assert stored["intervals"]["values"] == 12 and len(stored["intervals"]["counts"]) == 12
    again = seqtext.load(path)
    a, b = model.predict(6, history, levels=[80]), again.predict(6, history, levels=[80])
    for key in a:
        np.testing.assert_allclose(a[key]["upper_80"], b[key]["upper_80"])


def test_calibration_is_the_default_when_the_series_is_long_enough(tmp_path):
    series = np.sin(np.arange(60) / 3) + 2
    model = Forecaster(window=6, **TINY).fit(series)
    assert model.settings.series.calibrate == 12  # at least 12 values, no dates: no longer season
    assert model.task.intervals is not None and model.task.intervals.values == 12
    out = model.predict(3, levels=[80])
    assert np.all(out["lower_80"] < out["forecast"]) and np.all(out["forecast"] < out["upper_80"])
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["series"]["calibrate"] == 12
    # the final model is fitted on all the values: the same weights as a fit that does not calibrate
    plain = Forecaster(window=6, calibrate=0, **TINY).fit(series)
    assert plain.task.intervals is None
    assert all(torch.equal(a, b) for a, b in zip(model.net.state_dict().values(), plain.net.state_dict().values()))
    np.testing.assert_array_equal(model.predict(3), plain.predict(3))  # so calibrating costs no point accuracy
    with pytest.warns(SeqtextWarning, match=r"calibrated on the last 1 value only .*give calibrate N"):
        short = Forecaster(window=6, **TINY).fit(series[:24])  # 24 - 12 < 2 x (6 + 1): only the horizon fits
    assert short.settings.series.calibrate == 1
    with pytest.warns(SeqtextWarning, match=r"no prediction intervals: the longest series \(30 values\) cannot "
                                            r"spare 1 .* = 30 to fit on"):
        assert Forecaster(window=14, **TINY).fit(series[:30]).task.intervals is None  # too short for any


def test_the_cli_says_when_the_default_calibration_gives_no_intervals(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("y\n" + "\n".join(str(v) for v in np.sin(np.arange(30) / 3) + 2) + "\n")
    args = ["forecast", "train", "--csv", str(csv), "--window", "14", "--epochs", "1", "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "m")])
    assert result.exit_code == 0
    assert "warning: no prediction intervals" in result.stderr and "--calibrate N" in result.stderr
    result = CliRunner().invoke(cli, [*args, "--calibrate", "0", "--out", str(tmp_path / "m0")])
    assert result.exit_code == 0 and "warning" not in result.stderr  # asked for none: nothing to say


def test_a_model_without_calibration_says_how_to_get_intervals(tmp_path):
    model = Forecaster(window=6, calibrate=0, **TINY).fit(np.sin(np.arange(60) / 3) + 2)
    with pytest.raises(DataError, match="this model has no calibrated intervals; train it with calibrate N"):
        model.predict(3, levels=[80])
    model.save(tmp_path / "m")
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(tmp_path / "m"), "--levels", "80",
                                      "--out", str(tmp_path / "f.csv")])
    assert_clean_failure(result, "this model has no calibrated intervals", "--calibrate N", "--levels")
    assert not (tmp_path / "f.csv").exists()
    with pytest.raises(DataError, match="between 0 and 100"):
        Forecaster(window=6, calibrate=12, **TINY).fit(np.sin(np.arange(60) / 3) + 2).predict(3, levels=[100])


def test_calibration_too_long_for_the_series_is_one_sentence():
    with pytest.raises(DataError, match="calibrate 55 leaves 5 values"):
        Forecaster(window=6, calibrate=55, **TINY).fit(np.arange(60.0) + 1)


@pytest.mark.parametrize("many", [False, True])
def test_calibration_too_long_is_refused_before_any_model_is_written(tmp_path, many):
    """Checked before the final fit, which saves a model directory after every epoch: a refusal writes nothing."""
    rows = [(f"s{k}", t, 10 + k + np.sin(t / 2)) for k in range(3 if many else 1) for t in range(60)]
    data = tmp_path / "s.csv"
    data.write_text("id,t,v\n" + "\n".join(f"{i},{t},{v:.4f}" for i, t, v in rows) + "\n")
    out = tmp_path / "m"
    ids = ["--id", "id"] if many else []
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--target", "v", *ids, "--window",
                                      "12", "--holdout", "10", "--calibrate", "40", "--epochs", "1", "--hidden", "4",
                                      "--quiet", "--out", str(out)])
    left = "leaves at most 10 values of a series" if many else "leaves 10 values"
    assert_clean_failure(result, f"--calibrate 40 {left} (after the 10 held out) to fit the calibration model on",
                         "fewer than --window + --horizon = 13", "--calibrate 0: no intervals")
    assert not out.exists()
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--target", "v", *ids, "--window",
                                      "12", "--holdout", "50", "--epochs", "1", "--hidden", "4", "--calibrate", "0",
                                      "--quiet", "--out", str(out)])
    assert_clean_failure(result, "than --window + --horizon = 13 (after the 50 held out)", "or --holdout.")
    assert not out.exists()
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--target", "v", *ids, "--window",
                                      "12", "--holdout", "10", "--calibrate", "55", "--epochs", "1", "--hidden", "4",
                                      "--quiet", "--out", str(out)])  # more than the 50 values left: none, not -5
    assert_clean_failure(result, f"--calibrate 55 {left.replace('10', '0')} (after the 10 held out)")


def test_backtest_levels_on_an_uncalibrated_model_are_refused_before_the_baselines(tmp_path):
    pytest.importorskip("statsmodels")
    model = Forecaster(window=6, calibrate=0, **TINY).fit(np.sin(np.arange(60) / 3) + 2)
    model.save(tmp_path / "m")
    data = tmp_path / "s.csv"
    data.write_text("y\n" + "\n".join(f"{v:.4f}" for v in np.sin(np.arange(60) / 3) + 2) + "\n")
    for command in ("backtest", "evaluate"):
        result = CliRunner().invoke(cli, ["forecast", command, "--model", str(tmp_path / "m"), "--csv", str(data),
                                          "--baselines", "ets", "--levels", "80"])
        assert_clean_failure(result, "this model has no calibrated intervals")
        assert "fitting" not in result.output  # the slow ETS fits never started


def test_cli_predict_levels_json_table_and_csv(tmp_path):
    rng = np.random.default_rng(0)
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(120)]
    values = 100 + 10 * np.sin(2 * np.pi * np.arange(120) / 12) + rng.normal(size=120)
    data = tmp_path / "s.csv"
    data.write_text("month,v\n" + "\n".join(f"{m},{v:.3f}" for m, v in zip(months, values)) + "\n")
    out = tmp_path / "m"
    run = lambda *a: CliRunner().invoke(cli, ["forecast", *map(str, a)])  # noqa: E731
    result = run("train", "--csv", data, "--date", "month", "--window", "12", "--calibrate", "24", "--epochs", "5",
                 "--hidden", "8", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    result = run("predict", "--model", out, "--steps", "3", "--levels", "80,95", "--json", "--out", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["forecast"]
    assert list(rows[0]) == ["step", "date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95", "value"]
    assert all(r["lower_95"] <= r["lower_80"] <= r["forecast"] <= r["upper_80"] <= r["upper_95"] for r in rows)
    assert all(r["value"] == r["forecast"] for r in rows)  # the older name of the point forecast, kept
    lines = (tmp_path / "f.csv").read_text().splitlines()
    assert lines[0] == "step,date,forecast,lower_80,upper_80,lower_95,upper_95" and len(lines) == 4
    assert [float(line.split(",")[2]) for line in lines[1:]] == pytest.approx([r["forecast"] for r in rows])
    table = run("predict", "--model", out, "--steps", "3", "--levels", "80,95")
    header, *lines = table.stdout.splitlines()
    assert header.split("\t") == ["date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert [[float(v) for v in line.split("\t")[1:]] for line in lines] == \
        [pytest.approx([r[k] for k in header.split("\t")[1:]], abs=1e-4) for r in rows]
    result = run("evaluate", "--model", out, "--csv", data, "--holdout", "3", "--levels", "80")
    assert result.exit_code == 0, result.output  # one series: 24 errors of step 1, ..., 1 of step 24
    assert "(intervals calibrated on 24 errors one step ahead, 1 at step 24; 19 steps with fewer than 20 pooled " \
        "with the others, scaled by step)" in result.stdout
    png = tmp_path / "p.png"
    assert run("predict", "--model", out, "--levels", "80", "--plot", png).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_clean_failure(run("predict", "--model", out, "--levels", "80,120"), "between 0 and 100", code=2)
    assert_clean_failure(run("predict", "--model", out, "--steps", "30", "--levels", "80"),
                         "calibrated for up to 24 steps ahead, and 30 were asked for; with intervals, give --steps "
                         "of 24 or fewer, or calibrate more steps at training (forecast train --calibrate).")
    # the option named is the one that sets the number of steps in each command, and refused before any baseline fit
    far = run("evaluate", "--model", out, "--csv", data, "--holdout", "30", "--levels", "80", "--baselines", "ets")
    assert_clean_failure(far, "give --holdout (or the rows of --actuals) of 24 or fewer, or calibrate more")
    far = run("backtest", "--model", out, "--csv", data, "--steps", "30", "--levels", "80", "--baselines", "ets")
    assert_clean_failure(far, "give --steps of 24 or fewer, or calibrate more")
    assert "fitting" not in far.output
    assert_clean_failure(run("predict", "--model", out, "--out", tmp_path / "f.txt"), "must end in .csv", code=2)
    for flag, name in (("--out", ".csv"), ("--out", ".CSV"), ("--plot", ".png")):  # an extension alone, no name
        assert_clean_failure(run("predict", "--model", out, flag, tmp_path / name),
                             f"{flag} {tmp_path / name} has no name before {name}; give one, e.g. "
                             f"forecast{name.lower()}.", code=2)
        assert not (tmp_path / name).exists()


def test_a_calibrated_training_taken_further_is_calibrated_again(tmp_path):
    """Its intervals were calibrated on a copy trained for 3 epochs; after 5, on a copy trained for 5, as a straight
    5-epoch fit's are (the scalers are kept, so nothing else changes)."""
    values = 100 + 10 * np.sin(np.arange(90) / 2)
    first = Forecaster(window=6, calibrate=12, **{**TINY, "epochs": 3}).fit(values, checkpoint_dir=tmp_path / "m")
    more = Forecaster.resume(tmp_path / "m", values, epochs=5)
    straight = Forecaster(window=6, calibrate=12, **{**TINY, "epochs": 5}).fit(values)
    assert len(more.history) == 5
    assert more.task.intervals.to_dict() == straight.task.intervals.to_dict() != first.task.intervals.to_dict()


def test_mean_scaling_pools_its_scores_in_standard_deviations(tmp_path):
    """Under --scaler mean each series' scores are divided by its standard deviation, not its mean level, before
    pooling: a series' interval half-width is the pooled offset times its own standard deviation."""
    table = panel()
    history, future = split(table, 6)
    model = Forecaster(window=12, horizon=6, calibrate=12, scaler="mean", **TINY).fit(history, target="value",
                                                                                    id="id")
    out = model.predict(6, history, levels=[80])
    units, ratios = {}, {}
    for key, r in out.items():
        values = np.array([v for i, v in zip(history["id"], history["value"]) if i == key])
        scaler = model.task.scalers[key]
        assert scaler.center[0] == 0 and scaler.scale[0] == pytest.approx(np.abs(values).mean())
        units[key] = scaler.interval_unit
        assert units[key] == pytest.approx(values.std())
        ratios[key] = (r["upper_80"] - r["forecast"]) / units[key]  # (6,) the pooled offsets in interval units
    first = next(iter(ratios.values()))
    for ratio in ratios.values():
        np.testing.assert_allclose(ratio, first, rtol=1e-6)
    # the per-series unit differs from the scale, so dividing by the mean would have given other widths
    assert np.ptp([units[k] / model.task.scalers[k].scale[0] for k in units]) > 0.05
    result = model.evaluate(history, actuals=future, levels=[80], season=12)
    low, high = binomial_band(80, 200 * 6)
    assert low <= result["intervals"]["80"]["coverage"] <= high, result["intervals"]
    again = seqtext.load(model.save(tmp_path / "m"))
    key = next(iter(out))
    assert again.task.scalers[key].interval_unit == pytest.approx(units[key])
    np.testing.assert_allclose(again.predict(6, history, levels=[80])[key]["upper_80"], out[key]["upper_80"])


def test_nonnegative_refuses_a_series_below_zero(tmp_path):
    values = [4.0, 3, 2, -2, 1, 2, 3, 4, 5, 6] * 3
    with pytest.raises(DataError, match=r"nonnegative floors the forecasts at 0, but .* is -2 at row 3"):
        Forecaster(window=3, nonnegative=True, epochs=1, calibrate=0).fit(values)
    csv = tmp_path / "s.csv"
    csv.write_text("y\n" + "\n".join(map(str, values)) + "\n")
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), "--window", "3", "--nonnegative",
                                      "--epochs", "1", "--quiet", "--out", str(tmp_path / "m")])
    assert_clean_failure(result, "--nonnegative floors the forecasts at 0", "is -2 at line 5")
    assert not (tmp_path / "m").exists()
    model = Forecaster(window=3, nonnegative=True, epochs=1, calibrate=0).fit([abs(v) for v in values])
    with pytest.raises(DataError, match="is -2 at row 3"):  # a history below zero cannot be floored at it
        model.predict(2, history=values)


def test_a_second_fit_trains_what_a_fresh_model_would():
    """The first fit resolves ``calibrate`` (1 for a short series); a second fit on a longer one resolves it again,
    as a fresh model does, rather than keeping 1 (intervals of one step, far too narrow)."""
    values = [100 + 10 * math.sin(i / 2) + i for i in range(60)]
    refit = Forecaster(window=6, **TINY)
    refit.fit(values[:20])
    assert refit.settings.series.calibrate == 1
    refit.fit(values)
    fresh = Forecaster(window=6, **TINY).fit(values)
    assert refit.settings.series.calibrate == fresh.settings.series.calibrate > 1
    np.testing.assert_array_equal(refit.predict(steps=3, levels=[80])["upper_80"],
                                  fresh.predict(steps=3, levels=[80])["upper_80"])
    # a refit that fails leaves the trained model whole: its data, options and forecasts
    forecast = refit.predict(steps=3, levels=[80])
    with pytest.raises(DataError):
        refit.fit([1.0, 2.0])
    assert refit.settings.series.calibrate == fresh.settings.series.calibrate
    np.testing.assert_array_equal(refit.predict(steps=3, levels=[80])["upper_80"], forecast["upper_80"])
    # an option set on the model between the fits is kept: only what the fit resolved goes back
    chosen = Forecaster(window=6, **TINY)
    chosen.fit(values[:20])
    chosen.settings.series.calibrate = 0
    assert chosen.fit(values).settings.series.calibrate == 0


def test_columns_named_to_fit_are_that_fits_alone_and_name_a_list_too():
    """Each fit starts from the options the model was made with: columns named to one fit do not carry over to the
    next (which trains the model a fresh one would), and ``target`` names a plain list of values as well."""
    table = {"when": [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(40)],
             "sales": [100 + 10 * math.sin(i / 2) for i in range(40)], "other": list(range(40))}
    model = Forecaster(window=6, calibrate=0, **TINY).fit(table, target="sales", date="when", features=["other"])
    assert (model.settings.series.target, model.settings.series.date) == ("sales", "when")
    with pytest.raises(DataError, match="several columns that could be forecast"):
        model.fit(table)  # as Forecaster(...).fit(table) is: the columns were that fit's
    assert model.settings.series.features == ["other"]  # a failed fit leaves the trained model as it was
    refit = model.fit({"y": table["sales"], "z": table["other"]}, target="y")
    fresh = Forecaster(window=6, calibrate=0, **TINY).fit({"y": table["sales"], "z": table["other"]}, target="y")
    assert (refit.settings.series.target, refit.settings.series.features, refit.settings.series.date) == \
        ("y", [], None)
    np.testing.assert_array_equal(refit.predict(steps=3), fresh.predict(steps=3))
    named = Forecaster(window=6, calibrate=0, **TINY).fit(table["sales"], target="sales")
    assert named.settings.series.target == "sales" and named.fit(table["sales"]).settings.series.target == "value"

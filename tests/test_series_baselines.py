"""Baselines beside every score: their forecasts (statsmodels' own for ETS and Theta), the season from the dates,
skill over seasonal naive, and ``forecast evaluate`` / ``forecast backtest`` with them."""

from __future__ import annotations

import csv
import json
import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from seqtext.cli import cli
from seqtext.errors import ConfigError, DataError, SeqtextWarning
from seqtext.series import Forecaster
from seqtext.series import baselines as base
from seqtext.series.dates import season_of

from conftest import assert_clean_failure

AIRLINE = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170, 158,
           133, 114, 140, 145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166, 171, 180, 193, 181, 183, 218,
           230, 242, 209, 191, 172, 194]
MONTHS = [f"{1949 + i // 12}-{i % 12 + 1:02d}" for i in range(len(AIRLINE))]
TINY = dict(hidden=8, epochs=8, patience=8, batch_size=8, device="cpu", seed=0)


def test_naive_seasonal_naive_and_drift_by_their_definitions():
    y = np.array([1.0, 2, 3, 4, 5, 6, 7, 10])
    assert base.naive(y, 3).tolist() == [10, 10, 10]
    assert base.seasonal_naive(y, 6, season=4).tolist() == [5, 6, 7, 10, 5, 6]
    assert base.seasonal_naive(y, 2, season=1).tolist() == [10, 10]  # no season: naive
    assert base.drift(y, 2).tolist() == pytest.approx([10 + 9 / 7, 10 + 18 / 7])


def test_ets_is_statsmodels_ets_with_the_lower_aicc():
    pytest.importorskip("statsmodels")
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.array(AIRLINE, dtype=float)
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for error in ("add", "mul"):
            for damped in (True, False):
                fits.append(ETSModel(y, error=error, trend="add", damped_trend=damped, seasonal=error,
                                     seasonal_periods=12).fit(disp=False))
    assert len(base.ets_forms(y, 12)) == 4 and len(base.ets_forms(y - 200, 12)) == 2  # no multiplicative form
    best = min(fits, key=lambda f: f.aicc)
    np.testing.assert_allclose(base.ets(y, 12, season=12), best.forecast(12), rtol=1e-10)


def test_theta_is_statsmodels_theta():
    pytest.importorskip("statsmodels")
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = np.array(AIRLINE, dtype=float)
    expected = ThetaModel(y, period=12, deseasonalize=True, method="auto").fit().forecast(12)
    np.testing.assert_allclose(base.theta(y, 12, season=12), expected, rtol=1e-10)
    flat = ThetaModel(y, period=1, deseasonalize=False, method="auto").fit().forecast(5)
    np.testing.assert_allclose(base.theta(y, 5, season=1), flat, rtol=1e-10)


def test_seasonal_naive_interval_grows_each_season():
    y = np.tile([1.0, 3.0, 2.0, 5.0], 6) + np.arange(24) * 0.1
    lower, upper = base.seasonal_naive_interval(y, 8, 4, 95)
    width = upper - lower
    sigma = np.sqrt(np.mean((y[4:] - y[:-4]) ** 2))
    assert width[0] == pytest.approx(2 * 1.959964 * sigma, rel=1e-5)
    assert width[4] == pytest.approx(width[0] * math.sqrt(2))


@pytest.mark.parametrize("labels,season", [(MONTHS, 12), (["2000-01", "2000-04", "2000-07"], 4),
                                           (["2020-01-01", "2020-01-02", "2020-01-03"], 7),
                                           (["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 02:00"], 24),
                                           (["1990", "1991", "1992"], 1), (None, 1)])
def test_the_season_comes_from_the_dates(labels, season):
    assert season_of(labels) == season


@pytest.mark.parametrize("command", ["evaluate", "backtest"])
def test_the_season_help_names_every_season_the_dates_give(command):
    from click.testing import CliRunner

    from seqtext.cli import cli

    weekdays = ["2021-10-07", "2021-10-08", "2021-10-11", "2021-10-12"]  # Thursday, Friday, Monday, Tuesday
    assert season_of(weekdays) == 5 and season_of(["2021-W40", "2021-W41", "2021-W42"]) == 52
    text = " ".join(CliRunner().invoke(cli, ["forecast", command, "--help"]).output.split())
    for season in ("12 for months", "4 quarters", "7 days", "5 weekdays", "52 weeks", "24 hours"):
        assert season in text


def test_unknown_baselines_are_refused():
    assert base.parse("all") == list(base.NAMES) and base.parse("none") == []
    with pytest.raises(ConfigError, match="unknown baseline 'arima'"):
        base.parse("naive,arima")


@pytest.fixture(scope="module")
def model():
    return Forecaster(window=12, log=True, **TINY).fit({"month": MONTHS[:-12], "p": AIRLINE[:-12]}, date="month")


def test_evaluate_scores_the_baselines_on_the_same_values(model):
    data = {"month": MONTHS, "p": AIRLINE}
    result = model.evaluate(data, 12, season=None, baselines="all")
    history, actual = np.array(AIRLINE[:-12], float), np.array(AIRLINE[-12:], float)
    snaive = result["baselines"]["snaive"]
    assert snaive["mae"] == pytest.approx(np.mean(np.abs(history[-12:] - actual)))  # season 12 from the dates
    ets = base.ets(history, 12, 12)
    assert result["baselines"]["ets"]["mae"] == pytest.approx(np.mean(np.abs(ets - actual)))
    assert result["skill"] == pytest.approx(1 - result["mase"] / snaive["mase"])
    assert result["beats_snaive"] == float(result["mae"] < snaive["mae"])
    assert model.evaluate(data, 12)["mae"] == result["mae"]  # the model's own scores are unchanged


@pytest.mark.skipif(not base.have_statsmodels(), reason="ETS and Theta need statsmodels")
def test_backtest_baselines_and_the_report(model, tmp_path):
    data = tmp_path / "air.csv"
    data.write_text("month,p\n" + "\n".join(f"{m},{v}" for m, v in zip(MONTHS, AIRLINE)) + "\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["forecast", "train", "--csv", str(data), "--date", "month", "--window", "12",
                                 "--log", "--holdout", "12", "--calibrate", "12", "--hidden", "8", "--epochs", "8",
                                 "--quiet", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    args = ["forecast", "backtest", "--model", str(tmp_path / "m"), "--csv", str(data), "--start", "36", "--steps",
            "6", "--stride", "2", "--levels", "80"]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "r.csv"), "--plot", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    for label in ("model", "seasonal naive", "ETS (statsmodels)", "Theta (statsmodels)", "skill over seasonal naive",
                  "80 %"):
        assert label in result.stdout
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 6  # origins 36, 38, 40, 42; 6 steps each
    assert list(rows[0])[:5] == ["origin", "origin_date", "step", "actual", "forecast"]
    assert {"lower_80", "upper_80", "naive", "snaive", "drift", "ets", "theta"} <= set(rows[0])
    assert float(rows[0]["snaive"]) == AIRLINE[36 - 12]
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(cli, [*args, "--json", "--baselines", "snaive"])
    obj = json.loads(result.stdout)
    assert obj["origins"] == 4 and list(obj["baselines"]) == ["snaive"] and "80" in obj["intervals"]
    assert obj["results"][0]["baselines"]["snaive"]["forecast"][0] == AIRLINE[24]
    assert_clean_failure(runner.invoke(cli, [*args, "--baselines", "arima"]), "unknown baseline 'arima'", code=2)
    assert_clean_failure(runner.invoke(cli, [*args[:6], "--start", "45", "--steps", "6"]),
                         "backtest origins must lie between")


def test_without_statsmodels_ets_and_theta_are_skipped_with_a_note(model, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "have_statsmodels", lambda: False)
    result = model.evaluate({"month": MONTHS, "p": AIRLINE}, 12, baselines="all")
    assert list(result["baselines"]) == ["naive", "snaive", "drift"]
    path = model.save(tmp_path / "m")
    data = tmp_path / "air.csv"
    data.write_text("month,p\n" + "\n".join(f"{m},{v}" for m, v in zip(MONTHS, AIRLINE)) + "\n")
    out = CliRunner().invoke(cli, ["forecast", "evaluate", "--model", str(path), "--csv", str(data)])
    assert out.exit_code == 0, out.output
    assert "(ETS (statsmodels), Theta (statsmodels): install statsmodels" in out.stdout


def test_evaluate_cli_prints_baselines_and_json_blocks(model, tmp_path):
    path = tmp_path / "m"
    model.save(path)
    data = tmp_path / "air.csv"
    data.write_text("month,p\n" + "\n".join(f"{m},{v}" for m, v in zip(MONTHS, AIRLINE)) + "\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(path), "--csv", str(data), "--holdout", "12"])
    assert result.exit_code == 0, result.output
    assert "baselines, 12 steps from the same history (season 12):" in result.stdout
    assert "seasonal naive" in result.stdout and "skill over seasonal naive" in result.stdout
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(path), "--csv", str(data), "--holdout", "12",
                                 "--json", "--baselines", "naive,snaive"])
    obj = json.loads(result.stdout)
    assert obj["season"] == 12 and set(obj["baselines"]) == {"naive", "snaive"} and "skill" in obj
    assert set(obj["rollout"]) == {"mae", "rmse", "mape", "smape", "mase"}


def test_a_forecast_that_is_not_finite_scores_nan_never_zero():
    from seqtext.series.metrics import forecast_metrics

    failed = forecast_metrics([0.0, 0.0, 0.0], [math.nan] * 3, [1.0, 2.0, 3.0])
    assert all(math.isnan(v) for v in failed.values())  # sMAPE read 0.00 for a failed fit of zeros
    assert forecast_metrics([0.0, 0.0], [0.0, 0.0])["smape"] == 0.0  # 0/0: a perfect forecast of zeros


@pytest.mark.skipif(not base.have_statsmodels(), reason="ETS and Theta need statsmodels")
def test_a_constant_history_forecasts_the_constant_and_one_value_is_a_failed_fit():
    for value in (7.0, 0.0):
        assert base.theta([value] * 30, 3).tolist() == [value] * 3  # Theta's degenerate fit climbed to 12.6
        assert base.ets([value] * 30, 3).tolist() == [value] * 3  # ETS failed on zeros
    for fit in (base.ets, base.theta):
        assert np.isnan(fit([5.0], 2)).all()  # ETS raised IndexError; Theta made up a trend from one value
    assert np.isfinite(base.theta([5.0, 7.0, 6.0, 8.0], 2)).all()


@pytest.fixture(scope="module")
def one_value_model():
    """Window 1: the history before origin 1 is a single value, too short for ETS and Theta."""
    return Forecaster(window=1, horizon=1, calibrate=0, **TINY).fit({"month": MONTHS[:24], "p": AIRLINE[:24]},
                                                                   date="month")


@pytest.mark.skipif(not base.have_statsmodels(), reason="ETS and Theta need statsmodels")
def test_baselines_that_fail_are_counted_and_their_means_are_over_the_cases_they_scored(one_value_model, tmp_path):
    data = {"month": MONTHS[:12], "p": AIRLINE[:12]}
    with pytest.warns(SeqtextWarning, match=r"^MASE is undefined for 10 of the 11 forecasts scored .* give a longer "
                                             r"history \(a season needs two values or more"):  # no season below 1
        result = one_value_model.backtest(data, start=1, steps=1, baselines="ets,theta,naive")
    rows = result["results"]
    for name in ("ets", "theta"):
        ok = [r["baselines"][name] for r in rows if np.isfinite(r["baselines"][name]["forecast"]).all()]
        assert 0 < len(ok) < len(rows) == 11
        assert result["baselines"][name]["failed"] == len(rows) - len(ok)
        for key in ("mae", "smape"):  # both over the same origins: a failure counted no sMAPE of 0
            assert result["baselines"][name][key] == pytest.approx(np.mean([b[key] for b in ok]))
    assert result["baselines"]["naive"]["failed"] == 0
    path = one_value_model.save(tmp_path / "m")
    csv_path = tmp_path / "air.csv"
    csv_path.write_text("month,p\n" + "\n".join(f"{m},{v}" for m, v in zip(MONTHS[:12], AIRLINE[:12])) + "\n")
    runner = CliRunner()
    args = ["forecast", "backtest", "--model", str(path), "--csv", str(csv_path), "--start", "1", "--steps", "1",
            "--baselines", "ets,naive"]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    failed = result["baselines"]["ets"]["failed"]
    assert f"(ETS (statsmodels) could not be fitted on {failed} of the 11 origins; its means are over the other " \
           f"{11 - failed})" in out.stdout
    obj = json.loads(runner.invoke(cli, [*args, "--json"]).stdout)
    assert obj["baselines"]["ets"]["failed"] == failed and obj["baselines"]["naive"]["failed"] == 0
    short = tmp_path / "short.csv"  # one value before the held-out one: no traceback from statsmodels
    short.write_text("month,p\n" + "\n".join(f"{m},{v}" for m, v in zip(MONTHS[:2], AIRLINE[:2])) + "\n")
    out = runner.invoke(cli, ["forecast", "evaluate", "--model", str(path), "--csv", str(short), "--holdout", "1"])
    assert out.exit_code == 0, out.output
    assert "ETS (statsmodels)       failed: could not be fitted\n" in out.stdout  # not "any of the 1 roll-outs"
    assert "held out the last 1 value of p (1949-02 to 1949-02); forecast from the 1 before it\n" in out.stdout
    assert "Theta (statsmodels)     failed" in out.stdout
    scores = one_value_model.evaluate({"month": MONTHS[:2], "p": AIRLINE[:2]}, 1, baselines="ets")
    assert scores["baselines"]["ets"]["failed"] == 1 and math.isnan(scores["baselines"]["ets"]["smape"])


def test_the_api_takes_the_season_from_the_dates_and_fill_as_the_cli_does(model, tmp_path):
    data = {"month": MONTHS, "p": AIRLINE}
    scores = model.evaluate(data, 12, baselines="snaive")
    assert scores["results"][0]["season"] == 12  # the default season was 1, the CLI's the dates' 12
    assert scores["mase"] == model.evaluate(data, 12, season=12)["mase"] != model.evaluate(data, 12, season=1)["mase"]
    assert model.backtest(data, start=36, steps=3)["results"][0]["season"] == 12
    path = model.save(tmp_path / "m")
    csv_path = tmp_path / "air.csv"
    csv_path.write_text("month,p\n" + "\n".join(f"{m},{v}" for m, v in zip(MONTHS, AIRLINE)) + "\n")
    obj = json.loads(CliRunner().invoke(cli, ["forecast", "evaluate", "--model", str(path), "--csv", str(csv_path),
                                              "--holdout", "12", "--json", "--baselines", "snaive"]).stdout)
    assert obj["rollout"]["mase"] == pytest.approx(scores["mase"])
    gap = {"month": MONTHS, "p": AIRLINE[:30] + [None] + AIRLINE[31:]}
    with pytest.raises(DataError, match="turn on fill"):
        model.evaluate(gap, 12)  # the model was trained without fill
    assert math.isfinite(model.evaluate(gap, 12, fill=True)["mae"])
    assert len(model.backtest(gap, start=36, steps=3, fill=True)["results"]) == 10
    with pytest.raises(ConfigError, match="fill must be True, False or None"):
        model.backtest(gap, start=36, fill="yes")


def test_a_model_whose_weights_are_not_numbers_is_named_as_such(tmp_path):
    """A model whose weights went to NaN forecasts NaN: it is the model that is broken, not the history."""
    import torch

    broken = Forecaster(window=12, **TINY).fit({"month": MONTHS[:-12], "p": AIRLINE[:-12]}, date="month")
    with torch.no_grad():
        next(broken.net.parameters()).fill_(float("nan"))
    with pytest.raises(DataError, match=r"the model's weights are not all numbers .* with a lower lr\.$"):
        broken.evaluate({"month": MONTHS, "p": AIRLINE}, 12)


def test_a_season_longer_than_the_history_leaves_mase_undefined_and_says_so(one_value_model, tmp_path):
    """MASE is scaled by the seasonal-naive error within the history: with no value a season before another there,
    it is NaN (null in JSON), said in a warning and counted as ``mase_undefined``, and the skill falls back to MAE,
    as the printed line and ``skill_on`` say; a season the history spans has none of that."""
    from seqtext.errors import SeqtextWarning

    data = {"month": MONTHS[:20], "p": AIRLINE[:20]}
    with pytest.warns(SeqtextWarning, match=r"^MASE is undefined: it is scaled by the error of forecasting each value "
                                            r"of the history from the one a season \(24\) before it, and the 16 values "
                                            r"before the values to score hold no such pair; give a season below 16"):
        scores = one_value_model.evaluate(data, 4, season=24, baselines="snaive")
    assert math.isnan(scores["mase"]) and scores["mase_undefined"] == 1 and scores["skill_on"] == "mae"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="MASE", category=SeqtextWarning)
        ok = one_value_model.evaluate({"month": MONTHS[:24], "p": AIRLINE[:24]}, 4, season=12, baselines="snaive")
    assert math.isfinite(ok["mase"]) and "mase_undefined" not in ok and ok["skill_on"] == "mase"
    with pytest.warns(SeqtextWarning, match=r"^MASE is undefined for 3 of the 7 forecasts scored \(the means leave "
                                            r"them out\)"):
        bt = one_value_model.backtest({"month": MONTHS[:24], "p": AIRLINE[:24]}, start=4, steps=1, stride=3,
                                      season=12)
    assert bt["mase_undefined"] == 3 and math.isfinite(bt["mase"])
    path = one_value_model.save(tmp_path / "m")
    csv_path = tmp_path / "short.csv"
    csv_path.write_text("month,p\n" + "".join(f"{m},{v}\n" for m, v in zip(MONTHS[:20], AIRLINE[:20])))
    args = ["forecast", "evaluate", "--model", str(path), "--csv", str(csv_path), "--holdout", "4", "--season", "24",
            "--baselines", "snaive"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "warning: MASE is undefined:" in out.stderr and "give a --season below 16" in out.stderr
    assert "skill over seasonal naive (1 - MAE / its MAE)" in out.stdout
    obj = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    assert obj["rollout"]["mase"] is None and obj["mase_undefined"] == 1 and obj["skill_on"] == "mae"

"""Backtests that refit (``Forecaster.backtest(..., refit=N)``, ``forecast backtest --refit N``): each forecast
comes from a fresh model trained on the values before its refit's origin, with intervals calibrated anew, and the
backtested model is left as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from seqtext import Forecaster
from seqtext.cli import cli
from seqtext.errors import ConfigError, DataError, SeqtextWarning
from seqtext.series.refit import _before, refit_points

from conftest import assert_clean_failure, close

TINY = dict(window=12, horizon=1, hidden=8, epochs=2, batch_size=16, device="cpu", seed=0, calibrate=12)


def seasonal(n: int = 120, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.3 * t + 20 * np.sin(2 * np.pi * t / 12) + 2 * rng.normal(size=n)


def write_series(path, values) -> str:
    path.write_text("month,y\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{v:.4f}\n"
                                          for i, v in enumerate(values)), encoding="utf-8")
    return str(path)


def test_refits_are_at_the_first_origin_and_every_n_after_it():
    assert refit_points([60, 64, 68, 72, 76], 1) == [60, 64, 68, 72, 76]
    assert refit_points([60, 64, 68, 72, 76], 2) == [60, 68, 76]
    assert refit_points([70, 60, 60, 65, 70], 2) == [60, 70]  # the origins of several series, counted once


def test_each_forecast_comes_from_a_model_fitted_on_the_values_before_its_refit():
    values = seasonal()
    model = Forecaster(**TINY).fit(values[:80])
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    result = model.backtest(values, start=80, steps=6, stride=5, refit=2, levels=[80])
    origins = [r["origin"] for r in result["results"]]
    assert origins == [80, 85, 90, 95, 100, 105, 110] and result["refits"] == 4
    for point, origin in ((80, 80), (80, 85), (90, 95), (110, 110)):
        alone = Forecaster(**TINY).fit(values[:point])
        row = result["results"][origins.index(origin)]
        expected = alone.predict(6, history=values[:origin], levels=[80])
        close(row["forecast"], expected["forecast"])
        close(row["intervals"]["80"]["lower"], expected["lower_80"])
    assert all(torch.equal(before[k], v) for k, v in model.net.state_dict().items())  # left as it was
    assert set(result["intervals"]["80"]) >= {"coverage", "width", "winkler", "msis"}
    unrefitted = model.backtest(values, start=80, steps=6, stride=5)
    assert "refits" not in unrefitted and unrefitted["mae"] != result["mae"]


def test_a_refit_never_reads_the_values_from_its_origin_on_in_any_series():
    def table(after: float) -> dict:
        rows = {"id": [], "month": [], "value": []}
        for key, n, level in (("A", 72, 10.0), ("B", 84, 1000.0)):
            y = seasonal(n, seed=len(key) + n) * level / 100
            y[60 + 6:] *= after  # every value past the first origin's forecast
            rows["id"] += [key] * n
            rows["month"] += [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]
            rows["value"] += y.tolist()
        return rows

    settings = dict(TINY, id="id", date="month", target="value", scaler="mean")
    model = Forecaster(**settings).fit(table(1.0))
    same = [model.backtest(table(after), start=60, steps=6, stride=100, refit=1) for after in (1.0, 5.0)]
    assert [r["id"] for r in same[0]["results"]] == ["A", "B"] and same[0]["refits"] == 1
    for mine, theirs in zip(same[0]["results"], same[1]["results"]):
        assert mine["forecast"] == theirs["forecast"]
    whole = Forecaster(**settings).fit(table(5.0))  # the same model fitted on every value does read them
    assert whole.backtest(table(5.0), start=60, steps=6, stride=100)["results"][0]["forecast"] != \
        same[1]["results"][0]["forecast"]


def test_covariates_calendar_and_intervals_refit_too():
    i = np.arange(90)
    table = {"month": [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in i],
             "sales": (60 + 12 * np.sin(i / 3) + 0.4 * i).tolist(), "price": np.cos(i / 4).tolist()}
    model = Forecaster(**dict(TINY, horizon=3, cell="lstm", features=["price"], target="sales", date="month",
                              calendar=True)).fit(table)
    result = model.backtest(table, start=66, steps=3, stride=4, refit=3, levels=[80, 95])
    assert result["origins"] == 6 and result["refits"] == 2
    for row in result["results"]:
        for level in ("80", "95"):
            lower, upper = row["intervals"][level]["lower"], row["intervals"][level]["upper"]
            assert all(lo <= f <= up for lo, f, up in zip(lower, row["forecast"], upper))


def test_a_refit_too_early_to_train_or_calibrate_names_its_origin():
    values = seasonal()
    model = Forecaster(**TINY).fit(values[:80])
    with pytest.raises(DataError, match=r"cannot refit on the 20 values before origin 20 \(calibrate 12 leaves 8 values to fit the "
                       r"calibration model on, fewer than window \+ horizon = 13\); choose a later start\."):
        model.backtest(values, start=20, steps=3, stride=30, refit=1, levels=[80])
    with pytest.raises(ConfigError, match="refit must be a whole number of at least 0, got -1"):
        model.backtest(values, start=80, steps=3, refit=-1)


def test_cli_refits_prints_how_often_and_refuses_bad_values(tmp_path):
    csv = write_series(tmp_path / "s.csv", seasonal())
    runner = CliRunner()
    trained = runner.invoke(cli, ["forecast", "train", "--csv", csv, "--target", "y", "--date", "month", "--window",
                                  "12", "--hidden", "8", "--epochs", "2", "--calibrate", "12", "--holdout", "40",
                                  "--out", str(tmp_path / "m"), "--quiet"])
    assert trained.exit_code == 0, trained.output
    args = ["forecast", "backtest", "--model", str(tmp_path / "m"), "--csv", csv, "--start", "80", "--steps", "6",
            "--stride", "4", "--levels", "80", "--baselines", "snaive"]
    text = runner.invoke(cli, [*args, "--refit", "3", "--quiet"])
    assert text.exit_code == 0, text.output
    assert "9 origins (from 2006-09 to 2009-05, every 4), 6 steps each; refitted 3 times" in text.output
    assert "(each refit's intervals calibrated anew on its last 12 values)" in text.output
    as_json = json.loads(runner.invoke(cli, [*args, "--refit", "3", "--quiet", "--json"]).stdout)
    assert as_json["refits"] == 3 and len(as_json["results"]) == 9
    plain = runner.invoke(cli, args)
    assert "nothing refitted" in plain.output and "refits" not in json.loads(
        runner.invoke(cli, [*args, "--json"]).stdout)
    assert_clean_failure(runner.invoke(cli, [*args, "--refit", "-1"]), "--refit", code=2)
    out = tmp_path / "report.csv"
    early = runner.invoke(cli, [*args[:6], "--start", "20", "--steps", "3", "--refit", "1", "--levels", "80",
                                "--out", str(out), "--quiet"])
    assert_clean_failure(early, "cannot refit on the 20 values before origin 20 (calibrate 12 leaves 8 values",
                         "choose a later --start.")
    assert not out.exists()


def months(n: int, year: int = 2000) -> list:
    return [f"{year + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def dated_panel(spec, shocked, shock: float) -> dict:
    """{id, month, y}: a seasonal series per (id, length, first year) of ``spec``, its values where
    ``shocked(id, dates)`` multiplied by ``shock``."""
    rows: dict = {"id": [], "month": [], "y": []}
    for key, n, year in spec:
        y, dates = seasonal(n, seed=n), months(n, year)
        y[shocked(key, dates)] *= shock
        rows["id"] += [key] * n
        rows["month"] += dates
        rows["y"] += y.tolist()
    return rows


def test_many_series_are_cut_by_date_so_no_refit_reads_another_series_later_values():
    def table(shock: float) -> dict:  # both end 2009-12; S starts five years later
        return dated_panel((("L", 120, 2000), ("S", 60, 2005)), lambda key, dates: np.array(dates) >= "2008-01",
                           shock)

    model = Forecaster(**dict(TINY, id="id", date="month", target="y", calibrate=0)).fit(table(1.0))
    runs = [model.backtest(table(shock), start=40, steps=6, stride=100, refit=1) for shock in (1.0, 3.0)]
    assert [(r["id"], r["date"]) for r in runs[0]["results"]] == [("L", "2003-05"), ("S", "2008-05")]
    assert runs[0]["refits"] == 2  # one per origin date, not per row position (both origins are row 40)
    assert runs[0]["results"][0]["forecast"] == runs[1]["results"][0]["forecast"]  # L's, from 2003-05
    with pytest.warns(SeqtextWarning, match="left out of training: S"):  # S is too short before 2006-01
        aligned = model.backtest(table(1.0), start=36, steps=6, stride=12, refit=1)  # L's rows 36, 48, ...; S's too
    assert aligned["refits"] == len({r["date"] for r in aligned["results"]}) < aligned["origins"]


def test_values_fill_made_up_from_after_an_origin_are_never_read():
    def table(later: float) -> dict:
        values = seasonal(90)
        values[78] = values[79] = np.nan  # the two values before origin 80 are missing
        values[80] = later
        return {"month": months(90), "y": values.tolist()}

    model = Forecaster(**dict(TINY, target="y", date="month", fill=True)).fit(table(150.0))
    with pytest.warns(SeqtextWarning, match=r"at 1 of the 3 origins a value just before \(the target's or a "
                                            r"past-only covariate's\) was made up by fill"):
        runs = [model.backtest(table(later), start=75, steps=3, stride=5, refit=1) for later in (150.0, 500.0)]
    assert [r["origin"] for r in runs[0]["results"]] == [75, 85]  # 80 left out: its history ends in made-up values
    assert runs[0]["results"][1]["forecast"] != runs[1]["results"][1]["forecast"]  # 85 reads row 80, as it may
    assert runs[0]["refits"] == 2
    with pytest.raises(DataError, match="every origin follows a value made up by fill from the values after it"):
        model.backtest(table(150.0), start=80, steps=3, stride=100)  # refitting or not
    gap = model.read_series(table(150.0), allow_future=False)[0][1]
    assert _before(gap, 80).n == 78 and _before(gap, 85).n == 85 and _before(gap, 500).n == 90


def test_intervals_are_asked_of_the_model_first_and_calibrated_only_when_asked():
    values = seasonal()
    uncalibrated = Forecaster(**dict(TINY, calibrate=0)).fit(values[:80])
    with pytest.raises(DataError, match="this model has no calibrated intervals"):
        uncalibrated.backtest(values, start=80, steps=3, refit=1, levels=[80])
    model = Forecaster(**TINY).fit(values[:80])  # 20 values train a model, but leave 8 to calibrate on: no copy
    assert model.backtest(values, start=20, steps=3, stride=30, refit=1)["refits"] == 4


def test_a_series_a_refit_did_not_train_on_is_scaled_on_its_values_before_the_origin():
    def table(shock: float) -> dict:  # S's only origin, row 24, is 2009-01
        return dated_panel((("L", 140, 2000), ("S", 50, 2007)),
                           lambda key, dates: (key == "S") & (np.arange(len(dates)) >= 24), shock)

    model = Forecaster(**dict(TINY, id="id", date="month", target="y", calibrate=0)).fit(table(1.0))
    runs = [model.backtest(table(shock), start=24, steps=6, stride=100, refit=2) for shock in (1.0, 100.0)]
    # refits at 2002-01 and 2010-05: S's origin 2009-01 comes from the first, which S had not begun by
    assert runs[0]["refits"] == 2 and [(r["id"], r["date"]) for r in runs[0]["results"]] == [
        ("L", "2002-01"), ("L", "2010-05"), ("S", "2009-01")]
    assert runs[0]["results"][2]["forecast"] == runs[1]["results"][2]["forecast"]


def test_a_past_only_covariate_fill_made_up_from_after_an_origin_is_never_read():
    def table(later: float) -> dict:
        values = seasonal(90)
        x = np.cos(np.arange(90) / 3)
        x[79], x[80] = np.nan, later  # the covariate is missing just before origin 80
        return {"month": months(90), "y": values.tolist(), "x": x.tolist()}

    model = Forecaster(**dict(TINY, target="y", date="month", past_features=["x"], fill=True)).fit(table(1.0))
    with pytest.warns(SeqtextWarning, match="at 1 of the 3 origins a value just before"):
        runs = [model.backtest(table(later), start=75, steps=1, stride=5, refit=1) for later in (1.0, 1000.0)]
    assert [r["origin"] for r in runs[0]["results"]] == [75, 85] and runs[0]["refits"] == 2
    gap = model.read_series(table(1.0), allow_future=False)[0][1]
    assert gap.made_up(79) and not gap.made_up(78) and _before(gap, 80).n == 79


def test_a_sliding_window_refit_trains_on_the_last_values_before_its_origin(tmp_path):
    values = seasonal()
    model = Forecaster(**TINY).fit(values[:80])
    result = model.backtest(values, start=80, steps=6, stride=5, refit=2, levels=[80], train_length=40)
    assert result["refits"] == 4 and result["train_length"] == 40
    origins = [r["origin"] for r in result["results"]]
    for point, origin in ((80, 85), (90, 95)):  # the same forecast as a model fitted on those 40 values
        alone = Forecaster(**TINY).fit(values[point - 40:point])
        expected = alone.predict(6, history=values[:origin], levels=[80])
        row = result["results"][origins.index(origin)]
        close(row["forecast"], expected["forecast"])
        close(row["intervals"]["80"]["upper"], expected["upper_80"])
    expanding = model.backtest(values, start=80, steps=6, stride=5, refit=2)
    assert expanding["train_length"] is None and expanding["mae"] != result["mae"]


def test_a_sliding_window_keeps_each_rows_date_and_line(tmp_path):
    csv = write_series(tmp_path / "s.csv", seasonal(30))
    table = Forecaster(**{**TINY, "calibrate": 0}).fit(csv, target="y", date="month").read_series(csv)[0][1]
    window = table.since(table.n - 10)
    assert window.n == 10 and list(window.target) == list(table.target[-10:])
    assert window.dates == table.dates[-10:] and window.line(0) == table.line(20) == 22
    assert window.features.shape[0] == 10


def test_train_length_is_refused_without_refit_below_a_window_and_on_an_export(tmp_path):
    values = seasonal()
    model = Forecaster(**TINY).fit(values[:80])
    with pytest.raises(ConfigError, match=r"^train_length sets what each refit trains on, and nothing is refitted; "
                                          "give refit N too, or leave train_length out"):
        model.backtest(values, start=80, train_length=40)
    with pytest.raises(DataError) as info:
        model.backtest(values, start=80, refit=1, levels=[80], train_length=20)
    assert str(info.value) == ("train_length 20 is too short for a refit of this model (a series needs window + "
                               "horizon values to train on, calibrate more for the intervals' calibration copy); give "
                               "train_length 25 or more.")
    for options, least in ((dict(valid_fraction=0.2), 26), (dict(deseasonalize=12, calibrate=0), 24),
                           (dict(deseasonalize=12, calibrate=0, valid_fraction=0.1), 37),  # 24 in the training part
                           (dict(window=6, horizon=1, valid_fraction=0.95, calibrate=0), 140)):  # 7 of 140 to train
        longer = seasonal(300)
        other = Forecaster(**{**TINY, **options}).fit(longer)
        with pytest.raises(DataError, match=f"^train_length {least - 1} is too short .*; give train_length {least} "):
            other.backtest(longer, start=160, refit=1, train_length=least - 1)
        assert other.backtest(longer, start=160, steps=1, stride=100, refit=1, train_length=least)["refits"] == 2
    # a refit too early for the values it has (fewer than the window's length): a later start, not a longer window
    with pytest.raises(DataError, match=r"cannot refit on the 20 values before origin 20 .*; choose a later start"):
        model.backtest(values, start=20, steps=3, stride=30, refit=1, levels=[80], train_length=40)
    trained = write_series(tmp_path / "t.csv", values[:80])
    Forecaster(**TINY).fit(trained, target="y", date="month").save(tmp_path / "m")
    csv = write_series(tmp_path / "s.csv", values)
    result = CliRunner().invoke(cli, ["forecast", "backtest", "--model", str(tmp_path / "m"), "--csv", csv,
                                      "--start", "80", "--refit", "2", "--train-length", "12", "--quiet"])
    assert_clean_failure(result, "--train-length 12 is too short for a refit of this model (a series needs "
                                 "forecast train --window + forecast train --horizon values to train on); give "
                                 "--train-length 13 or more.")
    result = CliRunner().invoke(cli, ["forecast", "backtest", "--model", str(tmp_path / "m"), "--csv", csv,
                                      "--start", "100", "--refit", "2", "--train-length", "40", "--quiet",
                                      "--baselines", "naive"])
    assert result.exit_code == 0, result.output
    assert "20 origins (from 2008-05 to 2009-12, every 1), 1 step each; refitted 10 times on the last 40 values of "\
           "each series; means over the origins" in result.stdout


def test_an_exported_model_refuses_train_length_as_it_refuses_refit(tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    values = seasonal()
    Forecaster(**{**TINY, "calibrate": 0}).fit(values[:80]).save(tmp_path / "m")
    export(tmp_path / "m", tmp_path / "e")
    for options in (dict(train_length=40), dict(refit=1, train_length=40), dict(refit=1)):
        with pytest.raises(ConfigError, match="^an exported model cannot be trained again, so it cannot refit"):
            load(tmp_path / "e").backtest(values, start=80, **options)

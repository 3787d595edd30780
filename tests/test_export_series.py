"""Exported forecasters: the torch-free runtime scales, windows, rolls out, un-scales and draws intervals as the
torch Forecaster does (covariates, calendar inputs, many series with an id embedding), and the CLI uses it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import assert_clean_failure, close, run_without_torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seqtext import Forecaster  # noqa: E402
from seqtext.cli import cli  # noqa: E402
from seqtext.errors import ConfigError  # noqa: E402
from seqtext.export.onnx import export  # noqa: E402
from seqtext.export.runtime import load  # noqa: E402

N = 84
WINDOW, HORIZON = 8, 3


def month(i: int) -> str:
    return f"{2000 + i // 12}-{i % 12 + 1:02d}"


def sales_table(n: int = N) -> dict:
    """Monthly sales with a price covariate: a dict of columns."""
    i = np.arange(n)
    return {"month": [month(k) for k in range(n)],
            "sales": (60 + 12 * np.sin(i / 3) + 0.4 * i).round(3).tolist(),
            "price": np.cos(i / 4).round(4).tolist()}


def rows_of(table: dict, n: int, future: int = 0) -> dict:
    """The first ``n`` rows of a table, then ``future`` rows of covariates whose target is not known yet."""
    out = {k: list(v[: n + future]) for k, v in table.items()}
    out["sales"][n:] = [None] * future
    return out


@pytest.fixture(scope="module")
def covariates(tmp_path_factory):
    """A bidirectional LSTM with a covariate, calendar inputs and calibrated intervals, and its export."""
    root = tmp_path_factory.mktemp("series-export")
    f = Forecaster(window=WINDOW, horizon=HORIZON, hidden=8, epochs=2, seed=0, device="cpu", cell="lstm",
                   bidirectional=True, calibrate=12, calendar=True, features=["price"], target="sales",
                   date="month").fit(sales_table())
    model_dir = f.save(root / "model")
    return f, model_dir, export(model_dir, root / "onnx")


def test_windows_and_roll_out_with_covariates_and_intervals_equal_torchs(covariates):
    f, _, out = covariates
    runtime = load(out)
    assert type(runtime).__name__ == "OnnxForecaster" and runtime.task.intervals is not None
    assert runtime.manifest["ahead"] == f.task.ahead_columns == [1, 2, 3, 4, 5, 6, 7]  # price, then the calendar
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, WINDOW, runtime.inputs)).astype(np.float32)
    ahead = rng.normal(size=(200, HORIZON, 7)).astype(np.float32)
    close(runtime.forecast_windows(x, None, ahead), f.forecast_windows(x, None, ahead))  # 200 windows
    table = sales_table()
    for n in range(40, 76, 5):  # 7 steps: two roll-outs beyond the horizon, future covariates given
        history = rows_of(table, n, future=7)
        mine = runtime.forecast(7, history=history, levels=[80, 95])
        theirs = f.forecast(7, history=history, levels=[80, 95])
        assert [r["date"] for r in mine] == [r["date"] for r in theirs] == [month(n + k) for k in range(7)]
        for name in ("forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
            close([r[name] for r in mine], [r[name] for r in theirs])
    future = {"price": [0.5, 0.6, 0.7]}  # from the end of the training series, kept in the export
    close(runtime.predict(future=future), f.predict(future=future))


def test_evaluate_and_backtest_run_on_the_export_too(covariates):
    f, _, out = covariates
    runtime = load(out)
    mine, theirs = runtime.evaluate(sales_table(), 3), f.evaluate(sales_table(), 3)
    for metric in ("mae", "rmse", "mape"):
        close(mine[metric], theirs[metric])
    mine, theirs = runtime.backtest(sales_table(), steps=3, stride=10), f.backtest(sales_table(), steps=3, stride=10)
    assert mine["origins"] == theirs["origins"] > 1
    close([o["mae"] for o in mine["results"]], [o["mae"] for o in theirs["results"]])


def test_an_export_cannot_refit_and_says_where_to(covariates, tmp_path):
    _, _, out = covariates
    with pytest.raises(ConfigError, match="an exported model cannot be trained again, so it cannot refit"):
        load(out).backtest(sales_table(), steps=3, stride=10, refit=1)
    csv = tmp_path / "sales.csv"
    table = sales_table()
    csv.write_text("month,sales,price\n" + "".join(f"{m},{s},{p}\n" for m, s, p in
                                                  zip(table["month"], table["sales"], table["price"])))
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(cli, ["forecast", "backtest", "--model", str(out), "--csv", str(csv), "--refit", "1",
                                      "--baselines", "naive", "--out", str(report)])
    assert_clean_failure(result, "an exported model cannot be trained again, so it cannot refit; backtest with "
                                 "--refit on the model directory it was exported from.")
    assert not report.exists()


def test_many_series_with_an_id_embedding_export_with_their_ids(tmp_path):
    rng = np.random.default_rng(1)
    ids, values = [], []
    for k, level in enumerate((10.0, 50.0, 200.0)):
        ids += [f"S{k}"] * 40
        values += (level + level * 0.1 * np.sin(np.arange(40) / 2 + k) + rng.normal(size=40)).tolist()
    data = {"id": ids, "value": values}
    f = Forecaster(window=6, horizon=2, hidden=8, epochs=2, seed=0, device="cpu", id="id", id_embed=3,
                   target="value").fit(data)
    runtime = load(export(f.save(tmp_path / "model"), tmp_path / "onnx"))
    assert runtime.manifest["ids"] is True
    unseen = {"id": ids[:40] + ["NEW"] * 20, "value": values[:40] + values[40:60]}  # -1: the mean vector
    mine, theirs = runtime.predict(5, history=unseen), f.predict(5, history=unseen)
    assert set(mine) == set(theirs) == {"S0", "NEW"}
    for key in mine:
        close(mine[key], theirs[key])
    mine, theirs = runtime.predict(3), f.predict(3)  # from the end of each training series, kept in the export
    assert set(mine) == set(theirs) == {"S0", "S1", "S2"}
    for key in mine:
        close(mine[key], theirs[key])


def test_forecast_predict_on_an_export_never_imports_torch(covariates, tmp_path):
    f, model_dir, out = covariates
    csv = tmp_path / "history.csv"
    table = rows_of(sales_table(), 70, future=5)
    lines = ["month,sales,price"] + [f"{m},{'' if s is None else s},{p}" for m, s, p in
                                     zip(table["month"], table["sales"], table["price"])]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["forecast", "predict", "--csv", csv, "--steps", 5, "--levels", "80,95", "--json"]
    done = run_without_torch(*args[:2], "--model", out, *args[2:])
    assert done.returncode == 0, done.stderr
    mine = json.loads(done.stdout)
    theirs = json.loads(CliRunner().invoke(cli, [*map(str, args[:2]), "--model", str(model_dir),
                                                 *map(str, args[2:])]).stdout)
    assert [r["date"] for r in mine["forecast"]] == [r["date"] for r in theirs["forecast"]]
    for name in ("forecast", "lower_95", "upper_95"):
        close([r[name] for r in mine["forecast"]], [r[name] for r in theirs["forecast"]])
    default = run_without_torch("forecast", "predict", "--model", out)  # the end of the training series: no prices
    assert default.returncode != 0 and not default.stdout and "Traceback" not in default.stderr
    assert "the covariates price are known ahead, so forecasting 3 steps needs them for the next 3 steps but 0 " \
           "were given" in default.stderr
    full = tmp_path / "full.csv"
    table = sales_table(76)
    full.write_text("month,sales,price\n" + "".join(f"{m},{s},{p}\n" for m, s, p in
                                                   zip(table["month"], table["sales"], table["price"])))
    scored = run_without_torch("forecast", "evaluate", "--model", out, "--csv", full, "--holdout", 3,
                               "--baselines", "naive", "--json")
    assert scored.returncode == 0, scored.stderr
    close(json.loads(scored.stdout)["rollout"]["mae"], f.evaluate(str(full), 3)["mae"])


def test_bad_input_on_an_export_is_one_sentence(covariates, tmp_path, tiny_model_dir):
    _, _, out = covariates
    short = tmp_path / "short.csv"
    short.write_text("month,sales,price\n" + "".join(f"{month(i)},{60 + i},0.5\n" for i in range(5)))
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(out), "--csv", str(short)])
    assert_clean_failure(result, "has 5 values but the model reads windows of 8", "give at least 8 values")
    text = export(tiny_model_dir, tmp_path / "text-onnx")
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(text)])
    assert_clean_failure(result, "holds a text model, not a series model")
    (out.parent / "broken").mkdir()
    for name in ("export.json", "forecast.onnx", "scaler.json"):
        (out.parent / "broken" / name).write_bytes((out / name).read_bytes())
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(out.parent / "broken")])
    assert_clean_failure(result, "broken/model_config.json is missing or damaged; export the model again.")
    (out.parent / "unscaled").mkdir()  # the scaler missing: named as a file the export lacks, not as corrupted
    for name in ("export.json", "forecast.onnx", "model_config.json"):
        (out.parent / "unscaled" / name).write_bytes((out / name).read_bytes())
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(out.parent / "unscaled")])
    assert_clean_failure(result, "unscaled is missing scaler.json; export the model again.")


def test_an_empty_path_to_export_is_a_usage_error_naming_it(covariates, tmp_path, monkeypatch):
    """An empty --out (or MODEL_DIR) is not the current directory: a usage error naming it, nothing written."""
    _, model_dir, _ = covariates
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["export", str(model_dir), "--out", ""])
    assert_clean_failure(result, "Error: --out is empty; give the directory to write the export to.", code=2)
    result = CliRunner().invoke(cli, ["export", "", "--out", "somewhere"])
    assert_clean_failure(result, "Error: MODEL_DIR is empty; give the model directory to export.", code=2)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="^out is empty; give the directory to write the export to.$"):
        export(model_dir, "")


def test_a_torch_forecaster_is_unchanged_by_the_shared_roll_out(covariates):
    """The torch path now rolls out through the same numpy function: the forecasts still equal the network's
    own output for the first horizon."""
    f, _, _ = covariates
    history = rows_of(sales_table(), 60, future=HORIZON)
    table = f.read(history)
    scaled = torch.as_tensor(f.task.scale(table, 60 + HORIZON), dtype=torch.float32)  # (63, C)
    with torch.no_grad():
        direct = f.net(scaled[None, 60 - WINDOW : 60], ahead=scaled[None, 60:, f.task.ahead_columns])[0]
    close(f.predict(HORIZON, history=history), f.scaler.inverse_target(direct.double().numpy()[0]))


@pytest.mark.parametrize("options", [dict(scaler="mean"), dict(scaler="none", log1p=True),
                                     dict(scaler="mean", log1p_troughs=0.75), dict(scaler="mean", deseasonalize=7)])
def test_a_panel_keeps_its_scaling_and_interval_units_in_the_export(tmp_path, options):
    """Mean scaling stores each series' standard deviation (the intervals' unit) beside its scale, log1p its
    transform, log1p_troughs the transform of each series it chose, deseasonalize enough of each series' end to
    estimate its seasonal ratios on; the export reads them back, so its forecasts and intervals are the torch
    model's, from the stored ends and from a history given."""
    i = np.arange(60)
    table = {"id": [], "y": []}
    for k, (level, swing) in enumerate([(50, 5), (400, 120), (9, 0.5)]):
        table["id"] += [f"s{k}"] * len(i)
        table["y"] += (level + swing * np.sin(i / 2) + 0.1 * level * np.cos(i * 1.7)).round(3).tolist()
    f = Forecaster(window=WINDOW, horizon=HORIZON, hidden=8, epochs=2, seed=0, device="cpu", calibrate=12,
                   target="y", id="id", **options).fit(table)
    stored = json.loads((f.save(tmp_path / "model") / "scaler.json").read_text())
    if "log1p_troughs" in options:  # s1 alone dips below 0.75 of its mean: read as log(1 + y), unscaled
        assert [s.get("transform") for s in stored["series"]] == [None, "log1p", None]
        assert stored["transform"] == "none" and stored["series"][1]["kind"] == "none"
    elif options["scaler"] == "mean":
        assert all(s["spread"] > 0 and s["center"][0] == 0 for s in stored["series"])
    else:
        assert stored["transform"] == "log1p"
    runtime = load(export(tmp_path / "model", tmp_path / "onnx"))
    for key, scaler in f.task.scalers.items():
        assert runtime.task.scalers[key].interval_unit == pytest.approx(scaler.interval_unit)
        assert runtime.task.scalers[key].target_transform == scaler.target_transform
    mine, theirs = runtime.predict(levels=[80, 95]), f.predict(levels=[80, 95])
    for key in theirs:
        for name in ("forecast", "lower_80", "upper_95"):
            close(mine[key][name], theirs[key][name])
    if "deseasonalize" in options:  # four periods of 7 kept, more than the window
        assert [len(t["target"]) for t in json.loads((tmp_path / "model" / "config.json").read_text())["tail"]
                ["series"]] == [28] * 3
        mine, theirs = runtime.predict(history=table, levels=[80]), f.predict(history=table, levels=[80])
        for key in theirs:
            close(mine[key]["upper_80"], theirs[key]["upper_80"])


def test_nonnegative_floors_forecasts_and_bounds_at_zero_in_torch_and_the_export(tmp_path):
    """A series falling to zero: a trend-following model forecasts below it; ``nonnegative`` floors the point
    forecasts (before a roll-out feeds them back) and the interval bounds at 0, the same on the export."""
    falling = (60.0 - np.arange(60) + 0.3 * np.sin(np.arange(60))).round(3)  # 60 ... about 1
    options = dict(window=WINDOW, horizon=HORIZON, level="last", hidden=8, epochs=30, seed=0, device="cpu",
                   calibrate=12)
    plain = Forecaster(**options).fit(falling)
    floored = Forecaster(nonnegative=True, **options).fit(falling)
    free = plain.predict(HORIZON)
    assert free.min() < 0  # the trend carried on below zero
    close(floored.predict(HORIZON), np.maximum(free, 0.0))  # the same weights: the floor alone differs
    out = floored.predict(3 * HORIZON, levels=[80, 95])
    for name in ("forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
        assert np.all(out[name] >= 0), name
    assert np.any(out["forecast"] == 0) and np.any(out["lower_95"] == 0)
    runtime = load(export(floored.save(tmp_path / "model"), tmp_path / "onnx"))
    theirs = runtime.predict(3 * HORIZON, levels=[80, 95])
    for name in out:
        close(theirs[name], out[name])
    assert json.loads((tmp_path / "model" / "config.json").read_text())["series"]["nonnegative"] is True



def test_named_calendar_parts_export_and_forecast_alike(tmp_path):
    """A daily series reading day of week and day of year: the runtime computes the same calendar columns for the
    days ahead (a roll-out past the horizon included)."""
    from datetime import date, timedelta

    days = [(date(2021, 1, 1) + timedelta(days=k)).isoformat() for k in range(120)]
    values = (50 + 8 * np.sin(2 * np.pi * np.arange(120) / 7)).round(3).tolist()
    f = Forecaster(window=WINDOW, horizon=HORIZON, hidden=8, epochs=3, seed=0, device="cpu", calibrate=0,
                   calendar=["dayofyear", "dayofweek"]).fit({"day": days, "v": values}, target="v", date="day")
    assert f.settings.series.calendar == ["dayofweek", "dayofyear"] and f.task.inputs == 5
    runtime = load(export(f.save(tmp_path / "model"), tmp_path / "onnx"))
    assert runtime.settings.series.calendar == ["dayofweek", "dayofyear"]
    history = {"day": days[:100], "v": values[:100]}
    mine, theirs = runtime.forecast(7, history=history), f.forecast(7, history=history)
    assert [r["date"] for r in mine] == [r["date"] for r in theirs] == days[100:107]
    close([r["forecast"] for r in mine], [r["forecast"] for r in theirs])


def test_an_export_of_a_model_whose_calibration_was_interrupted_says_to_resume_its_directory(tmp_path):
    from seqtext.errors import DataError, SeqtextWarning

    model = Forecaster(window=WINDOW, horizon=HORIZON, hidden=8, epochs=2, calibrate=12, device="cpu", seed=0)
    model.fit(sales_table(), target="sales", date="month")
    model.task.intervals = None  # as a Ctrl-C during the calibration leaves it (calibrate 12 kept)
    model.save(tmp_path / "m")
    with pytest.warns(SeqtextWarning, match=r"^the model's intervals are not calibrated yet \(its training, or their "
                                            r"calibration, was interrupted\), so its export forecasts without them; "
                                            r"resume the model directory with seqtext.Forecaster.resume and export it "
                                            r"again"):
        export(tmp_path / "m", tmp_path / "e")
    exported = load(tmp_path / "e")
    assert exported.predict(HORIZON).shape == (HORIZON,)
    with pytest.raises(DataError) as info:
        exported.predict(HORIZON, levels=[80])
    assert str(info.value) == (f"this export has no calibrated intervals (the training of {tmp_path / 'm'}, or their "
                               "calibration, was interrupted before it was exported); resume that directory with "
                               "seqtext.Forecaster.resume and export it again to forecast with levels.")
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(tmp_path / "e"), "--levels", "80"])
    assert_clean_failure(result, "resume that directory with seqtext forecast train --resume and export it again to "
                                 "forecast with --levels.")

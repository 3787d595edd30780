"""Many series in one long table (--id): reading, per-series scaling, windows within a series, the id embedding,
new ids at predict time, evaluate --actuals, storage, calendar inputs and past covariates."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import seqtext
from seqtext.cli import cli
from seqtext.config import SeriesConfig
from seqtext.errors import ConfigError, DataError
from seqtext.series import Forecaster
from seqtext.series.calendar import calendar_columns
from seqtext.series.panel import read_series

from conftest import assert_clean_failure, panel_train_args

TINY = dict(hidden=8, epochs=4, patience=4, batch_size=32, device="cpu", seed=0)


def long_table(sizes=(40, 50, 60), seed=0, start=2000):
    """{id, month, value}: series of different lengths and very different levels, rows grouped by id."""
    rng = np.random.default_rng(seed)
    table = {"id": [], "month": [], "value": []}
    for i, n in enumerate(sizes):
        level = 10 ** (i + 1)
        t = np.arange(n)
        y = level * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + level * 0.02 * rng.normal(size=n)
        table["id"] += [f"S{i}"] * n
        table["month"] += [f"{start + k // 12}-{k % 12 + 1:02d}" for k in range(n)]
        table["value"] += y.tolist()
    return table


def write(path, table):
    cols = list(table)
    rows = zip(*(table[c] for c in cols))
    path.write_text(",".join(cols) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(window=12, horizon=3, id_embed=4, **TINY).fit(long_table(), date="month", id="id")


def test_reading_groups_rows_by_id_in_order_of_first_row():
    table = long_table()
    items = read_series(table, SeriesConfig(target="value", date="month", id="id"))
    assert [k for k, _ in items] == ["S0", "S1", "S2"] and [t.n for _, t in items] == [40, 50, 60]
    assert items[1][1].dates[0] == "2000-01"


def test_a_bad_cell_names_the_series_and_its_line(tmp_path):
    table = long_table()
    table["value"][45] = "x"  # the 6th row of S1, line 47 of the file
    with pytest.raises(DataError, match=r"'x' at line 47 of .*\(series S1\)"):
        Forecaster(window=12, **TINY).fit(write(tmp_path / "p.csv", table), date="month", id="id")
    table = long_table()
    table["id"][3] = ""
    with pytest.raises(DataError, match="blank at line 5"):
        Forecaster(window=12, **TINY).fit(write(tmp_path / "q.csv", table), date="month", id="id")


def test_each_series_has_its_own_scaler_fitted_on_its_training_part(fitted):
    table = long_table()
    assert list(fitted.scalers) == ["S0", "S1", "S2"] and fitted.scaler is None
    for i, key in enumerate(["S0", "S1", "S2"]):
        values = np.array([v for k, v in zip(table["id"], table["value"]) if k == key])
        assert fitted.scalers[key].center[0] == pytest.approx(values.mean())
        assert fitted.scalers[key].scale[0] == pytest.approx(values.std())


def test_no_window_crosses_from_one_series_into_another():
    # each series counts up from its own base; a window crossing a boundary would jump by 1000
    table = {"id": ["A"] * 30 + ["B"] * 30, "v": list(range(1000, 1030)) + list(range(5000, 5030))}
    model = Forecaster(window=5, horizon=2, scaler="none", level="none", **TINY)
    model.fit(table, target="v", id="id")
    x = model.task.x_train[:, :, 0].numpy()  # (N, 5)
    y = model.task.y_train.numpy()  # (N, 2)
    assert len(x) == 2 * (30 - 5 - 2 + 1)
    steps = np.diff(np.concatenate([x, y], axis=1), axis=1)
    assert np.all(steps == 1)  # every window and its targets lie within one series
    assert model.task.ids_train.unique().tolist() == [0, 1]


def test_forecasts_of_every_series_and_an_unseen_id(fitted):
    out = fitted.predict(3)
    assert list(out) == ["S0", "S1", "S2"] and all(v.shape == (3,) for v in out.values())
    assert out["S0"].mean() < out["S1"].mean() < out["S2"].mean()  # each in its own units
    new = long_table(sizes=(30,), seed=7)
    new["id"] = ["NEW"] * 30
    fresh = fitted.predict(3, new)
    assert list(fresh) == ["NEW"] and 5 < fresh["NEW"].mean() < 20  # scaled on its own history
    assert fitted.task.index_of("NEW") == -1
    rows = fitted.forecast(2)
    assert [(r["id"], r["step"]) for r in rows[:3]] == [("S0", 1), ("S0", 2), ("S1", 1)]
    assert rows[0]["date"] == "2003-05"  # after S0's 40 months


def test_an_unseen_id_is_scaled_on_its_values_before_each_forecast_origin(fitted):
    def table(later: float) -> dict:
        new = long_table(sizes=(36,), seed=7)
        new["id"] = ["NEW"] * 36
        new["value"] = new["value"][:24] + [v * later for v in new["value"][24:]]  # the values from row 24 on
        return new

    runs = [fitted.backtest(table(later), start=24, steps=3, stride=100) for later in (1.0, 100.0)]
    assert runs[0]["results"][0]["forecast"] == runs[1]["results"][0]["forecast"]
    evaluated = [fitted.evaluate(table(later), 12, one_step=True) for later in (1.0, 100.0)]
    assert evaluated[0]["results"][0]["forecast"][0] == evaluated[1]["results"][0]["forecast"][0]
    assert fitted.predict(3, table(100.0))["NEW"].mean() > 100 * fitted.predict(3, table(1.0))["NEW"].mean() / 2


def test_unseen_ids_get_the_mean_embedding(fitted):
    net = fitted.net
    vectors = net.id_vectors(torch.tensor([0, -1]))
    torch.testing.assert_close(vectors[1], net.embed.weight.mean(0))
    torch.testing.assert_close(vectors[0], net.embed.weight[0])


def test_save_load_and_evaluate_with_actuals(fitted, tmp_path):
    path = fitted.save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    assert [s["id"] for s in config["tail"]["series"]] == ["S0", "S1", "S2"]
    again = seqtext.load(path)
    for key, values in fitted.predict(3).items():
        np.testing.assert_array_equal(values, again.predict(3)[key])
    full = long_table(sizes=(46, 56, 66))
    history, actual = {k: [] for k in full}, {k: [] for k in full}
    counts = {}
    for row in zip(*full.values()):
        counts[row[0]] = counts.get(row[0], 0) + 1
        target = history if counts[row[0]] <= {"S0": 40, "S1": 50, "S2": 60}[row[0]] else actual
        for k, v in zip(full, row):
            target[k].append(v)
    result = again.evaluate(history, actuals=actual, season=None, baselines="snaive")
    assert result["series"] == 3 and result["holdout"] == 6 and len(result["results"]) == 3
    assert [r["id"] for r in result["results"]] == ["S0", "S1", "S2"]
    assert result["mase"] == pytest.approx(np.mean([r["mase"] for r in result["results"]]))
    assert 0 <= result["beats_snaive"] <= 1
    same = again.evaluate(full, holdout=6)  # the same values, held out of the joined table
    assert same["mae"] == pytest.approx(result["mae"])
    with pytest.raises(ConfigError, match=r"actuals scores every value it holds; leave out holdout \(or actuals, "):
        again.evaluate(history, holdout=2, actuals=actual)  # the holdout used to be ignored without a word


def test_cli_many_series(tmp_path):
    data = write(tmp_path / "p.csv", long_table())
    runner = CliRunner()
    out = tmp_path / "m"
    result = runner.invoke(cli, ["forecast", "train", "--csv", str(data), "--id", "id", "--date", "month", "--window",
                                 "12", "--horizon", "3", "--calibrate", "6", "--hidden", "8", "--epochs", "3",
                                 "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "; 3 series" in result.output
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(out), "--levels", "80", "--json"])
    rows = json.loads(result.stdout)["forecast"]
    assert [r["id"] for r in rows] == ["S0"] * 3 + ["S1"] * 3 + ["S2"] * 3 and "upper_80" in rows[0]
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(out), "--csv", str(data), "--holdout", "6",
                                 "--baselines", "naive,snaive", "--plot", str(tmp_path / "e.png"), "--series", "S1"])
    assert result.exit_code == 0, result.output
    assert "in each of 3 series" in result.stdout and "of the series" in result.stdout
    for command in ("predict", "evaluate"):  # --series picks the series to plot: alone, it would do nothing
        result = runner.invoke(cli, ["forecast", command, "--model", str(out), "--csv", str(data), "--series", "S1"])
        assert_clean_failure(result, "--series picks the series to plot; give --plot FILE.png too", code=2)
    result = runner.invoke(cli, ["forecast", "backtest", "--model", str(out), "--csv", str(data), "--steps", "3",
                                 "--stride", "6", "--baselines", "snaive", "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.csv").read_text().splitlines()[0].startswith("id,origin,origin_date,step")
    plain = write(tmp_path / "plain.csv", {"month": long_table()["month"][:40], "value": long_table()["value"][:40]})
    assert_clean_failure(runner.invoke(cli, ["forecast", "predict", "--model", str(out), "--csv", str(plain)]),
                         "has no column 'id'")


def test_dates_within_an_id_that_repeat_or_go_back_and_short_series_are_named(tmp_path):
    runner = CliRunner()
    train = ["forecast", "train", "--id", "id", "--date", "month", "--window", "12", "--horizon", "3", "--epochs", "1",
             "--calibrate", "0", "--hidden", "8", "--out", str(tmp_path / "m")]
    for name, line in (("repeated", 47), ("unsorted", 48)):  # the 6th row of S1 is line 47 of the file
        table = long_table()
        if name == "repeated":
            table["month"][45] = table["month"][44]
        else:
            table["month"][45], table["month"][46] = table["month"][46], table["month"][45]
        result = runner.invoke(cli, [*train, "--csv", str(write(tmp_path / f"{name}.csv", table))])
        assert_clean_failure(result, f"the dates in column 'month' do not increase at line {line} of",
                             f"{name}.csv (series S1)", "sort the rows by date and remove duplicates")
        assert not (tmp_path / "m").exists()
    # a series shorter than window + horizon is left out of training with a warning naming it, and the default
    # calibration (its copy holds out 12 more values, all of S1's 10) goes on without it
    short = str(write(tmp_path / "short.csv", long_table(sizes=(40, 10, 60))))
    default = [a for a in train if a not in ("--calibrate", "0")]
    result = runner.invoke(cli, [*default, "--csv", short])
    assert result.exit_code == 0, result.output
    assert "warning: 1 of the 3 series is shorter than --window + --horizon = 15 values and is left out of " \
           "training: S1." in result.stderr
    assert "3 series (1 too short, left out); intervals calibrated" in result.stdout
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(tmp_path / "m"), "--csv", short, "--json"])
    assert result.exit_code == 0, result.output
    assert "1 of the 3 series has fewer values than the window of 12 and is not forecast: S1." in result.stderr
    assert {r["id"] for r in json.loads(result.stdout)["forecast"]} == {"S0", "S2"}
    result = runner.invoke(cli, ["forecast", "backtest", "--model", str(tmp_path / "m"), "--csv", short,
                                 "--baselines", "naive"])
    assert result.exit_code == 0, result.output
    assert "1 of the 3 series is too short to backtest (a window of 12 and 3 values after it) and is left out: " \
           "S1." in result.stderr


def test_id_embed_needs_an_id_column():
    with pytest.raises(ConfigError, match="id_embed needs a table of many series"):
        Forecaster(id_embed=4, **TINY).fit(np.arange(40.0))


# ------------------------------------------------------------------------- calendar and past covariates


def test_calendar_columns_are_points_on_circles():
    cols = calendar_columns(["2020-01", "2020-07", "2021-01-04", "2021-01-04 06:00"])
    assert cols.shape == (4, 6)
    assert cols[0, :2] == pytest.approx([0, 1]) and cols[1, :2] == pytest.approx([0, -1], abs=1e-12)
    assert cols[0, 2:].tolist() == [0, 0, 0, 0]  # a month has no weekday nor hour
    assert cols[2, 2:4] == pytest.approx([0, 1])  # a Monday
    assert cols[3, 4:6] == pytest.approx([1, 0], abs=1e-12)  # 06:00 is a quarter of the day


def test_named_calendar_parts_are_their_own_columns_in_a_fixed_order():
    cols = calendar_columns(["2021-01-01", "2021-01-16", "2021-07-02 18:00", "2020-12-31"],
                            ["hour", "dayofyear", "dayofmonth"])  # listed in any order, read month..hour
    assert cols.shape == (4, 6)
    assert cols[0].tolist() == pytest.approx([0, 1, 0, 1, 0, 0])  # 1 January: both days start their circles
    assert cols[1, :2] == pytest.approx([np.sin(2 * np.pi * 15 / 31), np.cos(2 * np.pi * 15 / 31)])  # day 16 of 31
    assert cols[2, 2:4] == pytest.approx([np.sin(2 * np.pi * 182 / 365), np.cos(2 * np.pi * 182 / 365)])
    assert cols[2, 4:6] == pytest.approx([-1, 0], abs=1e-12)  # 18:00: three quarters of the day
    assert cols[3, 2:4] == pytest.approx([np.sin(2 * np.pi * 365 / 366), np.cos(2 * np.pi * 365 / 366)])  # leap
    assert calendar_columns(["2021-01-04"], True).shape == (1, 6)  # older models' true: month, weekday, hour


@pytest.mark.parametrize("dates,setting,expected", [
    ("month", "auto", ["month"]),
    ("day", "auto", ["month", "dayofweek"]),
    ("hour", "auto", ["month", "dayofweek", "hour"]),
    ("day", ["dayofyear", "dayofweek"], ["dayofweek", "dayofyear"]),
    ("month", True, True),
])
def test_auto_calendar_takes_the_parts_the_dates_carry(dates, setting, expected):
    from datetime import datetime, timedelta

    start = datetime(2020, 1, 1)
    labels = {"month": [f"{2020 + k // 12}-{k % 12 + 1:02d}" for k in range(60)],
              "day": [(start + timedelta(days=k)).date().isoformat() for k in range(60)],
              "hour": [(start + timedelta(hours=k)).isoformat(sep=" ") for k in range(60)]}[dates]
    values = (10 + np.sin(np.arange(60) / 3)).round(4).tolist()
    model = Forecaster(window=8, horizon=2, calendar=setting, calibrate=0, **TINY).fit(
        {"t": labels, "v": values}, target="v", date="t")
    assert model.settings.series.calendar == expected
    width = 6 if expected is True else 2 * len(expected)
    assert model.task.inputs == 1 + width and model.predict(4).shape == (4,)


def test_a_calendar_part_the_dates_do_not_carry_is_refused(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("month,v\n" + "".join(f"{2000 + k // 12}-{k % 12 + 1:02d},{10 + k % 7}\n" for k in range(48)))
    with pytest.raises(DataError, match="the calendar part dayofweek needs daily or finer dates, but the dates are "
                                        "like '2000-01'; leave it out of calendar"):
        Forecaster(window=6, calendar=["month", "dayofweek"], **TINY).fit(str(csv), target="v", date="month")
    run = lambda *a: CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), "--target", "v",  # noqa: E731
                                              "--date", "month", "--window", "6", "--epochs", "1", "--quiet", *a])
    assert_clean_failure(run("--calendar", "month,hour", "--out", str(tmp_path / "a")), "part hour needs date-time",
                         "--calendar")
    assert_clean_failure(run("--calendar", "week", "--out", str(tmp_path / "b")), "'week' is not one of month,",
                         code=2)
    assert_clean_failure(run("--calendar", "month,month", "--out", str(tmp_path / "c")), "names a part twice",
                         code=2)
    assert not any((tmp_path / d).exists() for d in "abc")
    assert run("--calendar", "--out", str(tmp_path / "d")).exit_code == 0  # the flag alone: auto
    assert json.loads((tmp_path / "d" / "config.json").read_text())["series"]["calendar"] == ["month"]


def test_calendar_inputs_are_known_for_every_forecast_step():
    table = long_table(sizes=(72,))
    model = Forecaster(window=12, horizon=2, calendar=True, **TINY).fit(table, date="month", id="id")
    assert model.task.inputs == 1 + 6
    assert model.predict(5)["S0"].shape == (5,)  # rolled out: the calendar of the months ahead is computed
    with pytest.raises(DataError, match="no date column"):
        Forecaster(window=4, calendar=True, **TINY).fit(np.arange(40.0) + 1)


def test_past_covariates_are_read_in_the_window_only():
    rng = np.random.default_rng(0)
    n = 80
    signal = rng.normal(size=n)
    table = {"x": signal.tolist(), "y": (10 + np.r_[0, signal[:-1]] + 0.01 * rng.normal(size=n)).tolist()}
    model = Forecaster(window=4, horizon=1, past_features=["x"], **{**TINY, "epochs": 30}).fit(table, target="y")
    assert model.settings.series.past_features == ["x"] and model.task.inputs == 2
    assert model.predict(1).shape == (1,)
    with pytest.raises(DataError, match="past covariates x are not known after the forecast origin"):
        model.predict(2)
    with pytest.raises(ConfigError, match="list each column in one role"):
        Forecaster(features=["x"], past_features=["x"])


def test_cli_evaluate_actuals_of_one_series_and_dates_that_do_not_follow(tmp_path):
    table = long_table(sizes=(60,))
    history = write(tmp_path / "h.csv", {"month": table["month"][:48], "value": table["value"][:48]})
    later = write(tmp_path / "a.csv", {"month": table["month"][48:], "value": table["value"][48:]})
    model = Forecaster(window=12, **TINY).fit(history, date="month")
    model.save(tmp_path / "m")
    runner = CliRunner()
    base = ["forecast", "evaluate", "--model", str(tmp_path / "m"), "--csv", str(history)]
    result = runner.invoke(cli, [*base, "--actuals", str(later), "--json", "--baselines", "snaive"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["holdout"] == 12 and obj["history"] == 48 and obj["season"] == 12
    expected = model.evaluate(write(tmp_path / "all.csv", {"month": table["month"], "value": table["value"]}), 12)
    assert obj["rollout"]["mae"] == pytest.approx(expected["mae"], abs=1e-5)
    first = table["month"][0]  # the history given as its own actual values: they start where it starts
    assert_clean_failure(runner.invoke(cli, [*base, "--actuals", str(history)]),
                         f"the actual values in {history} start at {first} (line 2), not after the history's last "
                         f"date, {table['month'][47]}; give the values that come after the history.")
    many = long_table()
    both = write(tmp_path / "both.csv", many)
    fitted = Forecaster(window=12, id="id", **TINY).fit(both, date="month")
    with pytest.raises(DataError, match=r"^the actual values in .*both.csv \(series S0\) start at 2000-01 \(line 2\)"):
        fitted.evaluate(both, actuals=both)


def test_forecast_holdout_of_many_series(fitted):
    out = fitted.forecast_holdout(long_table(), 6)
    assert [r["id"] for r in out] == ["S0", "S1", "S2"]
    assert all(len(r["forecast"]) == 6 and len(r["actual"]) == 6 for r in out)
    assert len(out[0]["history"]) == 34


def test_log1p_many_series_with_zeros_round_trip_through_the_model_directory(tmp_path):
    table = long_table()
    troughs = [i for i, m in enumerate(table["month"]) if m.endswith("-01")]
    for i in troughs:  # every January empty: a series mean or log could not take these
        table["value"][i] = 0.0
    data = write(tmp_path / "p.csv", table)
    out = tmp_path / "m"
    runner = CliRunner()
    result = runner.invoke(cli, ["forecast", "train", "--csv", str(data), "--id", "id", "--date", "month", "--window",
                                 "12", "--horizon", "3", "--calibrate", "6", "--hidden", "8", "--epochs", "3",
                                 "--log1p", "--scaler", "none", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["series"]["log1p"] is True
    stored = json.loads((out / "scaler.json").read_text())
    assert stored["transform"] == "log1p" and "log" not in stored
    model = seqtext.load(out)
    assert {s.target_transform for s in model.task.scalers.values()} == {"log1p"}
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(out), "--levels", "80", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["forecast"]
    direct = model.predict(3, levels=[80])
    for row, value in zip(rows, np.concatenate([direct[k]["forecast"] for k in ("S0", "S1", "S2")])):
        assert row["forecast"] == pytest.approx(value)
        # bounds are exp(x) - 1 of log-unit offsets, floored at 0: wider above than below
        assert 0 <= row["lower_80"] <= row["forecast"] < row["upper_80"]
    upper = np.mean([r["upper_80"] - r["forecast"] for r in rows])
    lower = np.mean([r["forecast"] - r["lower_80"] for r in rows])
    assert upper > lower
    negative = write(tmp_path / "n.csv", {**table, "value": [-5.0] + table["value"][1:]})
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(out), "--csv", str(negative)])
    assert_clean_failure(result, "log1p transform needs non-negative values", "series S0")


def test_a_panel_scaler_file_from_before_log1p_still_loads(tmp_path):
    """Files written before log1p hold a top-level ``log`` flag instead of ``transform``: they read as that flag
    says and forecast as they did."""
    model = Forecaster(window=12, horizon=3, log=True, **TINY).fit(long_table(), date="month", id="id")
    path = model.save(tmp_path / "m")
    stored = json.loads((path / "scaler.json").read_text())
    assert stored.pop("transform") == "log"
    (path / "scaler.json").write_text(json.dumps({**stored, "log": True}))
    again = seqtext.load(path)
    assert {s.target_transform for s in again.task.scalers.values()} == {"log"}
    for key, values in model.predict(3).items():
        np.testing.assert_array_equal(values, again.predict(3)[key])


def test_integer_time_steps_as_the_date_column(tmp_path):
    """A long table ``id,t,value`` with t an integer step (the Tourism competition's form): trained, forecast
    with step labels, scored against a second table, season 1 unless given; calendar inputs are refused."""
    rows = ["id,t,value"] + [f"{s},{t},{10 * (k + 1) + math.sin(t / 2):.3f}" for k, s in enumerate("ab")
                             for t in range(1, 41)]
    csv, future = tmp_path / "train.csv", tmp_path / "test.csv"
    csv.write_text("\n".join(rows) + "\n")
    future.write_text("id,t,value\n" + "".join(f"{s},{t},{10 * (k + 1) + math.sin(t / 2):.3f}\n"
                                                for k, s in enumerate("ab") for t in range(41, 44)))
    args = ["--id", "id", "--date", "t", "--window", "6", "--horizon", "3", "--epochs", "2", "--quiet",
            "--calibrate", "0"]
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), *args, "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(tmp_path / "m"), "--csv", str(csv),
                                      "--steps", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["forecast"]
    assert [(r["id"], r["date"]) for r in rows] == [(s, t) for s in "ab" for t in (41, 42, 43)]  # steps as numbers
    result = CliRunner().invoke(cli, ["forecast", "evaluate", "--model", str(tmp_path / "m"), "--csv", str(csv),
                                      "--actuals", str(future), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["season"] == 1
    result = CliRunner().invoke(cli, ["forecast", "evaluate", "--model", str(tmp_path / "m"), "--csv", str(csv),
                                      "--actuals", str(future), "--holdout", "2"])
    assert_clean_failure(result, "--actuals scores every value it holds; leave out --holdout (or --actuals, to "
                                 "score the last --holdout values of the data).")
    only_a = tmp_path / "test_a.csv"
    only_a.write_text("\n".join(future.read_text().splitlines()[:4]) + "\n")  # the header and series a's 3 rows
    result = CliRunner().invoke(cli, ["forecast", "evaluate", "--model", str(tmp_path / "m"), "--csv", str(csv),
                                      "--actuals", str(only_a), "--baselines", "naive"])
    assert result.exit_code == 0, result.output
    assert "warning: the actual values hold no rows of 1 of the 2 series, which is not scored: b." in result.stderr
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), *args, "--calendar",
                                      "--out", str(tmp_path / "c")])
    assert_clean_failure(result, "calendar inputs need monthly or finer dates, but the dates are integer steps",
                         "--calendar")
    assert not (tmp_path / "c").exists()



def test_a_series_spread_over_the_file_is_named_by_its_lines(tmp_path):
    """Rows of the series interleaved (a table sorted by date): a bad cell is named by its own line of the file."""
    lines = ["id,t,value"] + [f"{s},{t},{10 + (t % 5) + (k * 3)}" for t in range(1, 31) for k, s in enumerate("ab")]
    lines[2 * 17] = "b,17,"  # line 35 of the file: series b's 17th value is blank
    csv = tmp_path / "sorted_by_date.csv"
    csv.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), "--id", "id", "--date", "t",
                                      "--window", "4", "--epochs", "1", "--quiet", "--out", str(tmp_path / "m")])
    assert_clean_failure(result, "missing or non-finite value at line 35 of", "(series b)")
    assert not (tmp_path / "m").exists()


def test_blank_lines_and_quoted_line_breaks_keep_the_line_a_cell_is_named_by(tmp_path):
    """A row's line is the file's, read off the CSV reader: a blank line or a value holding a line break before
    a bad cell does not move the line a message names."""
    csv = tmp_path / "gaps.csv"
    csv.write_text('id,t,value,note\nA,1,5,\n\nB,1,3,"two\nlines"\nA,2,x,\n')
    with pytest.raises(DataError, match=r"'x' at line 6 of .*\(series A\)"):
        read_series(csv, SeriesConfig(id="id", target="value", date="t"))
    csv.write_text("id,t,value\nA,1,5\n\n,1,3\n")
    with pytest.raises(DataError, match="'id' is blank at line 4 of"):
        read_series(csv, SeriesConfig(id="id", target="value", date="t"))
    csv.write_text("t,value\n1,5\n\n\n2,x\n")
    with pytest.raises(DataError, match="'x' at line 5 of"):
        Forecaster(window=1, **TINY).fit(csv, date="t")


def test_an_id_holding_a_line_break_is_refused_naming_its_line(tmp_path):
    """A quoted id closed lines later ("A<newline>B") would name its series over several lines of every message;
    it is refused, as is an id with a control character given in memory; other characters are ids as ever."""
    csv = tmp_path / "ids.csv"
    csv.write_text('id,t,value\nA,1,5\n"A\nB",2,6\nA,3,7\n')
    with pytest.raises(DataError, match=r"column 'id' at line 3 of .* holds 'A\\nB', with a line break") as err:
        read_series(csv, SeriesConfig(id="id", target="value", date="t"))
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match=r"at row 1 of the table holds 'B\\tx'"):
        read_series({"id": ["A", "B\tx"], "t": [1, 1], "value": [1.0, 2.0]},
                    SeriesConfig(id="id", target="value", date="t"))
    read = read_series({"id": ["Store\xa0A", "B"], "t": [1, 1], "value": [1.0, 2.0]},
                       SeriesConfig(id="id", target="value", date="t"))
    assert [key for key, _ in read] == ["Store\xa0A", "B"]


def test_a_quote_never_closed_is_named_by_the_line_it_opens_on(tmp_path):
    """A stray opening quote would take the rest of the file into one value (and a many-series file's id into a
    message of several lines): it is refused, naming the line; a closed quote holding a line break is read."""
    csv = tmp_path / "quote.csv"
    csv.write_text('id,t,value\nA,1,5\n",2,6\nA,3,7\n')
    with pytest.raises(DataError, match=r"quote.csv line 3: a quote opened on this line is never closed") as err:
        read_series(csv, SeriesConfig(id="id", target="value", date="t"))
    assert "\n" not in str(err.value)
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), "--id", "id", "--date", "t",
                                      "--quiet", "--out", str(tmp_path / "m")])
    assert_clean_failure(result, "line 3: a quote opened on this line is never closed")
    assert not (tmp_path / "m").exists()
    csv.write_text('id,t,value,note\n' + "".join(f'A,{t},{5 + t % 3},"a\nb"\n' for t in range(1, 9)))
    (_, table), = read_series(csv, SeriesConfig(id="id", target="value", date="t", features=[]))
    assert table.target.tolist() == [5 + t % 3 for t in range(1, 9)]
    assert table.line(1) == 4  # each row two lines long


def test_a_series_without_its_future_covariates_is_named():
    t = list(range(30))
    table = {"id": ["a"] * 30 + ["b"] * 30, "promo": [float(i % 3) for i in t] * 2,
             "y": [10.0 + i % 3 + 0.1 * i for i in t] + [20.0 + i % 3 for i in t]}
    model = Forecaster(window=4, horizon=2, target="y", id="id", features=["promo"], hidden=4, epochs=1, seed=0,
                       device="cpu", calibrate=0).fit(table)
    future = {"id": table["id"][:30] + ["a", "a"] + table["id"][30:], "promo": table["promo"][:30] + [1.0, 2.0]
              + table["promo"][30:], "y": table["y"][:30] + [None, None] + table["y"][30:]}
    with pytest.raises(DataError, match=r"for the next 2 steps but 0 were given for series b; add them"):
        model.predict(2, history=future)


def test_steps_written_as_floats_are_steps_and_date_forms_or_blanks_that_do_not_fit_are_refused(fitted, tmp_path):
    """``12.0`` (pandas' column of steps with a gap, a JSON float) reads as the step 12; a series dated by months
    beside one numbered by steps, a blank date, and a history too short for any backtest origin are one sentence
    each, naming what to change."""
    from seqtext.series.dates import date_labels

    assert date_labels([1.0, 2.0, "3.00", None, float("nan"), np.float32("nan"), "2001-02"]) == [
        "1", "2", "3", "", "", "", "2001-02"]
    steps = {"id": ["a"] * 30, "t": [float(t) for t in range(1, 31)], "value": [float(t % 5) for t in range(30)]}
    items = read_series(steps, SeriesConfig(target="value", date="t", id="id"))
    assert items[0][1].dates[:3] == ["1", "2", "3"]
    mixed = long_table(sizes=(40, 40))
    mixed["month"][40:] = [str(t) for t in range(1, 41)]  # S1 by integer steps
    with pytest.raises(DataError, match=r"column 'month' writes the dates of different series differently \(series "
                                        r"S0: '2000-01', series S1: '1'\); write every series' dates the same way"):
        read_series(mixed, SeriesConfig(target="value", date="month", id="id"))
    blank = long_table(sizes=(40,))
    blank["month"][5] = None
    with pytest.raises(DataError, match=r"column 'month' is blank at row 5 of the table \(series S0\); give every "
                                        "row its date"):
        read_series(blank, SeriesConfig(target="value", date="month", id="id"))
    runner = CliRunner()
    model = fitted.save(tmp_path / "m")  # window 12, horizon 3
    short = write(tmp_path / "short.csv", long_table(sizes=(14,)))
    result = runner.invoke(cli, ["forecast", "backtest", "--model", str(model), "--csv", str(short), "--steps", "5"])
    assert_clean_failure(result, "no series is long enough to backtest: the longest has 14 values, but each origin "
                                 "needs a window of 12 before it and 5 after it; give fewer --steps (at most 2).")
    tiny = write(tmp_path / "tiny.csv", long_table(sizes=(5,)))
    result = runner.invoke(cli, ["forecast", "backtest", "--model", str(model), "--csv", str(tiny)])
    assert_clean_failure(result, "the longest has 5 values", "so it cannot be backtested; give a series of more "
                                 "than 12 values.")
    half = write(tmp_path / "half.csv", long_table(sizes=(30,)))  # origins from 15 by default, 12 with --start
    result = runner.invoke(cli, ["forecast", "backtest", "--model", str(model), "--csv", str(half), "--steps", "20"])
    assert_clean_failure(result, "(and origins start halfway, at 15); give fewer --steps (at most 15), or --start 12 "
                                 "for up to 18.")
    for args, ok in ((["--steps", "15"], True), (["--steps", "16"], False), (["--steps", "18", "--start", "12"], True)):
        result = runner.invoke(cli, ["forecast", "backtest", "--model", str(model), "--csv", str(half),
                                     "--baselines", "none", *args])
        assert (result.exit_code == 0) is ok, result.output  # the limits it names are the real ones


def test_the_column_to_forecast_is_named_among_the_columns_it_could_be(tmp_path):
    table = {**long_table(sizes=(30, 30)), "price": [1.0] * 60, "stock": [2.0] * 60}
    with pytest.raises(DataError, match=r"the table has several columns that could be forecast \(value, stock\); "
                                        "name the one to forecast with target"):
        read_series(table, SeriesConfig(date="month", id="id", features=["price"]))
    with pytest.raises(DataError, match=r"the table has no column to forecast besides the date and the covariates"):
        read_series({k: table[k] for k in ("id", "month", "price")}, SeriesConfig(date="month", id="id",
                                                                                  features=["price"]))
    # a column of text (dates not named as the date column) is no candidate, and said to be perhaps the date
    with pytest.raises(DataError, match=r"^the table has one column of numbers \(value\) beside text; name the one "
                                        r"to forecast with target \('month' holds text: if it is the date, give it "
                                        r"with date\)\.$"):
        read_series({k: table[k] for k in ("id", "month", "value")}, SeriesConfig(id="id"))


def test_evaluate_names_a_series_left_out_and_what_the_actuals_hold(fitted, tmp_path):
    runner = CliRunner()
    model = fitted.save(tmp_path / "m")  # window 12
    data = write(tmp_path / "p.csv", long_table(sizes=(40, 14)))  # S1: 14 values, 2 before a holdout of 12
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(model), "--csv", str(data), "--holdout",
                                 "12", "--baselines", "none", "--plot", str(tmp_path / "e.png"), "--series", "S1"])
    assert_clean_failure(result, "--series S1 was left out as too short to score, so it has no plot", code=2)
    assert "warning: 1 of the 2 series has fewer values than the window of 12 before the values to score and is left out" in result.stderr
    assert not (tmp_path / "e.png").exists()
    for series, said in (("S1", "was left out as too short"), ("zz", "is not one of the series given")):
        result = runner.invoke(cli, ["forecast", "backtest", "--model", str(model), "--csv", str(data), "--plot",
                                     str(tmp_path / "b.png"), "--series", series, "--out", str(tmp_path / "b.csv")])
        assert_clean_failure(result, f"--series {series} {said}", code=2)
        assert not (tmp_path / "b.png").exists() and not (tmp_path / "b.csv").exists()
    history, actuals = long_table(sizes=(40, 40)), long_table(sizes=(46, 43))
    keep = [i for i, (k, m) in enumerate(zip(actuals["id"], actuals["month"])) if m > "2003-04"]
    future = write(tmp_path / "future.csv", {c: [actuals[c][i] for i in keep] for c in actuals})  # 6 and 3 rows
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(model), "--csv",
                                 str(write(tmp_path / "h.csv", history)), "--actuals", str(future), "--baselines",
                                 "none"])
    assert result.exit_code == 0, result.output
    assert f"forecast the values of value in {future} (3 to 6 in each of 2 series) from the history" in result.stdout
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(model), "--csv", str(tmp_path / "h.csv"),
                                 "--actuals", str(future), "--baselines", "none", "--json"])
    assert json.loads(result.stdout)["values_scored"] == 9


def test_series_to_plot_says_why_a_series_of_the_table_has_no_plot(fitted, tmp_path):
    runner = CliRunner()
    model = fitted.save(tmp_path / "m")  # window 12
    data = write(tmp_path / "p.csv", long_table(sizes=(40, 5)))  # S1: 5 values, fewer than the window
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(model), "--csv", str(data), "--plot",
                                 str(tmp_path / "x.png"), "--series", "S1"])
    assert_clean_failure(result, "--series S1 was left out as too short to forecast from, so it has no plot", code=2)
    history, actuals = long_table(sizes=(30, 30)), long_table(sizes=(33,))  # actual values of S0 only
    keep = [i for i, m in enumerate(actuals["month"]) if m > "2002-06"]
    future = write(tmp_path / "a.csv", {c: [actuals[c][i] for i in keep] for c in actuals})
    args = ["forecast", "evaluate", "--model", str(model), "--csv", str(write(tmp_path / "h.csv", history)),
            "--actuals", str(future), "--baselines", "none", "--plot", str(tmp_path / "e.png"), "--series"]
    result = runner.invoke(cli, [*args, "S1"])
    assert_clean_failure(result, f"--series S1 has no actual values in {future}, so it has no plot", code=2)
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "e.png").exists()
    assert_clean_failure(runner.invoke(cli, [*args, "zz"]), "--series zz is not one of the series given", code=2)
    assert runner.invoke(cli, [*args, "S0"]).exit_code == 0


def test_a_bad_cell_of_a_table_in_memory_names_its_row_in_the_whole_table():
    """Rows of data given in Python are counted from 0 over the whole table, as table["value"][45] or
    df.iloc[45] index them, not from the first row of their series; rows of a series spread over the table too."""
    cfg = SeriesConfig(target="value", date="month", id="id")
    table = long_table()
    table["value"][45] = "x"  # the 6th row of S1
    with pytest.raises(DataError, match=r"^column 'value' has a non-numeric value 'x' at row 45 of the table "
                                        r"\(series S1\);"):
        read_series(table, cfg)
    table = long_table()
    table["value"][47] = None
    with pytest.raises(DataError, match=r"^column 'value' has a missing or non-finite value at row 47 of the table "
                                        r"\(series S1\);"):
        read_series(table, cfg)
    mixed = {key: [table[key][i] for pair in zip(range(40), range(40, 80)) for i in pair] for key in table}
    mixed["value"][7] = "y"  # interleaved, S0 S1 S0 S1...: the 4th row of S1
    with pytest.raises(DataError, match=r"'y' at row 7 of the table \(series S1\)"):
        read_series(mixed, cfg)
    sized = {**long_table(sizes=(40, 40)), "size": [1.0] * 40 + [2.0] * 39 + [3.0]}
    with pytest.raises(DataError, match=r"static column 'size' varies within series S1 of the table \(2 on row 40, "
                                        r"3 on row 79\)"):
        read_series(sized, SeriesConfig(target="value", date="month", id="id", static_features=["size"]))


def test_log1p_troughs_reads_only_the_series_with_deep_troughs_as_log1p(tmp_path):
    """--log1p-troughs: a series whose recent trough falls below the share of its mean is read as log(1 + y),
    unscaled; the others keep --scaler.  The choice is stored per series, loads back, and a history of that
    series going below zero is refused naming the option."""
    table = long_table(sizes=(48, 48, 48))
    deep = [i for i, (key, m) in enumerate(zip(table["id"], table["month"])) if key == "S1" and m[-2:] in ("01", "02")]
    for i in deep:  # S1 empties every January and February: a few visitors against hundreds
        table["value"][i] = 0.5
    data = write(tmp_path / "p.csv", table)
    out = tmp_path / "m"
    runner = CliRunner()
    args = panel_train_args(data)
    result = runner.invoke(cli, [*args, "--log1p-troughs", "0.05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "; 3 series; 1 read as log(1 + y) (--log1p-troughs): S1" in result.output
    assert json.loads((out / "config.json").read_text())["series"]["log1p_troughs"] == 0.05
    stored = json.loads((out / "scaler.json").read_text())
    assert (stored["kind"], stored["transform"]) == ("mean", "none")
    assert [(s.get("kind"), s.get("transform")) for s in stored["series"]] == [(None, None), ("none", "log1p"),
                                                                               (None, None)]
    model = seqtext.load(out)
    assert {k: (s.kind, s.target_transform) for k, s in model.task.scalers.items()} == {
        "S0": ("mean", "none"), "S1": ("none", "log1p"), "S2": ("mean", "none")}
    forecast = model.predict(3, levels=[80])
    assert all(0 <= lo for lo in forecast["S1"]["lower_80"])  # bounds of log units: never below zero
    first = table["id"].index("S1")
    negative = write(tmp_path / "n.csv", {**table, "value": [-5.0 if i == first else v
                                                             for i, v in enumerate(table["value"])]})
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(out), "--csv", str(negative)])
    assert_clean_failure(result, "log1p transform needs non-negative values", "series S1", "--log1p-troughs")
    result = runner.invoke(cli, [*args, "--log1p-troughs", "0", "--out", str(tmp_path / "plain")])
    assert result.exit_code == 0, result.output
    assert all("transform" not in s for s in json.loads((tmp_path / "plain" / "scaler.json").read_text())["series"])
    for extra, words in ((["--log1p-troughs", "0.05", "--log1p"], "--log1p transforms every series already"),
                         (["--log1p-troughs", "1"], "--log1p-troughs"),
                         (["--log1p-troughs", "0.05", "--loss", "mape"], "mape --loss divides by the actual")):
        result = runner.invoke(cli, [*args, *extra, "--out", str(tmp_path / "refused")])
        assert_clean_failure(result, words)
        assert not (tmp_path / "refused").exists()


def test_the_calibration_copy_reads_each_series_as_the_final_model_does(monkeypatch):
    """--log1p-troughs chooses on the training part; the calibration copy, trained without the last values, would
    choose on fewer and may read a series in other units (Tourism: 11 of 366).  It takes the final model's reading,
    so every conformal score is in the units its series' intervals are drawn in."""
    from seqtext.series import calibration
    from seqtext.series.scaling import scaler_of, split_point

    table = long_table(sizes=(48, 48, 48))
    settings = dict(window=12, horizon=3, calibrate=6, scaler="mean", log1p_troughs=0.05, **TINY)
    model = Forecaster(**settings)
    valid = model.settings.train.valid_fraction
    final, copy = split_point(48, 12, 3, valid), split_point(48 - 6, 12, 3, valid)
    first = table["id"].index("S1")
    for at in range(copy, final):  # a trough the final model's last window sees, the copy's does not
        table["value"][first + at] = 0.5
    s1 = np.array(table["value"][first:first + 48])
    series = model.settings.series
    assert scaler_of(series, s1[:final]).target_transform == "log1p"
    assert scaler_of(series, s1[:48 - 6][:copy]).target_transform == "none"  # the copy's own choice would differ
    seen = {}
    forecasts = calibration.scaled_forecasts

    def spy(probe, jobs, steps):
        seen.update({k: s.target_transform for k, s in probe.task.scalers.items()})
        return forecasts(probe, jobs, steps)

    monkeypatch.setattr(calibration, "scaled_forecasts", spy)
    model.fit(table, date="month", id="id")
    assert {k: s.target_transform for k, s in model.task.scalers.items()} == {"S0": "none", "S1": "log1p",
                                                                              "S2": "none"}
    assert seen == {"S0": "none", "S1": "log1p", "S2": "none"}
    forecast = model.predict(3, levels=[95])
    # read in other units, S1's errors in visitors became scores of log units (bounds of e^100 and more), and
    # widened the others' bands tenfold
    for key, most in (("S0", 50), ("S1", 1e5), ("S2", 5000)):  # levels 10, 100 (troughs of 0.5), 1000
        assert np.all(np.asarray(forecast[key]["upper_95"]) < most), (key, forecast[key]["upper_95"])


def test_a_series_too_short_for_the_calibration_copy_is_still_read_as_the_final_model_does(monkeypatch):
    """A series the copy cannot train on (its calibration values leave too few) is forecast by it as a new id
    would be; it takes the final model's reading too, not one chosen on its whole table."""
    from seqtext.series import calibration
    from seqtext.series.scaling import split_point

    table = long_table(sizes=(60, 60, 20))
    first = table["id"].index("S2")
    end = split_point(20, 6, 3, 0.1)
    for at in range(end - 2, end):  # a trough in the final model's last training window of S2 alone
        table["value"][first + at] = 0.5
    seen = {}
    forecasts = calibration.scaled_forecasts

    def spy(probe, jobs, steps):
        seen.update({key: probe.task.scaler_for(key, t).target_transform for key, t, *_ in jobs})
        seen["trained"] = sorted(probe.task.scalers)
        return forecasts(probe, jobs, steps)

    monkeypatch.setattr(calibration, "scaled_forecasts", spy)
    model = Forecaster(window=6, horizon=3, calibrate=24, scaler="mean", log1p_troughs=0.05, valid_fraction=0.1,
                       **TINY).fit(table, date="month", id="id")
    assert model.task.scalers["S2"].target_transform == "log1p"
    assert seen == {"S0": "none", "S1": "none", "S2": "log1p", "trained": ["S0", "S1"]}
    assert np.all(np.asarray(model.predict(3, levels=[80])["S2"]["upper_80"]) < 1e5)  # its own choice: 1e20

"""The series package: windows, split, scaling, heads, covariates, roll-out, storage, the toy, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import seqtext
from seqtext.config import CoreConfig, SeriesConfig
from seqtext.errors import CheckpointError, ConfigError, DataError, SeqtextWarning
from seqtext.series import (
    Forecaster,
    Scaler,
    SeriesNet,
    forecast_metrics,
    future_dates,
    make_windows,
    read_table,
    split_point,
)

TINY = dict(hidden=8, epochs=15, patience=15, batch_size=16, device="cpu", seed=0)


def seasonal(n=96, seed=0):
    """A positive monthly-like series with trend, season and two covariates."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    heat = 1 + 0.3 * np.cos(2 * np.pi * t / 12)
    people = 2 + (t > n // 2)
    y = (50 + 0.5 * t) * heat * (0.8 + 0.1 * people) + rng.normal(0, 1, n)
    months = [f"{2000 + k // 12:04d}-{k % 12 + 1:02d}" for k in range(n)]
    return {"month": months, "use": y.tolist(), "heat": heat.tolist(), "people": people.astype(float).tolist()}


@pytest.fixture(scope="module")
def table():
    return seasonal()


@pytest.fixture(scope="module")
def fitted(table):
    """A tiny forecaster with covariates and a multi-step horizon (trained once)."""
    return Forecaster(window=12, horizon=3, log=True, **TINY).fit(
        table, target="use", features=["heat", "people"], date="month")


# ----------------------------------------------------------------- windows and split


def test_windows_hold_consecutive_values_and_the_next_horizon():
    values = np.arange(20.0)[:, None]  # (n, 1)
    x, y, starts = make_windows(values, window=4, horizon=2)
    assert x.shape == (15, 4, 1) and y.shape == (15, 2)
    np.testing.assert_array_equal(x[0, :, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(y[0], [4, 5])
    np.testing.assert_array_equal(y[-1], [18, 19])  # the latest window reaches the end


def test_stride_keeps_the_latest_window():
    values = np.arange(20.0)[:, None]
    x, y, starts = make_windows(values, window=4, horizon=1, stride=5)
    assert starts.tolist() == [0, 5, 10, 15] and y[-1, 0] == 19


@pytest.mark.parametrize("n,window,horizon,fraction", [(100, 12, 3, 0.2), (60, 5, 1, 0.1), (40, 10, 5, 0.3)])
def test_no_window_crosses_the_split(n, window, horizon, fraction):
    split = split_point(n, window, horizon, fraction)
    values = np.arange(float(n))[:, None]  # each value is its own row number
    x_tr, y_tr, _ = make_windows(values, window, horizon, 1, 0, split)
    x_va, y_va, _ = make_windows(values, window, horizon, 1, split, n)
    assert len(x_tr) and len(x_va)
    train_rows = set(x_tr[..., 0].ravel()) | set(y_tr.ravel())
    valid_rows = set(x_va[..., 0].ravel()) | set(y_va.ravel())
    assert max(train_rows) < split <= min(valid_rows)  # no validation window reads a training value, nor back
    assert n - split >= max(window + horizon, math.ceil(fraction * n))


def test_split_too_short_is_a_clear_error():
    with pytest.raises(DataError, match="set valid_fraction to 0"):
        split_point(10, 4, 2, 0.2)
    assert split_point(10, 4, 2, 0.0) == 10


def test_scaler_is_fitted_on_the_training_part_only():
    values = list(range(1, 41)) + [1000.0] * 20  # a jump only the validation part sees
    f = Forecaster(window=4, valid_fraction=0.3, **TINY).fit(values)
    split = f.summary["train_values"]
    assert split == 42 and f.summary["valid_windows"] > 0
    assert f.scaler.center[0] == pytest.approx(np.mean(values[:split]))
    assert f.scaler.scale[0] == pytest.approx(np.std(values[:split]))


# ----------------------------------------------------------------------------- scaler


@pytest.mark.parametrize("kind", ["zscore", "minmax", "mean", "none"])
@pytest.mark.parametrize("log", [False, True, "log1p"])
def test_scaler_round_trip(kind, log):
    rng = np.random.default_rng(1)
    m = np.column_stack([rng.uniform(1, 500, 50), rng.normal(0, 3, 50)])  # (n, 2)
    if log == "log1p":
        m[3::7, 0] = 0.0  # zeros are what log1p is for
    s = Scaler(kind, log).fit(m[:30])
    z = s.transform(m)
    np.testing.assert_allclose(s.inverse_target(z[:, 0]), m[:, 0], rtol=1e-10)
    if kind == "zscore":
        np.testing.assert_allclose(z[:30].mean(0), 0, atol=1e-10)
    if kind == "minmax":
        assert z[:30].min() == pytest.approx(0) and z[:30].max() == pytest.approx(1)
    if kind == "mean":  # the target is divided by its mean absolute value, not shifted; covariates are z-scored
        np.testing.assert_allclose(np.abs(z[:30, 0]).mean(), 1, atol=1e-10)
        np.testing.assert_allclose(z[:, 0] / z[0, 0], s._logged(m)[:, 0] / s._logged(m)[0, 0], rtol=1e-10)
        np.testing.assert_allclose(z[:30, 1].mean(), 0, atol=1e-10)
    again = Scaler.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_allclose(again.transform(m), z)
    assert again.target_transform == s.target_transform == {False: "none", True: "log", "log1p": "log1p"}[log]


def test_log1p_scaler_reads_log_one_plus_the_target():
    m = np.array([[0.0, 1.0], [9.0, 2.0], [99.0, 3.0]])
    s = Scaler("none", "log1p").fit(m)
    np.testing.assert_allclose(s.transform(m)[:, 0], np.log([1.0, 10.0, 100.0]), rtol=1e-12)
    np.testing.assert_allclose(s.transform(m)[:, 1], m[:, 1])  # covariates are not transformed
    np.testing.assert_allclose(s.inverse_target(np.log([1.0, 10.0, 100.0])), [0.0, 9.0, 99.0], atol=1e-12)
    assert s.inverse_target(np.array([-0.5]))[0] == 0.0  # exp(-0.5) - 1 < 0: floored, as the series never goes
    # a file written before log1p existed has no "transform" key: its log flag decides
    for flag, transform in ((True, "log"), (False, "none")):
        old = {"kind": "none", "log": flag, "center": [0.0], "scale": [1.0]}
        assert Scaler.from_dict(old).target_transform == transform


@pytest.mark.parametrize("kind", ["zscore", "minmax"])
def test_constant_column_does_not_divide_by_zero(kind):
    m = np.column_stack([np.full(10, 7.0), np.arange(10.0)])
    s = Scaler(kind).fit(m)
    z = s.transform(m)
    assert np.isfinite(z).all() and s.scale[0] == 1.0
    np.testing.assert_allclose(s.inverse_target(z[:, 0]), 7.0)


def test_mean_scaling_of_a_series_of_zeros_keeps_scale_one():
    s = Scaler("mean").fit(np.zeros((10, 1)))
    assert s.scale[0] == 1.0 and s.center[0] == 0.0
    np.testing.assert_allclose(s.inverse_target(s.transform(np.zeros((3, 1)))[:, 0]), 0.0)


# ------------------------------------------------------------------------------ heads


@pytest.mark.parametrize("head", ["last", "concat"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("level", ["none", "mean", "last"])
def test_heads_give_one_value_per_horizon_step(head, bidirectional, cell, level):
    series = SeriesConfig(window=7, horizon=4, head=head, level=level)
    core = CoreConfig(hidden=5, layers=2, bidirectional=bidirectional, cell=cell)
    net = SeriesNet(3, series, core)
    x = torch.randn(2, 7, 3)  # (B, W, C)
    pred, loss = net(x, torch.zeros(2, 4))
    assert pred.shape == (2, 4) and loss.ndim == 0
    width = 5 * (2 if bidirectional else 1) * (7 if head == "concat" else 1)
    assert net.head.in_features == width


def test_skip_adds_a_linear_autoregression_of_the_window():
    torch.manual_seed(0)
    net = SeriesNet(2, SeriesConfig(window=5, horizon=3, level="mean", skip=True),
                    CoreConfig(hidden=4))
    assert net.skip.in_features == 5 and net.skip.out_features == 3
    x = torch.randn(6, 5, 2)  # target and one covariate
    with torch.no_grad():
        core_only = net(x)[0] - net.skip(x[:, :, 0] - x[:, :, 0].mean(1, keepdim=True))
        net.head.weight.zero_()
        net.head.bias.zero_()  # silence the core: what is left is the linear path around the level
        level = x[:, :, 0].mean(1, keepdim=True)
        torch.testing.assert_close(net(x)[0], net.skip(x[:, :, 0] - level) + level)
    assert not torch.allclose(core_only, level.expand(-1, 3))  # and the core did contribute before
    assert SeriesNet(2, SeriesConfig(window=5, skip=False), CoreConfig(hidden=4)).skip is None


def test_level_mode_makes_the_net_shift_equivariant():
    torch.manual_seed(0)
    net = SeriesNet(1, SeriesConfig(window=5, horizon=2, level="mean"), CoreConfig(hidden=4))
    x = torch.randn(3, 5, 1)
    shifted, _ = net(x + 10.0)
    torch.testing.assert_close(shifted, net(x)[0] + 10.0)


def test_series_net_uses_the_shared_core():
    from seqtext.core import RecurrentCore

    net = SeriesNet(1, SeriesConfig(window=3), CoreConfig(hidden=4))
    assert type(net.core) is RecurrentCore and isinstance(net.core.rnn, torch.nn.RNN)


# ------------------------------------------------------------------------ the toy


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("top", [90, 200])
def test_toy_sequence_predicts_100_within_2_percent(seed, top):
    f = Forecaster(window=3, seed=seed, device="cpu").fit(list(range(10, top + 10, 10)))
    assert f.predict(history=[70, 80, 90])[0] == pytest.approx(100, rel=0.02)


# --------------------------------------------------------------- covariates and roll-out


def test_covariates_widen_the_input_and_are_required(fitted, table):
    assert fitted.net.proj.in_features == 3 and fitted.settings.series.features == ["heat", "people"]
    with pytest.raises(DataError, match="'people'"):
        fitted.predict(history={k: v for k, v in table.items() if k != "people"})
    with pytest.raises(DataError, match="covariates heat, people"):
        fitted.predict(history=table["use"])


def rows(future: dict, start: int, stop: int) -> dict:
    return {k: v[start:stop] for k, v in future.items()}


def test_roll_out_feeds_forecasts_back(fitted, table):
    H = 3
    future = {"heat": [1.0, 1.1, 1.2, 1.3, 1.2, 1.1, 1.0], "people": [3.0] * 7}
    long = fitted.predict(steps=7, history=table, future=future)
    assert long.shape == (7,)
    np.testing.assert_allclose(long[:H], fitted.predict(steps=H, history=table, future=rows(future, 0, H)))
    # the second block is the forecast from the history extended by the first block
    extended = {k: list(v) for k, v in table.items()}
    extended["use"] += long[:H].tolist()
    extended["heat"] += future["heat"][:H]
    extended["people"] += future["people"][:H]
    extended["month"] += future_dates(table["month"], H)
    np.testing.assert_allclose(long[H : 2 * H], fitted.predict(steps=H, history=extended,
                                                               future=rows(future, H, 2 * H)), rtol=1e-5)


def test_future_covariates_in_the_history_or_given_apart(fitted, table):
    future = {"heat": [1.2, 1.1, 1.0, 0.9], "people": [3.0] * 4}
    apart = fitted.predict(steps=4, history=table, future=future)
    inline = {k: list(v) for k, v in table.items()}
    inline["use"] += [None] * 4  # blank target: rows known ahead of the series
    inline["heat"] += future["heat"]
    inline["people"] += future["people"]
    inline["month"] += future_dates(table["month"], 4)
    np.testing.assert_allclose(fitted.predict(steps=4, history=inline), apart)


def test_missing_future_covariates_are_a_clear_error(fitted, table):
    with pytest.raises(DataError, match="^the covariates heat, people are known ahead, so forecasting 4 steps needs "
                                        r"them for the next 4 steps but 0 were given; add them as rows after the "
                                        r"last target value\.$"):
        fitted.predict(steps=4, history=table)
    with pytest.raises(DataError, match="next 3 steps but 2 were given"):  # within the horizon too
        fitted.predict(steps=3, history=table, future={"heat": [1.0] * 2, "people": [3.0] * 2})
    with pytest.raises(DataError, match="next 3 steps but 0 were given"):  # from the end of the training series
        fitted.predict()
    fitted.predict(steps=1, history=table, future={"heat": [1.0], "people": [3.0]})  # a step needs its own row


def test_without_covariates_any_length_rolls_out(table):
    f = Forecaster(window=12, horizon=4, **TINY).fit(table["use"])
    out = f.predict(steps=10)
    assert out.shape == (10,) and np.isfinite(out).all()
    np.testing.assert_allclose(f.predict(steps=4), out[:4])
    np.testing.assert_allclose(f.predict(steps=4, history=table["use"]), out[:4])


# ------------------------------------------------------------------ dated forecasts, holdout


def test_forecast_rows_are_dated(fitted, table):
    future = {"heat": [1.0] * 6, "people": [3.0] * 6}
    rows = fitted.forecast(steps=3, history=table, future=rows_of(future, 3))
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert [r["date"] for r in rows] == ["2008-01", "2008-02", "2008-03"]  # after 2007-12
    assert [r["forecast"] for r in rows] == fitted.predict(steps=3, history=table, future=rows_of(future, 3)).tolist()
    assert [r["date"] for r in fitted.forecast(future=rows_of(future, 3))] == ["2008-01", "2008-02", "2008-03"]
    assert fitted.forecast(steps=6, history=table, future=future)[-1]["date"] == "2008-06"
    inline = {k: list(v) for k, v in table.items()}
    inline["use"] += [None] * 3  # future covariate rows carry their own dates
    inline["heat"] += future["heat"][:3]
    inline["people"] += future["people"][:3]
    inline["month"] += ["2008-02", "2008-03", "2008-05"]
    assert [r["date"] for r in fitted.forecast(steps=3, history=inline)] == ["2008-02", "2008-03", "2008-05"]


def rows_of(future: dict, n: int) -> dict:
    return {k: v[:n] for k, v in future.items()}


def test_forecast_rows_without_dates(table):
    f = Forecaster(window=12, **TINY).fit(table["use"])
    assert [set(r) for r in f.forecast(steps=2)] == [{"step", "forecast", "value"}] * 2
    uneven = {"use": table["use"][:40], "day": [f"2020-01-{d:02d}" for d in range(1, 32)] +
              [f"2020-02-{d:02d}" for d in (1, 3, 4, 5, 6, 7, 8, 9, 11)]}
    with pytest.warns(SeqtextWarning, match="2020-02-01 is followed by 2020-02-03 at row 32"):
        g = Forecaster(window=12, **TINY).fit(uneven, target="use", date="day")
    assert g.forecast(steps=1)[0]["date"] == "2020-02-12"  # daily, as 21 of the last 23 steps are: two gaps
    irregular = {"use": uneven["use"][:20], "day": [f"2020-{m:02d}-{d:02d}" for m in (1, 2, 3, 4, 5) for d in
                                                    (1, 3, 8, 16)]}
    h = Forecaster(window=12, **TINY).fit(irregular, target="use", date="day")  # no spacing shared: no guess
    with pytest.warns(SeqtextWarning, match="last dates .up to 2020-05-16. are spaced unevenly"):
        assert "date" not in h.forecast(steps=1)[0]


def test_fit_holdout_leaves_the_last_values_out(table):
    f = Forecaster(window=12, **TINY).fit(table, target="use", date="month", holdout=12)
    assert f.summary["values"] == 84 and f.tail["dates"][-1] == "2006-12"
    head = {k: v[:84] for k, v in table.items()}
    same = Forecaster(window=12, **TINY).fit(head, target="use", date="month")
    assert np.array_equal(f.predict(steps=3), same.predict(steps=3))
    assert not f.seen_in_training(f.read(table), 84) and same.seen_in_training(f.read(table), 83)
    assert f.evaluate(table, holdout=12)["holdout"] == 12
    with pytest.raises(ConfigError, match="^holdout 96 leaves nothing to train on"):
        Forecaster(window=12, **TINY).fit(table, target="use", holdout=96)
    with pytest.raises(ConfigError, match="^holdout must be a whole number of at least 0"):
        Forecaster(window=12, **TINY).fit(table, target="use", holdout=-1)


# ------------------------------------------------------------------ evaluate, backtest


def test_metrics_on_known_values():
    m = forecast_metrics([100, 200], [110, 180], insample=[1, 2, 4, 8], season=1)
    assert m["mae"] == 15 and m["rmse"] == pytest.approx(math.sqrt(250))
    assert m["mape"] == pytest.approx(10) and m["smape"] == pytest.approx(100 * (20 / 210 + 40 / 380) / 2)
    assert m["mase"] == pytest.approx(15 / (7 / 3))
    assert math.isnan(forecast_metrics([0, 0], [1, 1])["mape"])


def test_evaluate_and_backtest(fitted, table):
    roll = fitted.evaluate(table, holdout=6)
    one = fitted.evaluate(table, holdout=6, one_step=True, season=12)
    for m in (roll, one):
        assert {"mae", "rmse", "mape", "smape", "mase"} <= set(m) and m["holdout"] == 6
    assert roll["mode"] == "rollout" and one["mode"] == "one_step"
    r = fitted.forecast_holdout(table, 6, one_step=True)
    full = fitted.predict(steps=1, history={**table, "use": table["use"][:-1] + [None]})  # the last row known ahead
    assert r["forecast"][-1] == pytest.approx(full[0])  # the last one-step forecast reads all values before it
    bt = fitted.backtest(table, start=60, steps=3, stride=10)
    assert bt["origins"] == 4 and [r["origin"] for r in bt["results"]] == [60, 70, 80, 90]
    assert bt["results"][0]["date"] == table["month"][60]
    assert bt["mape"] == pytest.approx(np.mean([r["mape"] for r in bt["results"]]))


# ---------------------------------------------------------------------------- storage


def test_save_load_round_trip(fitted, table, tmp_path):
    path = fitted.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "metrics.jsonl", "model.safetensors",
                                                      "scaler.json", "trainer.pt"]
    config = json.loads((path / "config.json").read_text())
    assert config["kind"] == "series" and config["format_version"] == 2
    loaded = seqtext.load(path)
    assert isinstance(loaded, Forecaster)
    future = {"heat": [1.0, 0.9, 0.8, 0.7, 0.8, 0.9], "people": [3.0] * 6}
    np.testing.assert_array_equal(loaded.predict(steps=6, history=table, future=future),
                                  fitted.predict(steps=6, history=table, future=future))
    future = rows_of(future, 3)  # from the stored end of the series
    np.testing.assert_array_equal(loaded.predict(future=future), fitted.predict(future=future))
    assert config["reads_ahead"] is True  # the network reads the covariates of the steps it forecasts


def test_load_refuses_a_damaged_scaler(fitted, tmp_path):
    path = fitted.save(tmp_path / "m")
    (path / "scaler.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="scaler.json"):
        seqtext.load(path)


# ------------------------------------------------------------------------------ inputs


def test_pandas_and_numpy_tables(table):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(table)
    f = Forecaster(window=6, **TINY).fit(df, target="use", features=["people"])
    ahead = {"people": [3.0]}  # the covariate of the step forecast
    np.testing.assert_allclose(f.predict(history=df, future=ahead), f.predict(history=table, future=ahead))
    arr = np.column_stack([table["use"], table["people"]])
    g = Forecaster(window=6, **TINY).fit(arr, target=0, features=[1])
    arr[-1, 0] = np.nan  # the last row's covariate is known ahead of its target
    assert g.predict(history=arr).shape == (1,)
    s = Forecaster(window=6, **TINY).fit(pd.Series(table["use"]))
    assert s.predict(history=np.asarray(table["use"])).shape == (1,)


def test_fill_interpolates_gaps():
    values = [1.0, 2.0, float("nan"), 4.0, 5.0, 6.0]
    t = read_table(values, fill=True)
    np.testing.assert_allclose(t.target, [1, 2, 3, 4, 5, 6])
    t = read_table({"v": ["", "2", "inf", "4"]}, "v", fill=True)
    np.testing.assert_allclose(t.target, [2, 2, 3, 4])


def test_future_dates():
    assert future_dates(["1960-11", "1960-12"], 2) == ["1961-01", "1961-02"]
    assert future_dates(["2020-01-31", "2020-02-01"], 1) == ["2020-02-02"]
    assert future_dates(["2020-01-01", "2020-02-01", "2020-03-01"], 2) == ["2020-04-01", "2020-05-01"]
    assert future_dates(["1990", "1995"], 1) == ["2000"]
    assert future_dates(["2020-01-01", "2020-01-05", "2020-01-06"], 1) is None  # uneven: no guess
    assert future_dates(["7", "8", "9"], 2) == ["10", "11"]  # integer time steps
    assert future_dates(["998", "999"], 2) == ["1000", "1001"]
    assert future_dates(["1", "3", "4"], 1) is None


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data,kwargs,match",
    [
        ({"a": [1, 2, 3]}, dict(target="b"), "no column 'b'"),
        ({"a": [1, "x", 3] * 10}, dict(target="a"), "non-numeric value 'x' at row 1"),
        ({"a": [1.0, 2.0, float("nan")] * 10}, dict(target="a"), "non-finite value at row 2"),
        ({"a": list(range(30)), "f": [1.0] * 29 + [float("inf")]}, dict(target="a", features=["f"]),
         "column 'f' has a missing or non-finite value at row 29"),
        (list(range(5)), {}, "fewer than window \\+ horizon = 7"),
        ([3.0] * 40, {}, "constant"),
        ({"a": [1, 2], "b": [3, 4]}, {}, "name the one to forecast"),
        ({"a": list(range(30)), "d": ["2000-01", "2000-03", "2000-02"] * 10}, dict(target="a", date="d"),
         "do not increase at row 2"),
        ({"a": list(range(30)), "d": ["soon"] * 30}, dict(target="a", date="d"), "not a date"),
        ({"a": [1, "1_105", 3] * 10}, dict(target="a"), "non-numeric value '1_105' at row 1"),  # no table writes it
        ({"a": [1, "NA", 3] * 10}, dict(target="a"), "non-finite value at row 1"),  # missing, as R writes it
        ({"a": list(range(30)), "d": [f"2021-01-02T{h:02d}:00" for h in range(12)] +
          [f"2021-01-02T{h:02d}:00+00:00" for h in range(12, 24)] + ["2021-01-03T00:00"] * 6},
         dict(target="a", date="d"), r"mixes date formats \(with and without a time zone\) at row 12"),
    ],
)
def test_bad_tables_raise_one_clear_sentence(data, kwargs, match):
    with pytest.raises(DataError, match=match) as info:
        Forecaster(window=6, horizon=1, **TINY).fit(data, **kwargs)
    message = str(info.value)
    assert message.count(". ") == 0 and message.endswith(".") and "\n" not in message


def test_na_markers_are_missing_values_that_fill_interpolates():
    values = [10.0 + k % 4 for k in range(30)]
    for marker in ("NA", "N/A", "#N/A", "null", " nan "):
        gapped = {"a": values[:9] + [marker] + values[10:]}
        f = Forecaster(window=6, horizon=1, calibrate=0, fill=True, **TINY).fit(gapped, target="a")
        assert f.summary["values"] == 30, marker


def test_log_of_non_positive_values_is_refused():
    with pytest.raises(DataError, match="log transform needs positive values.*is 0 at row 3"):
        Forecaster(window=3, log=True, **TINY).fit([4, 3, 2, 0, 1, 2, 3, 4, 5, 6])


def test_log1p_takes_zeros_and_refuses_negative_values():
    series = [4.0, 3, 0, 0, 1, 2, 3, 4, 5, 6, 0, 2, 5, 8]
    f = Forecaster(window=3, log1p=True, scaler="none", **TINY).fit(series)
    assert f.scaler.target_transform == "log1p" and np.all(np.isfinite(f.predict(4)))
    assert np.all(f.predict(4) >= 0)  # a series never below zero is never forecast below it
    with pytest.raises(DataError, match="log1p transform needs non-negative values.*is -2 at row 3.*log1p"):
        Forecaster(window=3, log1p=True, **TINY).fit([4, 3, 2, -2, 1, 2, 3, 4, 5, 6])
    with pytest.raises(ConfigError, match="choose one"):
        Forecaster(log=True, log1p=True)


@pytest.mark.parametrize("option", [dict(window=0), dict(horizon=0), dict(head="mid"), dict(level="max"),
                                    dict(scaler="robust"), dict(lr=-1.0), dict(optimizer="lbfgs"),
                                    dict(colour="red")])
def test_bad_options_are_config_errors(option):
    with pytest.raises(ConfigError):
        Forecaster(**option)


def test_bad_steps_and_untrained(fitted):
    with pytest.raises(ConfigError, match="^steps must be a whole number"):
        fitted.predict(steps=0)
    with pytest.raises(ConfigError, match="not trained"):
        Forecaster().predict()
    with pytest.raises(DataError, match="at least 12 values"):
        fitted.predict(history={"use": [1.0] * 5, "heat": [1.0] * 5, "people": [1.0] * 5})


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        Forecaster().fit(tmp_path / "nope.csv", target="a")


def test_mean_scaling_keeps_the_standard_deviation_as_the_interval_unit():
    m = np.column_stack([np.array([10.0, 12.0, 14.0, 8.0]), np.arange(4.0)])
    s = Scaler("mean").fit(m)
    assert s.scale[0] == pytest.approx(11.0) and s.interval_unit == pytest.approx(np.std(m[:, 0]))
    again = Scaler.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again.interval_unit == pytest.approx(s.interval_unit)
    z = Scaler("zscore").fit(m)
    assert "spread" not in z.to_dict() and z.interval_unit == pytest.approx(z.scale[0])
    with pytest.raises(ValueError, match="spread"):
        Scaler.from_dict({**s.to_dict(), "spread": -1.0})


def test_the_series_benchmark_takes_every_value_of_the_forecasters_choice_options():
    """scripts/bench_series.py compares settings the forecaster takes: --scaler mean among them (argparse checks
    each option before --help, so a value it refuses exits 2 before the help is printed)."""
    import subprocess
    import sys
    from pathlib import Path

    from seqtext.series.scaling import Scaler

    script = Path(__file__).resolve().parents[1] / "scripts" / "bench_series.py"
    for kind in Scaler.KINDS:
        done = subprocess.run([sys.executable, str(script), "airline", "--scaler", kind, "--help"],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "--scaler {zscore,minmax,mean,none}" in done.stdout, done.stderr

"""The forecast reads the known-ahead covariates of the steps it forecasts (future-known ``features`` and the
calendar), never the past-only or static ones; the exported graph does the same."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import close
from seqtext import Forecaster
from seqtext.errors import DataError, SeqtextWarning
from seqtext.series.panel import read_series

TINY = dict(hidden=8, epochs=40, batch_size=16, device="cpu", seed=0, calibrate=0)
N = 240


def priced(n: int = N, seed: int = 0) -> dict:
    """y_t = 10 + price_t with the price drawn at random each step: only the price of step t tells y_t."""
    rng = np.random.default_rng(seed)
    price = rng.normal(size=n)
    return {"price": price.tolist(), "y": (10 + price).tolist()}


@pytest.fixture(scope="module")
def price_model():
    return Forecaster(window=8, horizon=2, features=["price"], target="y", **TINY).fit(priced(), holdout=40)


def test_a_target_equal_to_a_future_known_covariate_is_forecast_almost_exactly(price_model):
    assert price_model.task.ahead_columns == [1] and price_model.task.reads_ahead
    result = price_model.backtest(priced(), start=N - 40, steps=2)
    # a network that reads only the window cannot beat E|price - 0| = 0.8 (the price is white noise); this
    # one reads the price of each forecast step (measured: MAE 0.016)
    assert result["origins"] == 39 and result["mae"] < 0.1
    table = priced()
    one_step = price_model.evaluate(table, holdout=40, one_step=True)
    assert one_step["mae"] < 0.1


def test_the_export_reads_the_same_covariates_as_torch(price_model, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    runtime = load(export(price_model.save(tmp_path / "m"), tmp_path / "onnx"))
    assert [i.name for i in runtime.session.get_inputs()] == ["x", "ahead"] and runtime.manifest["ahead"] == [1]
    table = priced()
    for n in (150, 199, 230):
        history = {"price": table["price"][: n + 5], "y": table["y"][:n] + [None] * 5}
        mine, theirs = runtime.predict(5, history=history), price_model.predict(5, history=history)
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5)
        np.testing.assert_allclose(theirs, table["y"][n : n + 5], atol=0.3)  # the price of each step, read
    rng = np.random.default_rng(1)
    x, ahead = rng.normal(size=(50, 8, 2)).astype(np.float32), rng.normal(size=(50, 2, 1)).astype(np.float32)
    np.testing.assert_allclose(runtime.forecast_windows(x, None, ahead), price_model.forecast_windows(x, None, ahead),
                               rtol=0, atol=1e-5)
    close(runtime.evaluate(table, 10)["mae"], price_model.evaluate(table, 10)["mae"])


def test_a_step_never_reads_the_covariates_of_a_later_step(price_model):
    rng = np.random.default_rng(2)
    x, ahead = rng.normal(size=(20, 8, 2)), rng.normal(size=(20, 2, 1))
    later = ahead.copy()
    later[:, 1] += 5.0  # the second step's price only
    first, second = price_model.forecast_windows(x, None, ahead), price_model.forecast_windows(x, None, later)
    np.testing.assert_array_equal(first[:, 0], second[:, 0])
    assert np.all(first[:, 1] != second[:, 1])
    table = priced()  # so one step needs just its own row, and agrees with the first of two
    history = {"price": table["price"][:101], "y": table["y"][:100] + [None]}
    both = {"price": table["price"][:102], "y": table["y"][:100] + [None, None]}
    assert price_model.predict(1, history=history)[0] == price_model.predict(2, history=both)[0]


def mixed(n: int = 120, seed: int = 3) -> dict:
    """A target driven by a planned price (known ahead), a measured load (known up to the origin) and a size."""
    rng = np.random.default_rng(seed)
    price, load = rng.normal(size=n), rng.normal(size=n)
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(n)]
    y = 20 + 2 * price + np.r_[0, load[:-1]] + 0.1 * rng.normal(size=n)
    return {"month": months, "y": y.tolist(), "price": price.tolist(), "load": load.tolist(), "size": [4.0] * n}


@pytest.fixture(scope="module")
def mixed_model():
    with pytest.warns(SeqtextWarning, match="static column 'size' tells the model nothing"):  # one series: the layout
        return Forecaster(window=6, horizon=3, target="y", date="month", features=["price"], past_features=["load"],
                          static_features=["size"], calendar=True, **{**TINY, "epochs": 10}).fit(mixed())


def test_past_only_and_static_covariates_are_never_read_ahead(mixed_model):
    task = mixed_model.task
    assert task.inputs == 1 + 1 + 1 + 1 + 6  # target, price, load, size, calendar
    assert task.ahead_columns == [1, 4, 5, 6, 7, 8, 9]  # price and the calendar: not load (2) nor size (3)
    assert mixed_model.net.ahead.in_features == 3 * 7
    table = mixed()
    history = {k: v[:100] for k, v in table.items()}
    future = {"price": table["price"][100:103]}
    apart = mixed_model.predict(3, history=history, future=future)
    inline = {k: list(v[:103]) for k, v in table.items()}
    inline["y"][100:] = [None] * 3
    np.testing.assert_array_equal(mixed_model.predict(3, history=inline), apart)
    for load in ([None] * 3, [50.0, -50.0, 7.0]):  # the past covariate's future rows: blank, or any values
        changed = {**inline, "load": inline["load"][:100] + load}
        np.testing.assert_array_equal(mixed_model.predict(3, history=changed), apart)
    moved = {**inline, "price": inline["price"][:100] + [3.0, -3.0, 0.0]}  # the known-ahead price is read
    assert np.all(mixed_model.predict(3, history=moved) != apart)
    # --fill fills a gap between known values of a covariate known ahead, never its blank future
    blank = {**inline, "price": inline["price"][:100] + [3.0, None, None]}
    with pytest.raises(DataError, match=r"column 'price' is known ahead, but its value for a forecast step is blank "
                                        r"\(row 101 of"):
        read_series(blank, mixed_model.settings.series, fill=True, allow_future=True)
    gap = {**inline, "price": inline["price"][:100] + [3.0, None, 0.0]}
    assert read_series(gap, mixed_model.settings.series, fill=True, allow_future=True)[0][1].features[101, 0] == 1.5


def test_a_past_covariate_model_still_forecasts_at_most_its_horizon(mixed_model):
    table = mixed()
    history = {k: v[:100] for k, v in table.items()}
    with pytest.raises(DataError, match="past covariates load are not known after the forecast origin"):
        mixed_model.predict(4, history=history, future={"price": table["price"][100:104]})
    with pytest.raises(DataError, match="^the covariates price are known ahead, so forecasting 3 steps needs them "
                                        "for the next 3 steps but 1 was given"):
        mixed_model.predict(3, history=history, future={"price": table["price"][100:101]})


def test_a_column_the_model_reads_is_named_by_what_it_is_for_when_missing(mixed_model):
    """The columns are the trained model's, not the user's to choose: each missing one is named with its role."""
    table = mixed()
    history = {k: v[:100] for k, v in table.items()}
    with pytest.raises(DataError, match=r"^the future table has no column 'price' \(it has 'load'\); the model reads "
                                        r"'price' as a covariate known ahead \(needed in every row, the steps to "
                                        r"forecast included\); add it to the table\.$"):
        mixed_model.predict(3, history=history, future={"load": [1.0] * 3})
    short = {k: v for k, v in history.items() if k not in ("y", "load", "price")}
    with pytest.raises(DataError, match=r"has no columns 'y', 'price', 'load' .*; the model reads 'y' as the series it "
                                        r"forecasts and 'price' as a covariate known ahead .* and 'load' as a "
                                        r"past-only covariate; add them to the table\.$"):
        mixed_model.predict(3, history=short)

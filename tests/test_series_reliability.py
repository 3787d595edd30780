"""Reliability for the series adapter: determinism, hostile arrays, random CLI options."""

from __future__ import annotations

import math

import numpy as np
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seqtext import ConfigError, DataError, Forecaster, load
from seqtext.cli import cli

from conftest import assert_no_traceback

SMALL = dict(window=4, hidden=8, epochs=5, patience=5, device="cpu")
SERIES = [float(10 + 3 * i + 5 * math.sin(i)) for i in range(40)]


def test_same_seed_same_weights_and_forecasts(tmp_path):
    a = Forecaster(seed=4, **SMALL).fit(SERIES)
    b = Forecaster(seed=4, **SMALL).fit(SERIES)
    for key, value in a.net.state_dict().items():
        assert torch.equal(value, b.net.state_dict()[key])
    assert np.array_equal(a.predict(steps=6), b.predict(steps=6))
    back = load(a.save(tmp_path / "m"))
    assert np.array_equal(back.predict(steps=6), a.predict(steps=6))
    c = Forecaster(seed=5, **SMALL).fit(SERIES)
    assert not np.array_equal(a.predict(steps=6), c.predict(steps=6))


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
hostile = st.one_of(
    arrays(np.float64, st.integers(0, 30), elements=floats),
    arrays(np.float64, st.integers(5, 30), elements=st.sampled_from([0.0, 1.0, 1e300, -1e300, 1e-300])),
    st.integers(5, 30).map(lambda n: np.full(n, 7.0)),
)


@settings(max_examples=40, deadline=None)
@given(values=hostile)
@example(values=np.array([-1.17643158e308, 0.0, -1.17643158e308, -1.17643158e308]))  # a forecast past float64's end
def test_arbitrary_float_arrays_only_raise_documented_errors(values):
    try:
        model = Forecaster(window=3, hidden=4, epochs=2, patience=2, device="cpu").fit(values)
    except (DataError, ConfigError) as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    forecast = model.predict(steps=3)
    assert forecast.shape == (3,) and np.isfinite(forecast).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(["--window", "--horizon", "--hidden", "--epochs", "--lr", "--stride", "--scaler",
                               "--head", "--level", "--dropout", "--batch-size", "--valid-fraction", "--features"]),
       value=st.one_of(st.integers(-3, 5).map(str), st.text(max_size=6), st.sampled_from(["nan", "inf", "1e9", ""])))
def test_forecast_train_with_random_option_values(tmp_path_factory, option, value):
    tmp = tmp_path_factory.mktemp("fz")
    csv = tmp / "s.csv"
    csv.write_text("v\n" + "\n".join(str(x) for x in SERIES) + "\n")
    args = ["forecast", "train", "--csv", str(csv), "--target", "v", "--out", str(tmp / "m"), "--window", "4",
            "--epochs", "2", "--hidden", "4", "--quiet", "--device", "cpu", option, value]
    result = CliRunner().invoke(cli, args)
    assert_no_traceback(result)
    if result.exit_code != 0:
        assert not (tmp / "m").exists()

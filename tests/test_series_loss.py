"""The series training loss (``loss``: mse, mae, huber, mape): what the net minimises, where it is recorded, bad
values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import seqtext
from seqtext.cli import cli
from seqtext.config import CoreConfig, SeriesConfig
from seqtext.errors import ConfigError
from seqtext.series import Forecaster, SeriesNet

from conftest import assert_clean_failure

FIXTURES = Path(__file__).parent / "fixtures"
TINY = dict(window=6, horizon=2, hidden=4, epochs=2, patience=2, batch_size=8, device="cpu", seed=0, calibrate=0)


def by_hand(kind: str, pred: torch.Tensor, target: torch.Tensor) -> float:
    err = (pred - target).double()
    if kind == "mse":
        return float((err**2).mean())
    if kind == "mae":
        return float(err.abs().mean())
    if kind == "mape":  # a zero actual weighs nothing
        size = target.double().abs()
        return float(torch.where(size > 0, err.abs() / size.clamp(min=1e-300), torch.zeros_like(size)).mean())
    a = err.abs()  # huber with delta 1: half the square within one unit, the absolute error less a half beyond
    return float(torch.where(a <= 1, 0.5 * err**2, a - 0.5).mean())


KINDS = ("mse", "mae", "huber", "mape")


@pytest.mark.parametrize("kind", KINDS)
def test_the_net_returns_the_chosen_loss_of_its_forecasts(kind):
    torch.manual_seed(0)
    scaler = "mean" if kind == "mape" else "zscore"
    net = SeriesNet(1, SeriesConfig(window=5, horizon=3, loss=kind, scaler=scaler), CoreConfig(hidden=4))
    x, y = torch.randn(7, 5, 1), 3 * torch.randn(7, 3)  # errors on both sides of huber's unit
    y[0, 1] = 0.0  # a zero actual: mape leaves it out
    pred, loss = net(x, y)
    assert loss.item() == pytest.approx(by_hand(kind, pred.detach(), y), rel=1e-6)
    others = {k: by_hand(k, pred.detach(), y) for k in KINDS if k != kind}
    assert all(abs(loss.item() - v) > 1e-3 for v in others.values())  # the kinds differ on this batch


def test_the_mape_loss_is_relative_and_ignores_zero_actuals():
    from seqtext.series.net import mape_loss

    pred, target = torch.tensor([[110.0, 45.0, 3.0]]), torch.tensor([[100.0, 50.0, 0.0]])
    assert mape_loss(pred, target).item() == pytest.approx((0.1 + 0.1 + 0.0) / 3)
    assert mape_loss(pred / 1000, target / 1000).item() == pytest.approx(mape_loss(pred, target).item(), rel=1e-5)
    pred.requires_grad_(True)
    mape_loss(pred, target).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[0, 2] == 0


@pytest.mark.parametrize("kind", ["mae", "huber", "mape"])
def test_a_forecaster_trains_on_its_loss_and_records_it(kind, tmp_path):
    values = 50 + 10 * np.sin(np.arange(60) / 2.0)
    model = Forecaster(loss=kind, **TINY, **({"scaler": "mean"} if kind == "mape" else {})).fit(values)
    task = model.task
    x, y = task.x_train[:8], task.y_train[:8]  # a fixed batch of the training windows (scaled)
    loss = task.loss(model.net, (x, y))  # what the training step minimises
    with torch.no_grad():
        pred = model.net(x)[0]
    assert loss.item() == pytest.approx(by_hand(kind, pred, y), rel=1e-6)
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["series"]["loss"] == kind
    again = seqtext.load(tmp_path / "m")
    assert again.settings.series.loss == kind and again.net.loss_kind == kind
    np.testing.assert_allclose(again.predict(history=values), model.predict(history=values), rtol=1e-6)


def test_the_default_is_mse_and_an_old_directory_without_the_key_loads_as_mse():
    assert Forecaster().settings.series.loss == "mse"
    assert "loss" not in json.loads((FIXTURES / "series-v1" / "config.json").read_text())["series"]
    old = seqtext.load(FIXTURES / "series-v1")
    assert old.settings.series.loss == "mse" and old.net.loss_kind == "mse"


def test_a_bad_loss_is_refused():
    with pytest.raises(ConfigError, match="loss"):
        Forecaster(loss="l2")


@pytest.mark.parametrize("options", [{}, {"scaler": "minmax"}, {"scaler": "mean", "log": True},
                                     {"scaler": "none", "log1p": True}])
def test_mape_needs_a_scaling_that_keeps_zero_at_zero(options):
    with pytest.raises(ConfigError, match="keeps zero at zero"):
        Forecaster(loss="mape", **options)


def test_the_cli_flag_comes_from_the_config(tmp_path):
    result = CliRunner().invoke(cli, ["forecast", "train", "--help"])
    assert result.exit_code == 0 and "--loss [mse|mae|huber|mape]" in result.output
    data = tmp_path / "s.csv"
    data.write_text("y\n" + "\n".join(str(v) for v in range(40)) + "\n")
    out = tmp_path / "model"
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--loss", "l2", "--out", str(out)])
    assert_clean_failure(result, "--loss", code=2)
    assert not out.exists()
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--loss", "mape", "--out", str(out)])
    assert_clean_failure(result, "--scaler")  # mape over z-scores would divide by values near zero
    assert not out.exists()

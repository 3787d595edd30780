"""A series model directory written by the previous release (format 1) loads and forecasts as it did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import seqtext
from seqtext.series import Forecaster

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["series"]
# the recorded figures to float32 rounding: the network runs in float32, and CPUs' kernels (AVX2, AVX-512, AMX)
# round its sums differently; a changed weight, input or formula moves them by far more
SAME = dict(rel=1e-6, abs=1e-9)
SAME_SCORE = dict(rel=1e-5, abs=1e-6)  # errors are differences of forecasts: their rounding is relatively larger
# the series scripts/make_fixtures_v1.py trained on: airline passengers, 1949-01 to 1952-12
SERIES = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170, 158,
          133, 114, 140, 145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166, 171, 180, 193, 181, 183, 218,
          230, 242, 209, 191, 172, 194]
DATES = [f"{1949 + i // 12}-{i % 12 + 1:02d}" for i in range(len(SERIES))]


@pytest.fixture(scope="module")
def old():
    return seqtext.load(FIXTURES / "series-v1")


def test_format_1_directory_loads_with_its_settings(old):
    assert isinstance(old, Forecaster)
    assert json.loads((FIXTURES / "series-v1" / "config.json").read_text())["format_version"] == 1
    assert (old.settings.core.hidden, old.settings.core.layers) == (8, 1)  # from hidden_size and num_layers
    assert (old.settings.series.window, old.settings.series.horizon, old.settings.series.log) == (12, 3, True)
    assert old.settings.series.target == "passengers" and old.settings.train.epochs == 20


def test_format_1_forecasts_and_scores_are_unchanged(old):
    assert old.predict(6).tolist() == pytest.approx(EXPECTED["predict6"], **SAME)
    metrics = old.evaluate({"month": DATES, "passengers": SERIES}, 6, season=1)  # recorded with the old default
    for key, value in EXPECTED["evaluate"].items():
        assert metrics[key] == (pytest.approx(value, **SAME_SCORE) if isinstance(value, float) else value), key


def test_format_1_forecasts_are_dated(old):
    rows = old.forecast(6)
    assert [r["date"] for r in rows] == ["1953-01", "1953-02", "1953-03", "1953-04", "1953-05", "1953-06"]
    assert [r["value"] for r in rows] == pytest.approx(EXPECTED["predict6"], **SAME)


def test_format_1_directory_saved_again_is_format_2(old, tmp_path):
    path = old.save(tmp_path / "again")
    config = json.loads((path / "config.json").read_text())
    assert config["format_version"] == 2 and config["core"]["hidden"] == 8 and "hidden_size" not in config["core"]
    assert seqtext.load(path).predict(6).tolist() == old.predict(6).tolist()


def test_format_1_directory_is_not_changed_by_loading(tmp_path):
    copy = tmp_path / "v1"
    shutil.copytree(FIXTURES / "series-v1", copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    seqtext.load(copy).predict(3)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


# ------------------------------------------- a format-2 directory whose network did not read ahead

COVARIATES = json.loads((FIXTURES / "expected.json").read_text())["series_covariates"]


@pytest.fixture(scope="module")
def before_ahead():
    """A model with a future-known covariate, calendar inputs and intervals, saved before the network read the
    covariates of the steps it forecasts (scripts/make_fixtures_covariates_v2.py)."""
    return seqtext.load(FIXTURES / "series-covariates-v2")


def test_a_directory_saved_before_reading_ahead_forecasts_as_it_did(before_ahead):
    config = json.loads((FIXTURES / "series-covariates-v2" / "config.json").read_text())
    assert "reads_ahead" not in config and before_ahead.task.ahead_columns == [] and before_ahead.net.ahead is None
    assert before_ahead.predict(3).tolist() == pytest.approx(COVARIATES["predict3"], **SAME)
    history = COVARIATES["history"]
    assert before_ahead.predict(6, history=history).tolist() == pytest.approx(COVARIATES["predict6"], **SAME)
    bands = before_ahead.predict(3, history=history, levels=[80])
    for name, values in COVARIATES["levels"].items():
        assert bands[name].tolist() == pytest.approx(values, **SAME), name
    metrics = before_ahead.evaluate(COVARIATES["full"], 6, season=1)  # recorded with the old default
    for key, value in COVARIATES["evaluate"].items():
        assert metrics[key] == (pytest.approx(value, **SAME_SCORE) if isinstance(value, float) else value), key


def test_a_directory_saved_before_reading_ahead_keeps_its_flag_when_saved_again(before_ahead, tmp_path):
    path = before_ahead.save(tmp_path / "again")
    assert json.loads((path / "config.json").read_text())["reads_ahead"] is False
    again = seqtext.load(path)
    assert again.predict(3).tolist() == before_ahead.predict(3).tolist()


def test_a_directory_saved_before_reading_ahead_exports_its_graph_unchanged(before_ahead, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    runtime = load(export(FIXTURES / "series-covariates-v2", tmp_path / "onnx"))
    assert [i.name for i in runtime.session.get_inputs()] == ["x"] and "ahead" not in runtime.manifest
    mine = runtime.predict(6, history=COVARIATES["history"])
    assert mine.tolist() == pytest.approx(COVARIATES["predict6"], rel=1e-5, abs=1e-5)
    assert runtime.predict(3).tolist() == pytest.approx(COVARIATES["predict3"], rel=1e-5, abs=1e-5)

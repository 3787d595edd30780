"""Static covariates (``static_features``): one number per series, z-scored over the training series and read at
every step; learnt, checked, stored, read off a new id's history, exported and given on the command line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import seqtext
from seqtext.cli import cli
from seqtext.errors import ConfigError, DataError, SeqtextWarning
from seqtext.series import Forecaster

from conftest import assert_clean_failure, close

SMALL = {"hidden": 8, "epochs": 2, "batch_size": 32, "device": "cpu", "seed": 0, "id": "id", "target": "value"}


def ar_series(phi: float, n: int, rng) -> np.ndarray:
    """10 + an AR(1) with coefficient ``phi`` and unit noise."""
    y, e = np.zeros(n), rng.normal(size=n)
    for i in range(1, n):
        y[i] = phi * y[i - 1] + e[i]
    return 10 + y


def panel(n_series: int = 16, n: int = 80, seed: int = 0) -> dict:
    """{id, phi, size, value}: series S0, S1, ... alternating AR(1) coefficients +0.8 and -0.8, given as the static
    column ``phi``; ``size`` is a second static column (constant per series, unrelated to the values)."""
    rng = np.random.default_rng(seed)
    table = {"id": [], "phi": [], "size": [], "value": []}
    for k in range(n_series):
        phi = 0.8 if k % 2 == 0 else -0.8
        table["id"] += [f"S{k}"] * n
        table["phi"] += [phi] * n
        table["size"] += [100 + 10 * k] * n
        table["value"] += ar_series(phi, n, rng).tolist()
    return table


def write(path, table: dict):
    cols = list(table)
    lines = [",".join(cols)] + [",".join("" if v is None else str(v) for v in row) for row in zip(*table.values())]
    path.write_text("\n".join(lines) + "\n")
    return path


def rows(table: dict, keep) -> dict:
    """The rows of ``table`` whose index passes ``keep``."""
    picked = [i for i in range(len(table["id"])) if keep(i)]
    return {k: [v[i] for i in picked] for k, v in table.items()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small global model with two static columns, an id embedding and calibrated intervals, saved."""
    model = Forecaster(window=3, horizon=2, id_embed=2, calibrate=4, static_features=["phi", "size"], **SMALL)
    model.fit(panel(n_series=6, n=40))
    return model, model.save(tmp_path_factory.mktemp("static") / "model")


# ------------------------------------------------------------------------- learning


def test_a_model_with_the_static_covariate_learns_what_the_window_cannot_tell():
    """A window of one value cannot tell an AR(1) of +0.8 from one of -0.8: only the static column can."""
    data = panel()
    scores = {}
    for name, static in (("without", []), ("with", ["phi"])):
        model = Forecaster(window=1, horizon=1, level="none", hidden=16, epochs=60, patience=60, batch_size=32,
                           seed=0, device="cpu", calibrate=0, id="id", target="value", static_features=static)
        model.fit(data, holdout=20)
        scores[name] = model.evaluate(data, 20, one_step=True)["mae"]  # the last 20 values of each of 16 series
    assert scores["with"] < 0.8 * scores["without"], scores
    assert scores["with"] < 0.9  # unit noise: the best forecast's MAE is about 0.8
    # a series unseen in training brings its static value in its history rows, and the model uses it
    history = {"id": ["NEW"] * 40, "phi": [0.8] * 40, "size": [0] * 40,
               "value": ar_series(0.8, 40, np.random.default_rng(9)).tolist()}
    history["value"][-1] = 13.0  # well above the series' level
    up = model.predict(1, history)["NEW"][0]
    down = model.predict(1, {**history, "phi": [-0.8] * 40})["NEW"][0]
    level = np.mean(history["value"])
    assert up > level + 1 and down < level - 1, (up, down, level)


def test_static_inputs_are_z_scored_over_the_training_series(small):
    model, _ = small
    table = panel(n_series=6, n=40)
    sizes = np.array(table["size"][::40], dtype=float)
    assert model.task.static_scaler.center.tolist() == pytest.approx([0.0, sizes.mean()])
    assert model.task.static_scaler.scale.tolist() == pytest.approx([0.8, sizes.std()])
    assert model.task.inputs == 1 + 2  # target and two static columns
    item = model.read_series(table)[5][1]
    scaled = model.task.scale(item, item.n, "S5")  # (n, 3)
    assert np.all(scaled[:, 1] == -1.0) and np.all(scaled[:, 2] == pytest.approx((150 - sizes.mean()) / sizes.std()))


def test_a_single_series_takes_its_static_columns_as_constants():
    rng = np.random.default_rng(0)
    table = {"value": ar_series(0.5, 50, rng).tolist(), "size": [3] * 50}
    model = Forecaster(window=4, horizon=2, hidden=8, epochs=2, seed=0, device="cpu", calibrate=0,
                       static_features=["size"], target="value").fit(table)
    assert model.task.static_scaler.center.tolist() == [3.0] and model.tail["static"] == [3.0]
    assert model.predict(5).shape == (5,)  # rolled out: the static value is known for every step
    with pytest.raises(DataError, match="also reads the covariates size"):
        model.predict(2, list(range(10)))


# ------------------------------------------------------------------------- model directory


def test_recorded_in_config_and_stored_state_and_loaded(small):
    model, path = small
    config = json.loads((path / "config.json").read_text())
    assert config["series"]["static_features"] == ["phi", "size"]
    assert [s["static"] for s in config["tail"]["series"]][:2] == [[0.8, 100.0], [-0.8, 110.0]]
    stored = json.loads((path / "scaler.json").read_text())
    assert stored["static"]["center"] == pytest.approx([0.0, 125.0])
    again = seqtext.load(path)
    assert again.settings.series.static_features == ["phi", "size"]
    for key, values in model.predict(5).items():  # no future table: static values are the series' own
        np.testing.assert_array_equal(values, again.predict(5)[key])
    table = panel(n_series=6, n=40)
    assert again.evaluate(table, 4)["mae"] == pytest.approx(model.evaluate(table, 4)["mae"])
    backtest = again.backtest(table, steps=2, stride=8)
    assert backtest["mae"] == pytest.approx(model.backtest(table, steps=2, stride=8)["mae"]) and backtest["origins"] > 6


def test_a_directory_whose_static_state_is_missing_is_refused(small, tmp_path):
    _, path = small
    copy = shutil.copytree(path, tmp_path / "broken")
    stored = json.loads((copy / "scaler.json").read_text())
    del stored["static"]
    (copy / "scaler.json").write_text(json.dumps(stored))
    with pytest.raises(seqtext.errors.CheckpointError, match="scaler.json is corrupted"):
        seqtext.load(copy)


# ------------------------------------------------------------------------- bad input


def test_a_static_covariate_that_varies_within_an_id_is_refused_naming_it(tmp_path):
    table = panel(n_series=4, n=30)
    table["size"][70] = 999  # row 70 of the table, S2's 11th (line 72 of the file); S2's size is 120
    varies = r"column 'size' varies within series S2 of the table \(120 on row 60, 999 on row 70\)"
    with pytest.raises(DataError, match=varies):
        Forecaster(window=3, static_features=["size"], **SMALL).fit(table)
    out = tmp_path / "m"
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(write(tmp_path / "p.csv", table)), "--id",
                                      "id", "--target", "value", "--static-features", "size", "--window", "3",
                                      "--epochs", "1", "--quiet", "--out", str(out)])
    assert_clean_failure(result, "static column 'size' varies within series S2 of", "p.csv (120 on line 62, 999 on "
                         "line 72)",
                         "--features or --past-features")
    assert not out.exists()


def test_missing_blank_and_non_numeric_static_columns(small, tmp_path):
    model, _ = small
    table = panel(n_series=3, n=30)
    with pytest.raises(DataError, match="has no static column 'store_size'"):
        Forecaster(window=3, static_features=["store_size"], **SMALL).fit(table)
    bad = {**table, "size": list(table["size"])}
    bad["size"][31] = "large"
    non_numeric = r"static column 'size' has a non-numeric value 'large' on row 31 of the table \(series S1\)"
    with pytest.raises(DataError, match=non_numeric):
        Forecaster(window=3, static_features=["size"], **SMALL).fit(bad)
    blank = {**table, "size": [None] * 30 + table["size"][30:]}
    with pytest.raises(DataError, match="static column 'size' has no value for series S0"):
        Forecaster(window=3, static_features=["size"], **SMALL).fit(blank)
    # a blank cell in a series that has its value elsewhere (rows of future covariates) is fine
    gaps = {**table, "size": [None] + table["size"][1:]}
    assert model.read_series(gaps)[0][1].static.tolist() == [0.8, 100.0]
    history = {k: v for k, v in table.items() if k != "phi"}
    with pytest.raises(DataError, match="this model reads the static column 'phi', which the history lacks"):
        model.predict(2, history)
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(small[1]), "--csv",
                                      str(write(tmp_path / "h.csv", history))])
    assert_clean_failure(result, "this model reads the static column 'phi', which", "h.csv lacks",
                         "give it, one value per series")
    # at forecast time the model's roles are fixed: the advice is to give one value, not to train differently
    varying = {**table, "size": list(table["size"])}
    varying["size"][35] = 7.0  # S1's sixth row (line 37)
    result = CliRunner().invoke(cli, ["forecast", "predict", "--model", str(small[1]), "--csv",
                                      str(write(tmp_path / "v.csv", varying))])
    assert_clean_failure(result, "static column 'size' varies within series S1 of", "v.csv (", "on line 37)",
                         "one value per series, as in training")
    assert "--features" not in result.output and "(series S1)" not in result.output


def test_a_column_in_two_roles_is_refused(tmp_path):
    for roles in ({"features": ["size"]}, {"past_features": ["size"]}, {"id": "size"}, {"target": "size"}):
        with pytest.raises(ConfigError, match="column 'size' of static_features is also .* one role"):
            Forecaster(static_features=["size"], **roles)
    data = write(tmp_path / "p.csv", {"a": list(range(30)), "value": list(range(30))})
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--out", str(tmp_path / "m"),
                                      "--features", "a", "--static-features", "a"])
    assert_clean_failure(result, "column 'a' of --static-features is also")
    assert not (tmp_path / "m").exists()


def test_actual_values_with_other_static_values_are_refused(small):
    model, _ = small
    table = panel(n_series=6, n=40)
    history, later = rows(table, lambda i: i % 40 < 36), rows(table, lambda i: i % 40 >= 36)
    assert model.evaluate(history, actuals=later)["series"] == 6
    later["size"] = [v + 1 for v in later["size"]]
    with pytest.raises(DataError, match="differ from those of its history"):
        model.evaluate(history, actuals=later)


# ------------------------------------------------------------------------- export and command line


def test_export_forecasts_equal_torchs(small, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    model, path = small
    runtime = load(export(path, tmp_path / "onnx"))
    assert runtime.inputs == 3 and runtime.task.static_scaler is not None
    table = panel(n_series=6, n=40)
    history = rows(table, lambda i: i < 40 or i >= 200)  # S0 and S5
    history["id"] = [k if k == "S0" else "NEW" for k in history["id"]]  # an unseen id with its own static values
    mine = runtime.forecast(4, history, levels=[80])  # rolled out past the horizon of 2
    theirs = model.forecast(4, history, levels=[80])
    assert [r["id"] for r in mine] == [r["id"] for r in theirs] == ["S0"] * 4 + ["NEW"] * 4
    for name in ("value", "lower_80", "upper_80"):
        close([r[name] for r in mine], [r[name] for r in theirs])
    for key, values in model.predict(3).items():  # from the stored tails, static values included
        close(runtime.predict(3)[key], values)
    close(runtime.evaluate(table, 4)["mae"], model.evaluate(table, 4)["mae"])


def test_cli_flag_round_trip(small, tmp_path):
    data = write(tmp_path / "p.csv", panel(n_series=4, n=30))
    runner = CliRunner()
    out = tmp_path / "m"
    args = ["forecast", "train", "--csv", str(data), "--id", "id", "--target", "value", "--static-features",
            "phi,size", "--window", "3", "--horizon", "2", "--calibrate", "0", "--hidden", "8", "--epochs", "2"]
    result = runner.invoke(cli, [*args, "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    trained = seqtext.load(out)
    assert trained.settings.series.static_features == ["phi", "size"]
    result = runner.invoke(cli, ["forecast", "predict", "--model", str(out), "--steps", "3", "--json"])
    assert result.exit_code == 0, result.output
    forecast = json.loads(result.stdout)["forecast"]
    assert [r["id"] for r in forecast] == ["S0"] * 3 + ["S1"] * 3 + ["S2"] * 3 + ["S3"] * 3
    expected = trained.predict(3)
    close([r["value"] for r in forecast], np.concatenate([expected[k] for k in ("S0", "S1", "S2", "S3")]))
    result = runner.invoke(cli, ["forecast", "evaluate", "--model", str(out), "--csv", str(data), "--holdout", "2",
                                 "--baselines", "naive", "--json"])
    assert result.exit_code == 0, result.output
    close(json.loads(result.stdout)["rollout"]["mae"], trained.evaluate(str(data), 2)["mae"])
    again = tmp_path / "again"  # replayed from the model's config.json
    result = runner.invoke(cli, ["forecast", "train", "--config", str(out / "config.json"), "--csv", str(data),
                                 "--quiet", "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert json.loads((again / "config.json").read_text())["series"]["static_features"] == ["phi", "size"]
    assert "--static-features A,B" in runner.invoke(cli, ["forecast", "train", "--help"]).output


def test_served_forecasts_read_static_values_from_the_rows(small, tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("onnxruntime")
    from fastapi.testclient import TestClient

    from seqtext.export.onnx import export
    from seqtext.export.registry import Registry, parse_models
    from seqtext.export.serve import create_app

    model, path = small
    table = rows(panel(n_series=6, n=40), lambda i: i >= 200)  # S5
    table["id"] = ["NEW"] * 40
    body = [dict(zip(table, values)) for values in zip(*table.values())]
    expected = model.forecast(2, table, levels=[80])
    registry = Registry(parse_models([f"static={export(path, tmp_path / 'onnx')}"]))
    with TestClient(create_app(registry, load_now=False)) as client:
        registry.load_all()
        answer = client.post("/v1/forecast", json={"model": "static", "rows": body, "levels": [80]})
        assert answer.status_code == 200, answer.text
        got = answer.json()["rows"]
        assert [r["id"] for r in got] == ["NEW", "NEW"]
        for key in ("value", "lower_80", "upper_80"):
            close([r[key] for r in got], [r[key] for r in expected])
        del body[-1]["phi"], body[0]["phi"]  # blank cells: the value is read off the series' other rows
        blanks = client.post("/v1/forecast", json={"model": "static", "rows": body, "levels": [80]})
        assert blanks.status_code == 200, blanks.text
        for key in ("value", "lower_80", "upper_80"):
            close([r[key] for r in blanks.json()["rows"]], [r[key] for r in expected])
        for row in body:
            row.pop("phi", None)
        missing = client.post("/v1/forecast", json={"model": "static", "rows": body})
        assert missing.status_code == 422 and "reads the static column 'phi'" in missing.json()["error"]


def test_a_static_column_with_one_value_over_the_training_series_is_warned_of(tmp_path):
    same = panel(n_series=3, n=30)
    same["size"] = [50.0] * len(same["size"])
    with pytest.warns(SeqtextWarning, match=r"static column 'size' tells the model nothing: all 3 training series "
                                            r"have the same value \(50\), which scales to 0"):
        Forecaster(window=3, static_features=["size"], calibrate=0, **SMALL).fit(same)
    single = {k: v[:30] for k, v in panel(n_series=3, n=30).items() if k != "id"}
    data = write(tmp_path / "one.csv", single)
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(data), "--target", "value",
                                      "--static-features", "size", "--window", "3", "--epochs", "1", "--hidden", "8",
                                      "--calibrate", "0", "--quiet", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "warning: static column 'size' tells the model nothing: with one training series it has one value " \
           "(100), which scales to 0; static covariates tell series of many (--id) apart, so leave it out of " \
           "--static-features." in result.output


def test_a_static_column_not_found_is_refused_naming_only_the_columns_that_could_be_one():
    """The id, target, date and covariates cannot be static: the refusal lists the other columns, or says there
    are none, never the date (or the target) as if it could be one."""
    table = panel(n_series=2, n=30)
    dated = {**table, "month": [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(30)] * 2,
             "price": [float(i % 4) for i in range(60)]}
    with pytest.raises(DataError) as info:
        Forecaster(window=3, **{**SMALL, "date": "month", "features": ["price"], "static_features": ["store"]}
                   ).fit(dated)
    assert str(info.value) == ("the table has no static column 'store' (it has 'phi', 'size' besides the id, target, "
                               "date and covariates); check static_features.")
    bare = {"id": table["id"], "t": list(range(30)) * 2, "value": table["value"]}
    with pytest.raises(DataError) as info:
        Forecaster(window=3, **{**SMALL, "date": "t", "static_features": ["size"]}).fit(bare)
    assert str(info.value) == ("the table has no static column 'size' (it has no column besides the id, target and "
                               "date); check static_features.")

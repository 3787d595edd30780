"""``seqtext serve`` for series, classify and tag models, torch and exported alike: /v1/forecast (history or rows
with covariates, intervals), /v1/classify, /v1/tag, their errors, and one real uvicorn process."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import close, headless_page, needs_chromium, serving, serving_app

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")
from fastapi.testclient import TestClient  # noqa: E402

from seqtext import Forecaster, SequenceTagger, TextClassifier  # noqa: E402
from seqtext.export.onnx import export  # noqa: E402
from seqtext.export.registry import Registry, parse_models  # noqa: E402
from seqtext.export.serve import create_app  # noqa: E402

GOOD = ["a gorgeous witty film", "wonderful and moving", "a delight", "i loved it"]
BAD = ["a dull mess", "boring and long", "awful script", "i hated it"]
TAGGED = [(["The", "cat", "sat", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
          (["A", "dog", "ran", "home", "."], ["DET", "NOUN", "VERB", "ADV", "PUNCT"])]


def month(i: int) -> str:
    return f"{2000 + i // 12}-{i % 12 + 1:02d}"


def sales_rows(n: int, future: int = 0) -> list[dict]:
    """Row objects, as a client sends them: month, sales, price; ``future`` rows carry only the covariate."""
    rows = [{"month": month(i), "sales": round(60 + 12 * np.sin(i / 3) + 0.4 * i, 3), "price": round(np.cos(i / 4), 4)}
            for i in range(n + future)]
    for row in rows[n:]:
        del row["sales"]
    return rows


def columns(rows: list[dict]) -> dict:
    return {k: [r.get(k) for r in rows] for k in ("month", "sales", "price")}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-kinds")
    sales = Forecaster(window=8, horizon=3, hidden=8, epochs=2, seed=0, device="cpu", calibrate=12,
                       features=["price"], target="sales", date="month").fit(columns(sales_rows(80)))
    plain = Forecaster(window=6, horizon=2, hidden=8, epochs=2, seed=0, device="cpu", calibrate=0).fit(
        [float(i % 7) for i in range(60)])
    banded = Forecaster(window=6, horizon=2, hidden=8, epochs=2, seed=0, device="cpu", calibrate=10).fit(
        [10 + float(i % 7) for i in range(60)])
    clf = TextClassifier(epochs=2, hidden=8, embed=8, seed=0, device="cpu")
    clf.fit([(t, "good") for t in GOOD] * 4 + [(t, "bad") for t in BAD] * 4)
    tagger = SequenceTagger(epochs=2, hidden=8, embed=8, chars=8, seed=0, device="cpu").fit(TAGGED * 5)
    dirs = {name: m.save(root / name) for name, m in
            (("sales", sales), ("plain", plain), ("clf", clf), ("tagger", tagger))}
    exported = {f"{name}-onnx": export(d, root / f"{name}-onnx") for name, d in dirs.items()}
    exported["banded-onnx"] = export(banded.save(root / "banded"), root / "banded-onnx")
    shops = Forecaster(window=6, horizon=2, hidden=8, epochs=2, seed=0, device="cpu", calibrate=0, id="shop",
                       target="sales").fit({"shop": ["a"] * 40 + ["b"] * 40,
                                            "sales": [10 + i % 7 for i in range(40)] + [50 - i % 5 for i in range(40)]})
    exported["shops-onnx"] = export(shops.save(root / "shops"), root / "shops-onnx")
    return {"sales": sales, "clf": clf, "tagger": tagger, "shops": shops}, {**dirs, **exported}


@pytest.fixture(scope="module")
def client(models):
    _, paths = models
    registry = Registry(parse_models([f"{name}={path}" for name, path in paths.items()
                                      if name not in ("banded-onnx", "shops-onnx")]))
    with TestClient(create_app(registry, load_now=False)) as c:
        registry.load_all()
        yield c


def test_models_list_every_kind_with_what_a_client_needs(client):
    listed = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert {n: (m["kind"], m["exported"]) for n, m in listed.items()} == {
        "sales": ("series", False), "plain": ("series", False), "clf": ("classify", False), "tagger": ("tag", False),
        "sales-onnx": ("series", True), "plain-onnx": ("series", True), "clf-onnx": ("classify", True),
        "tagger-onnx": ("tag", True)}
    assert listed["sales-onnx"]["intervals"] is True and listed["plain-onnx"]["intervals"] is False
    assert listed["clf-onnx"]["labels"] == ["bad", "good"] and "NOUN" in listed["tagger-onnx"]["tags"]
    assert listed["sales-onnx"]["settings"]["series"]["window"] == 8


def test_forecast_with_covariates_and_intervals_equals_the_torch_forecaster(client, models):
    sales = models[0]["sales"]
    body = {"rows": sales_rows(60, future=5), "steps": 5}  # a roll-out beyond the horizon, covariates ahead
    expected = sales.forecast(5, history=columns(sales_rows(60, future=5)), levels=[80, 95])
    for name in ("sales", "sales-onnx"):
        r = client.post("/v1/forecast", json={"model": name, **body})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["levels"] == [80, 95]  # a calibrated model: 80 and 95 unless asked otherwise
        assert [row["date"] for row in answer["rows"]] == [month(60 + k) for k in range(5)]
        for key in ("forecast", "lower_80", "upper_80", "lower_95", "upper_95"):
            close([row[key] for row in answer["rows"]], [row[key] for row in expected])
    r = client.post("/v1/forecast", json={"model": "sales-onnx", **body, "levels": [50]}).json()
    assert r["levels"] == [50] and set(r["rows"][0]) == {"step", "date", "forecast", "lower_50", "upper_50", "value"}
    near = [99.99999999, 99.999999999]  # two levels that six digits would both call 100: each keeps its own bounds
    for name in ("sales", "sales-onnx"):
        r = client.post("/v1/forecast", json={"model": name, **body, "levels": near}).json()
        row = r["rows"][0]
        assert set(row) == {"step", "date", "forecast", "value", "lower_99.99999999", "upper_99.99999999",
                            "lower_99.999999999", "upper_99.999999999"}, row
        assert row["lower_99.999999999"] <= row["lower_99.99999999"] <= row["forecast"] <= row["upper_99.99999999"]
    r = client.post("/v1/forecast", json={"model": "sales-onnx", **body, "levels": []}).json()
    assert set(r["rows"][0]) == {"step", "date", "forecast", "value"}
    far = client.post("/v1/forecast", json={"model": "sales-onnx", "rows": sales_rows(60, future=13), "steps": 13})
    assert far.status_code == 200 and far.json()["levels"] == []  # beyond the 12 calibrated steps: no intervals
    far = client.post("/v1/forecast", json={"model": "sales-onnx", "rows": sales_rows(60, future=13), "steps": 13,
                                            "levels": [80]})
    assert far.status_code == 422 and "calibrated for up to 12 steps" in far.json()["error"]


def test_rows_are_numbered_from_0_by_the_server_the_library_and_the_request_checks_alike(client, models):
    """The row a bad cell is in has one number wherever the error comes from: the server's own check of JSON types,
    pydantic's check of the request's shape, and the library reading the same rows (a list's index, from 0)."""
    sales = models[0]["sales"]
    for name in ("sales", "sales-onnx"):
        typed = sales_rows(40, future=2)
        typed[6]["price"] = "0.5"
        r = client.post("/v1/forecast", json={"model": name, "rows": typed, "steps": 2})
        assert r.status_code == 422 and r.json()["error"].startswith("row 6 of 'rows': column 'price'"), r.text
        shaped = sales_rows(40, future=2)
        shaped[6] = 5
        r = client.post("/v1/forecast", json={"model": name, "rows": shaped, "steps": 2})
        assert r.status_code == 422 and r.json()["error"].startswith("field 'rows.6':"), r.text
        gap = sales_rows(40, future=2)
        gap[6]["sales"] = None  # a gap the model (trained without fill) refuses, found by the library
        r = client.post("/v1/forecast", json={"model": name, "rows": gap, "steps": 2})
        assert r.status_code == 422 and "missing or non-finite value at row 6 of " in r.json()["error"], r.text
    with pytest.raises(Exception, match="missing or non-finite value at row 6 of "):
        sales.predict(2, history=columns(gap))


def test_forecast_rows_take_json_numbers_only_in_the_columns_read_as_numbers(client):
    """A string or a boolean in the target or a covariate is refused, naming the row and column (the table reader
    would convert "5" and true); the date column holds strings, and a blank is missing, as null is."""
    for name in ("sales", "sales-onnx"):
        for column, value in (("sales", "5"), ("sales", True), ("price", "0.5"), ("price", False)):
            rows = sales_rows(40, future=2)
            rows[6][column] = value
            r = client.post("/v1/forecast", json={"model": name, "rows": rows, "steps": 2})
            assert r.status_code == 422 and r.json()["error"] == (
                f"row 6 of 'rows': column {column!r} holds {json.dumps(value)}, not a number; give its numbers as "
                "JSON numbers (null for a missing value)."), r.text
        rows = sales_rows(40, future=2)
        rows[-1]["sales"], rows[-2]["sales"] = "", "NA"  # the steps ahead, blank, or marked missing as a CSV may
        r = client.post("/v1/forecast", json={"model": name, "rows": rows, "steps": 2})
        assert r.status_code == 200 and [row["date"] for row in r.json()["rows"]] == [month(40), month(41)], r.text
    for name in ("sales", "sales-onnx"):  # a list or an object is no value of any column, the date's included
        for column, value, what in (("sales", [5], "not a number"), ("price", {"p": 1}, "not a number"),
                                    ("month", ["2000-03"], "not a date"), ("month", True, "not a date")):
            rows = sales_rows(40, future=2)
            rows[2][column] = value
            r = client.post("/v1/forecast", json={"model": name, "rows": rows, "steps": 2})
            assert r.status_code == 422 and r.json()["error"].startswith(
                f"row 2 of 'rows': column {column!r} holds {json.dumps(value)}, {what}; give "), r.text
    for name in ("sales", "sales-onnx"):  # an integer past a float's range is infinite, as 1e400 is (it was quoted
        rows = sales_rows(40, future=2)      # whole, 400 digits, as "a non-numeric value")
        rows[5]["price"] = -10 ** 400
        r = client.post("/v1/forecast", json={"model": name, "rows": rows, "steps": 2})
        assert r.status_code == 422 and r.json()["error"] == (
            "column 'price' has a missing or non-finite value at row 5 of 'rows'; fix it, or turn on 'fill' to "
            "interpolate gaps."), r.text
    plain = [{"value": float(i % 7)} for i in range(20)]  # a model whose target has no name: every column but
    plain[3]["value"] = "3"                                # the date and the id is read as numbers
    r = client.post("/v1/forecast", json={"model": "plain-onnx", "rows": plain})
    assert r.status_code == 422 and "row 3 of 'rows': column 'value' holds \"3\"" in r.json()["error"], r.text


def test_forecast_of_a_plain_history_agrees_between_torch_and_onnx(client):
    body = {"history": [float(i % 7) for i in range(20)], "steps": 5}
    torch_rows = client.post("/v1/forecast", json={"model": "plain", **body}).json()
    onnx_rows = client.post("/v1/forecast", json={"model": "plain-onnx", **body}).json()
    assert onnx_rows["levels"] == [] and [r["step"] for r in onnx_rows["rows"]] == [1, 2, 3, 4, 5]
    close([r["forecast"] for r in onnx_rows["rows"]], [r["forecast"] for r in torch_rows["rows"]])


def test_forecast_names_the_series_of_a_many_series_model_by_id(models, tmp_path):
    rng = np.random.default_rng(1)
    ids, values = [], []
    for k, level in enumerate((10.0, 50.0, 200.0)):
        ids += [f"S{k}"] * 40
        values += (level + level * 0.1 * np.sin(np.arange(40) / 2 + k) + rng.normal(size=40)).tolist()
    glob = Forecaster(window=6, horizon=2, hidden=8, epochs=2, seed=0, device="cpu", id="id", id_embed=3,
                      target="value", calibrate=0).fit({"id": ids, "value": values})
    path = glob.save(tmp_path / "global")
    specs = [f"global={path}", f"global-onnx={export(path, tmp_path / 'global-onnx')}",
             f"plain={models[1]['plain']}"]
    registry = Registry(parse_models(specs))
    history = values[40:60]  # S1's values
    with TestClient(create_app(registry, load_now=False)) as c:
        registry.load_all()
        answers = {}
        for series in ("S1", "S2", "NEW"):
            expected = glob.forecast(3, history={"value": history, "id": [series] * 20})
            for name in ("global", "global-onnx"):
                r = c.post("/v1/forecast", json={"model": name, "history": history, "steps": 3, "id": series})
                assert r.status_code == 200, r.text
                got = [row["forecast"] for row in r.json()["rows"]]
                close(got, [row["forecast"] for row in expected])
                answers.setdefault(series, got)  # torch's
        assert answers["S1"] != answers["S2"]  # the id's embedding is used, not only the values
        rows = [{"value": v, "id": "S1"} for v in history]
        r = c.post("/v1/forecast", json={"model": "global", "rows": rows, "steps": 3, "id": "S1"})
        assert r.status_code == 200 and [row["forecast"] for row in r.json()["rows"]] == answers["S1"]
        r = c.post("/v1/forecast", json={"model": "global", "rows": rows, "id": "S2"})
        assert r.status_code == 422 and "'id' is 'S2' but the rows' 'id' column says S1" in r.json()["error"]
        short = rows + [{"value": 3.0, "id": "S9"}, {"value": 4.0, "id": "S9"}]  # S9: fewer values than the window
        for name in ("global", "global-onnx"):  # answered for S1, and the answer says why S9 has no rows
            r = c.post("/v1/forecast", json={"model": name, "rows": short, "steps": 3})
            assert r.status_code == 200 and {row["id"] for row in r.json()["rows"]} == {"S1"}, r.text
            assert r.json()["warnings"] == ["1 of the 2 series has fewer values than the window of 6 and is not "
                                            "forecast: S9."], r.text
            r = c.post("/v1/forecast", json={"model": name, "rows": rows, "steps": 3})
            assert r.status_code == 200 and r.json()["warnings"] == [], r.text
            gap = rows + [{"value": None if i == 5 else v, "id": "S2"} for i, v in enumerate(values[80:100])]
            r = c.post("/v1/forecast", json={"model": name, "rows": gap, "steps": 3})  # rows[25], S2's 6th row
            assert r.status_code == 422 and r.json()["error"].startswith(
                "column 'value' has a missing or non-finite value at row 25 of 'rows' (series S2);"), r.text
            numbers = history[:4] + [None] + history[5:]  # numbers, with 'id': no column of the request's to name
            r = c.post("/v1/forecast", json={"model": name, "history": numbers, "steps": 3, "id": "S1"})
            assert r.status_code == 422 and r.json()["error"] == (
                "'history' (series S1) has a missing or non-finite value at row 4; fix it, or turn on 'fill' to "
                "interpolate gaps."), r.text
        for name in ("global", "global-onnx"):  # an id that is a list is refused, not read as the series "['S1']"
            listed = [{"value": v, "id": ["S1"] if i == 4 else "S1"} for i, v in enumerate(history)]
            r = c.post("/v1/forecast", json={"model": name, "rows": listed, "steps": 3})
            assert r.status_code == 422 and r.json()["error"] == (
                "row 4 of 'rows': column 'id' holds [\"S1\"], not a series name; give each row's series name as a "
                "JSON string."), r.text
        r = c.post("/v1/forecast", json={"model": "plain", "history": history, "id": "S1"})
        assert r.status_code == 422 and "forecasts one series" in r.json()["error"]
        for name in ("global", "global-onnx"):  # the request's own fields are named, not the table's or Python's
            r = c.post("/v1/forecast", json={"model": name, "history": history})
            assert r.status_code == 422 and r.json()["error"] == (
                "this model forecasts many series; name the series of this history with 'id' (or send 'rows' with "
                "its column 'id').")
            r = c.post("/v1/forecast", json={"model": name, "history": history, "id": " "})
            assert r.status_code == 422 and r.json()["error"] == "'id' is blank; give the name of the series."
        assert c.get("/health").json() == {"status": "ok"}  # and it keeps serving


def test_classify_and_tag_agree_between_torch_and_onnx(client, models):
    clf, tagger = models[0]["clf"], models[0]["tagger"]
    texts = ["a delight", "boring and long", "a gorgeous mess"]
    for name in ("clf", "clf-onnx"):
        results = client.post("/v1/classify", json={"model": name, "texts": texts}).json()["results"]
        assert [r["label"] for r in results] == clf.predict(texts)
        close([r["probabilities"]["good"] for r in results], [p["good"] for p in clf.predict_proba(texts)])
        assert all(r["probability"] == max(r["probabilities"].values()) for r in results)
    sentences = ["The dog sat.", ["A", "cat", "ran", "home"]]
    for name in ("tagger", "tagger-onnx"):
        results = client.post("/v1/tag", json={"model": name, "sentences": sentences}).json()["results"]
        assert [r["words"] for r in results] == [["The", "dog", "sat", "."], ["A", "cat", "ran", "home"]]
        assert [r["tags"] for r in results] == tagger.predict(sentences)
        assert all(0 < p <= 1 for r in results for p in r["probabilities"])


@pytest.mark.parametrize("path,body,status,fragment", [
    ("/v1/forecast", {"model": "plain-onnx", "history": [1.0, 2.0, 3.0]}, 422, "give at least 6 values"),
    ("/v1/forecast", {"model": "sales-onnx", "history": [1.0] * 20}, 422, "also reads the covariates price"),
    ("/v1/forecast", {"model": "sales-onnx", "rows": [{"sales": "lots", "price": 1}] * 10}, 422,
     "row 0 of 'rows': column 'sales' holds \"lots\", not a number; give its numbers as JSON numbers"),
    ("/v1/forecast", {"model": "sales-onnx", "rows": sales_rows(40), "steps": 5}, 422, "covariates price"),
    ("/v1/forecast", {"model": "plain-onnx", "history": [1.0] * 20, "levels": [80]}, 422, "no calibrated intervals"),
    ("/v1/forecast", {"model": "sales-onnx", "history": [1.0] * 20, "levels": [150]}, 422, "field 'levels'"),
    ("/v1/forecast", {"model": "sales-onnx", "history": [1.0] * 20, "levels": [95, 80, 80.0]}, 422,
     "field 'levels': the level 80 is given twice; give each level once."),
    ("/v1/forecast", {"model": "sales-onnx", "history": [1.0], "rows": [{"sales": 1}]}, 422, "one of them"),
    ("/v1/forecast", {"model": "clf-onnx", "history": [1.0] * 20}, 422,
     "is a classify model, not a series model; /v1/classify answers it"),
    ("/v1/classify", {"model": "clf-onnx"}, 422, "field 'texts'"),
    ("/v1/classify", {"model": "clf-onnx", "texts": []}, 422, "field 'texts'"),
    ("/v1/classify", {"model": "clf-onnx", "texts": ["fine", "  "]}, 422, "field 'texts': texts[1] must hold 1 to"),
    ("/v1/classify", {"model": "clf-onnx", "texts": ["fine", 3]}, 422, "field 'texts.1'"),
    ("/v1/classify", {"model": "tagger-onnx", "texts": ["fine"]}, 422,
     "is a tag model, not a classify model; /v1/tag answers"),
    ("/v1/classify", {"texts": ["fine"]}, 422, "give the model's name"),
    ("/v1/tag", {"model": "nope", "sentences": ["The dog"]}, 404, "no model named 'nope'"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": [[]]}, 422, "sentences[0] must hold"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": ["a " * 501]}, 422, "sentences[0] must hold 1 to 500"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": ["a," * 251]}, 422, "sentences[0] must hold 1 to 500"),  # 502
    ("/v1/tag", {"model": "tagger-onnx", "sentences": ["The dog", "  "]}, 422, "sentences[1] must hold"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": ["The", ["dog", " "]]}, 422, "sentences[1] must hold"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": "The dog"}, 422, "field 'sentences'"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": [["a", 5]]}, 422, "field 'sentences.0.1': input should be a "
                                                                        "valid string"),
    ("/v1/tag", {"model": "tagger-onnx", "sentences": [5]}, 422, "field 'sentences.0': "),  # not 'sentences.0.str'
    ("/v1/forecast", {"model": "plain-onnx", "rows": [{}, {}]}, 422, "'rows' has no column 'value' (it has no "
                                                                       "columns)"),  # it said "(it has )"

])
def test_errors_are_one_sentence_with_the_right_status(client, path, body, status, fragment):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and fragment in r.json()["error"], r.json()
    assert "Traceback" not in r.text
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("path,raw,fragment", [
    ("/v1/classify", rb'{"model": "clf-onnx", "texts": ["\ud800 hi"]}', "field 'texts': holds a lone surrogate"),
    ("/v1/tag", rb'{"model": "tagger-onnx", "sentences": [["The", "\udc00"]]}', "field 'sentences': holds a lone"),
    ("/v1/tag", rb'{"model": "tagger-onnx", "sentences": ["The \udc00"]}', "field 'sentences': holds a lone"),
    ("/v1/forecast", rb'{"model": "sales-onnx", "rows": [{"sales": 1, "month": "\ud800"}]}', "field 'rows'"),
    ("/v1/classify", rb'{"model": "\ud800", "texts": ["ok"]}', "field 'model': holds a lone surrogate"),
])
def test_a_lone_surrogate_escaped_in_json_is_refused_not_a_crash(client, path, raw, fragment):
    """JSON may escape half of a surrogate pair, which is no character: the model would answer, and writing the
    answer would then fail (500); it is refused as invalid text instead."""
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and fragment in r.json()["error"], r.text
    assert client.post("/v1/classify", json={"model": "clf-onnx", "texts": ["fine"]}).status_code == 200


def post(base: str, path: str, body: dict):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type":
                                                                                     "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture(scope="module")
def server(models):
    """A real ``seqtext serve`` process with an exported forecaster, classifier and tagger."""
    _, paths = models
    names = ("sales-onnx", "banded-onnx", "clf-onnx", "tagger-onnx", "shops-onnx")
    with serving(*(f"{name}={paths[name]}" for name in names)) as base:
        yield base


def test_a_real_server_answers_every_exported_kind_over_the_loopback(server, models):
    sales, clf, tagger = (models[0][name] for name in ("sales", "clf", "tagger"))
    rows = sales_rows(40, future=3)  # the prices of the three months ahead, known
    status, answer = post(server, "/v1/forecast", {"model": "sales-onnx", "rows": rows, "steps": 3})
    assert status == 200, answer
    expected = sales.forecast(3, history=columns(rows), levels=[80, 95])
    for key in ("forecast", "lower_95", "upper_95"):
        close([row[key] for row in answer["rows"]], [row[key] for row in expected])
    status, answer = post(server, "/v1/forecast", {"model": "banded-onnx", "history": [1.0, 2.0]})
    assert status == 422 and "give at least 6 values" in answer["error"], answer
    status, answer = post(server, "/v1/forecast", {"history": [1.0] * 10})  # two series models: name one
    assert status == 422 and "give the model's name" in answer["error"], answer
    status, answer = post(server, "/v1/classify", {"texts": ["a delight"]})  # still serving after the errors
    assert status == 200 and answer["results"][0]["label"] == clf.predict(["a delight"])[0], answer
    close([answer["results"][0]["probabilities"]["good"]], [clf.predict_proba(["a delight"])[0]["good"]])
    status, answer = post(server, "/v1/tag", {"sentences": ["The cat sat ."]})
    assert status == 200 and answer["results"][0]["tags"] == tagger.predict(["The cat sat ."])[0], answer


@needs_chromium
def test_the_playground_classifies_tags_and_draws_a_forecast_band(server):
    with headless_page(server + "/") as page:
        page.select_option("#model", "clf-onnx")
        page.fill("#text", "a gorgeous witty film")
        page.click("#classify")
        page.wait_for_selector("#labels .label.best")
        assert page.locator("#labels .label").count() == 2 and "%" in page.inner_text("#labels")
        page.select_option("#model", "tagger-onnx")
        page.fill("#tag-sentence", "The dog sat.")
        page.click("#tag")
        page.wait_for_selector("#tagged .word")
        shown = page.locator("#tagged .word small").all_inner_texts()
        assert shown == post(server, "/v1/tag", {"model": "tagger-onnx", "sentences": ["The dog sat."]})[1][
            "results"][0]["tags"]
        page.select_option("#model", "banded-onnx")
        assert page.is_hidden("#tag-panel") and page.is_visible("#series-panel")
        page.fill("#history", ", ".join(str(10 + i % 7) for i in range(30)))
        page.click("#forecast")
        page.wait_for_selector("#chart #band", state="attached")  # the 95 % interval, shaded
        assert "95% interval" in page.inner_text("#forecast-values")
        page.select_option("#model", "sales-onnx")
        page.click("#forecast")  # a model with covariates: a plain history is refused, in one sentence
        page.wait_for_selector("#forecast-values.error")
        assert "covariates price" in page.inner_text("#forecast-values")
        assert "month, sales, price" in page.inner_text("#history-help")  # what to give instead
        rows = sales_rows(40, future=3)  # as CSV: a header, then the rows; the future ones without sales
        page.fill("#history", "month,sales,price\n" + "\n".join(
            f"{r['month']},{r.get('sales', '')},{r['price']}" for r in rows))
        page.fill("#steps", "3")
        page.click("#forecast")
        page.wait_for_selector("#forecast-values:not(.error)")
        page.wait_for_selector("#chart #band", state="attached")
        expected = post(server, "/v1/forecast", {"model": "sales-onnx", "rows": rows, "steps": 3})[1]["rows"]
        assert page.inner_text("#forecast-values").startswith(", ".join(f"{r['forecast']:.3f}" for r in expected))
        page.select_option("#model", "shops-onnx")  # many series: the id goes with the history
        assert page.is_visible("#series-id") and page.inner_text("#history-help") == ""
        for shop in ("a", "b"):
            page.fill("#history", ", ".join(str(10 + i % 7) for i in range(12)))
            page.fill("#series-id", shop)
            page.fill("#steps", "2")
            page.click("#forecast")
            expected = post(server, "/v1/forecast", {"model": "shops-onnx", "id": shop, "steps": 2,
                                                     "history": [10 + i % 7 for i in range(12)]})[1]["rows"]
            text = ", ".join(f"{r['forecast']:.3f}" for r in expected)
            page.wait_for_function(f"document.querySelector('#forecast-values').textContent.startsWith('{text}')")


@pytest.fixture(scope="module")
def char_dir(tmp_path_factory):
    """A tiny character model (a few steps of training: its spacing is what is tested, not its guesses)."""
    from seqtext import TextModel

    root = tmp_path_factory.mktemp("serve-char")
    corpus = root / "mary.txt"
    corpus.write_text("Mary rides the bicycle. John drives the car.\n" * 20, encoding="utf-8")
    model = TextModel(tokenizer="char", mode="stream", embed=8, hidden=16, bptt=16, batch_size=4, epochs=1,
                      seed=0, device="cpu").fit(corpus)
    return model.save(root / "char")


@needs_chromium
def test_a_page_opened_while_the_models_load_has_their_settings_and_then_what_loading_adds(models, char_dir):
    """/v1/models gives each model's settings from the start and says whether it is loaded; the page reads the
    list again until every model is: a many-series model's id field shows at once, a character model's
    suggestion is joined without a space, and the loaded models' details arrive without a reload.  A character
    model's scored tokens are shown as the sentence wrote them, without a space after each."""
    registry = Registry(parse_models([f"shops={models[1]['shops-onnx']}", f"chars={char_dir}"]))
    with serving_app(create_app(registry, load_now=False)) as base, headless_page(base + "/") as page:
        assert "loading shops, chars" in page.inner_text("#status")
        assert page.is_visible("#series-id")  # the model's id column, known before it is loaded
        assert page.evaluate("models.every((m) => !m.loaded && m.settings.core)")
        page.select_option("#model", "chars")
        page.type("#prompt", "Ma")  # asked while loading: the server says so, and the page asks again once loaded
        page.wait_for_selector("#suggestions.error", timeout=15000)
        registry.load_all()
        page.wait_for_function("models.every((m) => m.loaded)", timeout=15000)
        page.wait_for_selector("#suggestions button.suggestion", timeout=15000)
        assert page.get_attribute("#suggestions", "class") == "" and "loading" not in page.inner_text("#suggestions")
        page.fill("#prompt", "")
        page.select_option("#model", "shops")
        assert page.inner_text("#status") == "" and page.evaluate("models[0].intervals") is False
        assert page.evaluate("models[1].vocabulary") > 0
        page.select_option("#model", "chars")
        page.type("#prompt", "Mary r")
        page.wait_for_selector("#suggestions button.suggestion", timeout=15000)
        page.click("#suggestions button.suggestion")
        chosen = page.input_value("#prompt")
        assert chosen.startswith("Mary r") and len(chosen) == len("Mary r") + 1, chosen  # one character, no space
        page.fill("#sentence", "Mary rides.")
        page.click("#score")
        page.wait_for_selector("#perplexity")
        shown = page.eval_on_selector_all("#scored span.token", "spans => spans.map((s) => s.textContent)")
        assert "".join(shown).startswith("Mary rides.") and len(shown) >= len("Mary rides."), shown  # not "M a r y"


@needs_chromium
def test_the_playground_forecast_reads_spaces_sends_steps_as_typed_and_clears_a_chart_on_error(server):
    with headless_page(server + "/") as page:
        errors = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.select_option("#model", "banded-onnx")
        history = [10 + i % 7 for i in range(30)]
        page.fill("#history", " ".join(map(str, history)))  # spaces separate numbers, as commas do
        page.fill("#steps", "2")
        page.click("#forecast")
        page.wait_for_selector("#chart #band", state="attached")
        expected = post(server, "/v1/forecast", {"model": "banded-onnx", "history": history, "steps": 2})[1]
        assert page.inner_text("#forecast-values").startswith(", ".join(f"{r['forecast']:.3f}"
                                                                         for r in expected["rows"]))
        page.fill("#steps", "0")  # sent as typed: the server's sentence, not a forecast of 6 steps
        page.click("#forecast")
        page.wait_for_selector("#forecast-values.error")
        assert page.inner_text("#forecast-values") == "field 'steps': input should be greater than or equal to 1."
        assert page.eval_on_selector("#chart", "svg => svg.childElementCount") == 0  # the old chart is gone
        page.fill("#steps", "")  # empty: the default
        page.click("#forecast")
        page.wait_for_selector("#chart #band", state="attached")
        assert page.inner_text("#forecast-values").count(",") == 5
        page.fill("#history", "10, 11, twelve")
        page.click("#forecast")
        page.wait_for_selector("#forecast-values.error")
        assert page.inner_text("#forecast-values").startswith("“twelve” is not a number; give the history as numbers "
                                                              "separated by commas or spaces")
        assert page.eval_on_selector("#chart", "svg => svg.childElementCount") == 0
        # values near the float limit, and a gap: every coordinate drawn is a finite number
        page.evaluate("draw([1e308, -1e308, null, 1e308], [-1e308, 1e308], [-1.7e308, 0], [1.7e308, 1e308])")
        drawn = page.eval_on_selector_all("#chart path", "ps => ps.map((p) => p.getAttribute('d'))")
        assert len(drawn) == 3 and all(re.fullmatch(r"[ML\d., Z-]+", d) for d in drawn), drawn
        page.select_option("#model", "shops-onnx")  # rows of several series: refused here, not drawn as one
        page.fill("#history", "shop,sales\n" + "\n".join(f"{shop},{10 + i % 7}" for shop in "ab" for i in range(12)))
        page.click("#forecast")
        page.wait_for_selector("#forecast-values.error")
        assert page.inner_text("#forecast-values") == ("the rows hold 2 series (shop a, b); this page forecasts one at "
                                                       "a time, so give the rows of one.")
        assert [e for e in errors if not e.startswith("Failed to load resource")] == []  # the 422s are logged


def test_forecast_errors_about_the_history_name_the_requests_field(client):
    """A gap in 'history' (numbers) is named as the request's field, not as a column 'value' it has no name for;
    in 'rows', by the model's own column and 'rows'."""
    for name in ("plain", "plain-onnx"):
        r = client.post("/v1/forecast", json={"model": name, "history": [1.0, 2.0, None] + [3.0] * 10})
        assert r.status_code == 422 and r.json()["error"] == (
            "'history' has a missing or non-finite value at row 2; fix it, or turn on 'fill' to interpolate gaps."), \
            r.text
    for name in ("sales", "sales-onnx"):
        rows = sales_rows(40, future=2)
        rows[3]["sales"] = None
        r = client.post("/v1/forecast", json={"model": name, "rows": rows, "steps": 2})
        assert r.status_code == 422 and r.json()["error"].startswith(
            "column 'sales' has a missing or non-finite value at row 3 of 'rows';"), r.text
    assert client.get("/health").json() == {"status": "ok"}


def test_a_null_at_the_end_of_a_history_is_refused_not_forecast_from(client):
    """'history' of a model without covariates: a null last value is no step to forecast; 422, naming its row."""
    for name in ("plain", "plain-onnx"):
        r = client.post("/v1/forecast", json={"model": name, "history": [float(i % 7) for i in range(20)] + [None],
                                              "fill": True})
        assert r.status_code == 422 and r.json()["error"].startswith(
            "'history' is blank from row 20 to the end, but this model reads no covariates or dates ahead"), r.text
    assert client.get("/health").json() == {"status": "ok"}


# Request bodies a careless or hostile client sends: the fields of every endpoint with values of any JSON type,
# surrogate escapes aside (tested above), and fields no endpoint has.
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                    st.sampled_from(["", " ", "clf", "tagger-onnx", "sales-onnx", "a", "b", "2000-01", "The dog sat",
                                     "NaN", "1e400"]))
_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                      st.dictionaries(st.sampled_from(["month", "sales", "price",
                                                                                       "shop", "x"]), inner,
                                                                      max_size=4)), max_leaves=12)
_FIELDS = ["model", "prompt", "words", "k", "sentences", "texts", "history", "rows", "steps", "id", "levels",
           "fill", "tokens", "temperature", "top_k", "top_p", "seed", "stream", "x"]
_MODELS = st.sampled_from(["sales", "sales-onnx", "plain", "plain-onnx", "clf", "clf-onnx", "tagger",
                           "tagger-onnx", "nowhere"])


def answered_or_refused(r) -> None:
    """A 200, or a 4xx whose body is one JSON sentence (never a 500, a traceback or a second line)."""
    assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text)
    if r.status_code != 200:
        error = r.json()["error"]
        assert set(r.json()) == {"error"} and error and "\n" not in error and "Traceback" not in error, r.text


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/v1/forecast", "/v1/classify", "/v1/tag", "/v1/score", "/v1/complete",
                             "/v1/next-words"]),
       model=_MODELS, body=st.dictionaries(st.sampled_from(_FIELDS), _VALUE, max_size=5))
def test_any_request_body_is_answered_or_refused_in_one_json_sentence(client, path, model, body):
    """Whatever the body, the answer is a 200 or a 4xx whose body is one JSON sentence; never a 500."""
    answered_or_refused(client.post(path, json={"model": model, **body}))


_WORD = st.one_of(st.text(min_size=1, max_size=8), st.sampled_from(["The", "dog", "film", ".", "a", "😀", "\u0301"]))
_NUMBER = st.one_of(st.floats(-1e6, 1e6), st.integers(-10**6, 10**6), st.none(),
                    st.sampled_from(["1.5", "", "x", "NaN", True, [1], {}]))
_NEAR_VALID = {
    "/v1/classify": st.fixed_dictionaries({"model": st.sampled_from(["clf", "clf-onnx"]),
                                           "texts": st.lists(st.text(max_size=30), min_size=1, max_size=4)}),
    "/v1/tag": st.fixed_dictionaries({"model": st.sampled_from(["tagger", "tagger-onnx"]),
                                      "sentences": st.lists(st.one_of(st.text(max_size=30),
                                                                      st.lists(_WORD, max_size=6)),
                                                            min_size=1, max_size=3)}),
    "/v1/forecast": st.one_of(
        st.fixed_dictionaries(  # a plain series: a history, now and then with an odd value in it
            {"model": st.sampled_from(["plain", "plain-onnx"]),
             "history": st.lists(st.floats(-1e3, 1e3), min_size=4, max_size=16).flatmap(
                 lambda h: st.one_of(st.just(h), st.tuples(st.integers(0, len(h) - 1), _NUMBER).map(
                     lambda odd: h[:odd[0]] + [odd[1]] + h[odd[0] + 1:])))},
            optional={"steps": st.integers(-2, 30), "levels": st.lists(st.floats(-10, 110), max_size=3),
                      "fill": st.booleans()}),
        st.fixed_dictionaries(  # a series with a covariate: rows, some of them ahead, now and then one cell odd
            {"model": st.sampled_from(["sales", "sales-onnx"]),
             "rows": st.tuples(st.integers(0, 20), st.integers(0, 4)).flatmap(
                 lambda nf: st.one_of(st.just(sales_rows(*nf)), st.tuples(
                     st.integers(0, max(sum(nf) - 1, 0)), st.sampled_from(["month", "sales", "price"]), _NUMBER).map(
                     lambda odd, nf=nf: [dict(r, **({odd[1]: odd[2]} if i == odd[0] else {}))
                                         for i, r in enumerate(sales_rows(*nf))])))},
            optional={"steps": st.integers(-2, 6), "levels": st.lists(st.floats(-10, 110), max_size=3)})),
}


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), path=st.sampled_from(sorted(_NEAR_VALID)))
def test_a_request_near_a_valid_one_is_answered_or_refused_in_one_json_sentence(client, data, path):
    """Bodies of the right shape with odd values inside (text of any script, blank words, numbers as strings,
    levels out of range, short histories): a 200 or one JSON sentence with a 4xx; the server keeps serving."""
    answered_or_refused(client.post(path, json=data.draw(_NEAR_VALID[path])))

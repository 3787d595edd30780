"""``seqtext serve``: every endpoint and status code through FastAPI's test client, one real uvicorn process,
and the playground page in a real headless browser."""

from __future__ import annotations

import json
import re
import urllib.request
import warnings

import pytest
from click.testing import CliRunner

from conftest import TINY_LINES, assert_clean_failure, headless_page, needs_chromium, serving

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")
from fastapi.testclient import TestClient  # noqa: E402

from seqtext import TextModel  # noqa: E402
from seqtext.cli import cli  # noqa: E402
from seqtext.errors import CheckpointError  # noqa: E402
from seqtext.export.onnx import export  # noqa: E402
from seqtext.export.registry import Registry, parse_models  # noqa: E402
from seqtext.export.serve import create_app  # noqa: E402

PROMPT = "Mary rides the bicycle, the bicycle is"


@pytest.fixture(scope="module")
def exported_dir(tiny_model_dir, tmp_path_factory):
    return export(tiny_model_dir, tmp_path_factory.mktemp("serve") / "onnx")


@pytest.fixture(scope="module")
def series_dir(tmp_path_factory):
    from seqtext import Forecaster

    f = Forecaster(window=6, horizon=2, hidden=8, epochs=2, seed=0, device="cpu").fit([float(i % 7) for i in range(60)])
    return f.save(tmp_path_factory.mktemp("serve-series") / "series")


@pytest.fixture(scope="module")
def client(tiny_model_dir, exported_dir, series_dir):
    registry = Registry(parse_models([f"torch={tiny_model_dir}", f"onnx={exported_dir}", f"sales={series_dir}"]))
    app = create_app(registry, load_now=False)
    with TestClient(app) as c:
        assert c.get("/health").status_code == 503  # not loaded yet
        loading = c.head("/health")
        assert loading.status_code == 503 and loading.content == b""
        assert c.post("/v1/complete", json={"model": "onnx", "prompt": PROMPT}).status_code == 503
        early = {m["name"]: m for m in c.get("/v1/models").json()["models"]}  # the settings before loading
        assert [m["loaded"] for m in early.values()] == [False, False, False]
        assert early["onnx"]["settings"]["core"]["hidden"] == early["torch"]["settings"]["core"]["hidden"] == 64
        assert early["sales"]["settings"]["series"]["window"] == 6 and "intervals" not in early["sales"]
        registry.load_all()
        yield c


def test_health_models_and_docs(client):
    assert client.get("/health").json() == {"status": "ok"}
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert {n: (m["kind"], m["exported"]) for n, m in models.items()} == {
        "torch": ("text", False), "onnx": ("text", True), "sales": ("series", False)}
    assert models["onnx"]["settings"]["core"]["hidden"] == 64
    assert all(m["loaded"] for m in models.values()) and isinstance(models["sales"]["intervals"], bool)
    assert models["onnx"]["vocabulary"] == models["torch"]["vocabulary"] > 0
    spec = client.get("/openapi.json").json()
    requests = spec["components"]["schemas"]
    for kind, field in (("ScoreRequest", "sentences"), ("ClassifyRequest", "texts")):  # what each text must hold
        assert requests[kind]["properties"][field]["items"] == {"type": "string", "minLength": 1, "maxLength": 4000,
                                                                "pattern": "\\S"}
    assert {p for p, r in spec["paths"].items() if "post" in r} == {
        "/v1/complete", "/v1/next-words", "/v1/score", "/v1/forecast", "/v1/classify", "/v1/tag"}
    for path, route in spec["paths"].items():  # the errors described are the ones sent: {"error": "..."}
        if path.startswith("/v1/") and "post" in route:
            responses = route["post"]["responses"]
            assert set(responses) == {"200", "404", "413", "422", "503"}, path
            assert {r["content"]["application/json"]["schema"]["$ref"] for s, r in responses.items() if s != "200"} \
                == {"#/components/schemas/ErrorResponse"}, path
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    ids = [op["operationId"] for route in spec["paths"].values() for op in route.values()]
    assert len(ids) == len(set(ids)), ids  # an operation id names one operation (HEAD /health had GET's)
    assert set(spec["paths"]["/health"]) == {"get"}
    assert set(spec["paths"]["/health"]["get"]["responses"]) == {"200", "503"}  # loading: 503, documented
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]
    assert r_error(client.post("/v1/complete", json={"model": "onnx"})).keys() == {"error"}
    assert client.get("/docs").status_code == 200


def r_error(response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()


def test_complete_and_next_words_agree_between_torch_and_onnx(client, tiny_model):
    for name in ("torch", "onnx"):
        r = client.post("/v1/complete", json={"model": name, "prompt": PROMPT + " ___"})
        assert r.status_code == 200, r.text
        assert r.json()["completion"] == str(tiny_model.complete(PROMPT + " ___"))
        words = client.post("/v1/next-words", json={"model": name, "prompt": PROMPT, "k": 3}).json()["words"]
        assert [w["word"] for w in words] == [w for w, _ in tiny_model.next_words(PROMPT, 3)]
    sampled = client.post("/v1/complete", json={"model": "onnx", "prompt": "Mary", "temperature": 0.9, "top_k": 3,
                                                "top_p": 0.9, "words": 5, "seed": 1}).json()
    assert sampled["completion"].startswith("Mary")


@pytest.mark.filterwarnings("error")  # a warning in the worker thread: a 500 here, a line in the server's log
def test_a_temperature_too_small_to_divide_by_is_greedy_without_a_warning(client, tiny_model):
    for name in ("torch", "onnx"):
        r = client.post("/v1/complete", json={"model": name, "prompt": "Mary", "temperature": 5e-324, "words": 5})
        assert r.status_code == 200, r.text
        assert r.json()["completion"] == str(tiny_model.complete("Mary", words=5))


def test_a_warning_is_answered_to_the_client_not_logged(client, tiny_model):
    greedy = {"prompt": "Mary rides", "seed": 3, "words": 3}  # a seed with nothing to sample: the CLI warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # issued in the worker thread, it would reach only the server's log
        for name in ("torch", "onnx"):
            r = client.post("/v1/complete", json={"model": name, **greedy})
            assert r.status_code == 200, r.text
            said = r.json()["warnings"]
            assert len(said) == 1 and said[0].startswith("'seed' seeds sampling, but without 'temperature', 'top_k' "
                                                         "or 'top_p' each word is the likeliest one"), said
            assert r.json()["completion"] == str(tiny_model.complete("Mary rides", words=3))
            with client.stream("POST", "/v1/complete", json={"model": name, **greedy, "stream": True}) as r:
                done = "".join(r.iter_text()).split("event: done\n")[1]
            assert json.loads(done.strip().removeprefix("data: ")) == {"warnings": said}
        sampled = client.post("/v1/complete", json={"model": "onnx", **greedy, "temperature": 0.8}).json()
        assert sampled["warnings"] == []
        assert client.post("/v1/next-words", json={"model": "onnx", "prompt": "Mary"}).json()["warnings"] == []
    answers = client.get("/openapi.json").json()["components"]["schemas"]
    assert all("warnings" in answers[kind]["properties"] for kind in
               ("CompleteResponse", "NextWordsResponse", "ScoreResponse", "ForecastResponse", "ClassifyResponse",
                "TagResponse"))


def test_complete_streams_server_sent_events(client, tiny_model):
    with client.stream("POST", "/v1/complete", json={"model": "onnx", "prompt": "Mary rides", "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    words, done = body.split("event: done\n")
    events = [json.loads(line[6:]) for line in words.splitlines() if line.startswith("data: ")]
    assert "Mary rides" + "".join(e["text"] for e in events) == str(tiny_model.complete("Mary rides"))
    assert done.rstrip() == 'data: {"warnings": []}'
    documented = client.get("/openapi.json").json()["paths"]["/v1/complete"]["post"]["responses"]["200"]["content"]
    assert set(documented) == {"application/json", "text/event-stream"}  # the schema said JSON alone


def test_score_returns_the_records_of_score_json(client, tiny_model):
    r = client.post("/v1/score", json={"model": "onnx", "sentences": TINY_LINES[:2], "tokens": True}).json()
    expected = tiny_model.score(TINY_LINES[:2], tokens=True)
    assert [x["text"] for x in r["records"]] == TINY_LINES[:2]
    assert abs(r["records"][0]["logprob"] - expected[0]["logprob"]) < 1e-3
    assert len(r["records"][0]["surprisal_bits"]) == expected[0]["tokens"]
    assert r["summary"]["sentences"] == 2


def test_forecast(client):
    r = client.post("/v1/forecast", json={"model": "sales", "history": [float(i % 7) for i in range(20)], "steps": 4})
    assert r.status_code == 200, r.text
    assert [row["step"] for row in r.json()["rows"]] == [1, 2, 3, 4]


def test_a_request_without_fill_keeps_the_models_own_setting():
    from seqtext import Forecaster
    from seqtext.errors import DataError, collected_warnings
    from seqtext.export.forecastreq import forecast

    history = [float(i % 7) for i in range(40)]
    model = Forecaster(window=6, horizon=2, hidden=8, epochs=1, seed=0, device="cpu", calibrate=0, fill=True)
    model.fit(history)
    gappy = history[:10] + [None] + history[11:]
    with collected_warnings() as warned:
        levels, rows = forecast(model, 2, gappy, None)  # trained with fill: a gap is filled, as in Python
    assert [row["step"] for row in rows] == [1, 2] and levels == [] and warned == []
    with pytest.raises(DataError, match="turn on fill"):
        forecast(model, 2, gappy, None, fill=False)  # asked not to


def test_forecast_fills_a_gap_when_asked_and_names_request_fields_in_errors(client):
    history = [float(i % 7) for i in range(20)]
    gappy = history[:10] + [None] + history[11:]
    r = client.post("/v1/forecast", json={"model": "sales", "history": gappy, "steps": 2})
    assert r.status_code == 422 and "turn on 'fill' to interpolate gaps" in r.json()["error"]
    filled = client.post("/v1/forecast", json={"model": "sales", "history": gappy, "steps": 2, "fill": True})
    assert filled.status_code == 200, filled.text
    interpolated = history[:10] + [(history[9] + history[11]) / 2] + history[11:]
    direct = client.post("/v1/forecast", json={"model": "sales", "history": interpolated, "steps": 2}).json()
    assert [row["forecast"] for row in filled.json()["rows"]] == pytest.approx([row["forecast"] for row in
                                                                               direct["rows"]])
    far = client.post("/v1/forecast", json={"model": "sales", "history": history, "steps": 40, "levels": [80]})
    assert far.status_code == 422  # the request's field is named as such, the training option as the command's
    assert re.search(r"give 'steps' of \d+ or fewer, or calibrate more steps at training \(forecast "
                     r"train --calibrate\)\.$", far.json()["error"]), far.json()


@pytest.mark.parametrize("path,body,status,fragment", [
    ("/v1/complete", {"model": "nope", "prompt": "Mary"}, 404, "no model named 'nope'"),
    ("/v1/complete", {"prompt": "Mary"}, 422, "give the model's name"),
    ("/v1/complete", {"model": "sales", "prompt": "Mary"}, 422, "is a series model, not a text model; /v1/forecast"),
    ("/v1/complete", {"model": "onnx", "prompt": ""}, 422, "field 'prompt'"),
    ("/v1/complete", {"model": "onnx", "prompt": "   "}, 422, "field 'prompt'"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "words": -1}, 422, "field 'words'"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "words": 10 ** 9}, 422, "field 'words'"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "words": True}, 422, "field 'words'"),  # no coercion
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "words": "5"}, 422, "field 'words'"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "stream": 1}, 422, "field 'stream'"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary ___ hers", "stream": True}, 422,
     "a ___ blank is filled in place, not streamed; complete it without 'stream'."),
    ("/v1/complete", {"model": "torch", "prompt": "Mary ___ hers", "stream": True}, 422, "without 'stream'."),
    ("/v1/score", {"model": "onnx", "sentences": ["Mary"], "tokens": "yes"}, 422, "field 'tokens'"),
    ("/v1/forecast", {"model": "sales", "history": ["1", 2], "steps": 2}, 422, "field 'history.0'"),
    ("/v1/tag", {"sentences": ["The dog"]}, 404, "holds no tag model"),
    ("/v1/complete", {"model": "onnx", "prompt": "a ___ b ___"}, 422, "2 blanks"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "top_p": 2}, 422, "field 'top_p'"),
    ("/v1/complete", {"model": "onnx", "prompt": "Mary", "colour": 1}, 422, "field 'colour'"),
    ("/v1/next-words", {"model": "onnx", "prompt": "Mary", "k": 0}, 422, "field 'k'"),
    ("/v1/score", {"model": "onnx", "sentences": []}, 422, "field 'sentences'"),
    ("/v1/score", {"model": "torch", "sentences": ["ok", " "]}, 422, "field 'sentences': sentences[1] must hold 1 to"),
    ("/v1/forecast", {"model": "sales", "history": ["a", 2], "steps": 2}, 422, "field 'history.0'"),
    ("/v1/forecast", {"model": "sales", "steps": 2}, 422, "'history'"),
    ("/v1/forecast", {"model": "sales", "history": [1, 2], "steps": 2}, 422, ""),
    ("/v1/forecast", {"model": "sales", "history": [1.0] * 20, "steps": 0}, 422, "field 'steps'"),
    ("/v1/forecast", {"model": "sales", "history": [1e300] * 20}, 422, "too far beyond the scale"),
    ("/v1/complete", {"model": "torch", "prompt": "Mary", "temperature": 1, "seed": 2**64}, 422, "field 'seed'"),
])
def test_errors_are_one_sentence_with_the_right_status(client, path, body, status, fragment):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and fragment in r.json()["error"]
    assert "Traceback" not in r.text
    assert client.get("/health").json() == {"status": "ok"}  # and the server goes on


def test_malformed_json_too_large_bodies_and_unknown_paths(client):
    r = client.post("/v1/complete", content=b'{"prompt": "Mary', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]
    r = client.post("/v1/complete", content=b'{"prompt": "caf\xe9"}', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON (UTF-8 text)" in r.json()["error"], r.text  # Latin-1, not UTF-8
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/v1/complete", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json() == {  # valid UTF-8 and JSON, nested past what the parser reads
        "error": "the request body nests its lists or objects too deeply to read; send flatter JSON."}, r.text
    many = b'{"model": "sales", "history": [1' + b"0" * 5000 + b"]}"  # valid JSON, past Python's 4300 digits
    r = client.post("/v1/forecast", content=many, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json() == {  # it said the body was not valid JSON (UTF-8 text)
        "error": "the request body holds a whole number of more than 4,300 digits, more than can be read; send "
                 "shorter numbers."}, r.text
    r = client.post("/v1/complete", content=b"x" * (2 << 20), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    chunks = (b"x" * (256 << 10) for _ in range(8))  # 2 MiB streamed in chunks: no Content-Length to go by
    r = client.post("/v1/complete", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    r = client.post("/v1/complete", content=(part for part in (b'{"model": "torch", ', b'"prompt": "Mary"}')),
                    headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text  # a small chunked body is read whole and answered
    assert client.get("/nowhere").status_code == 404
    r = client.post("/v1/nowhere", json={})
    assert r.status_code == 404 and r.json() == {"error": "there is nothing at /v1/nowhere; see /docs."}
    r = client.get("/v1/complete")
    assert r.status_code == 405 and r.json() == {"error": "/v1/complete does not answer GET; see /docs for how to "
                                                          "call it."}
    assert r.headers["allow"] == "POST"  # a 405 says what the path does answer (RFC 9110)
    assert client.request("TRACE", "/v1/models").headers["allow"] == "GET"
    allowed = client.request("OPTIONS", "/health").headers["allow"]
    assert set(allowed.split(", ")) == {"GET", "HEAD"}, allowed  # it said HEAD only
    r = client.post("/v1/complete", content=b'{"model": "torch", "prompt": "Mary"}')  # valid JSON, but no header
    assert r.status_code == 422 and "Content-Type: application/json" in r.json()["error"]
    for kind in ("text/json", "application/jsonp", "application/x-json"):  # "json" in them, but no JSON to FastAPI
        r = client.post("/v1/complete", content=b'{"model": "torch", "prompt": "Mary"}', headers={"content-type": kind})
        assert r.status_code == 422 and "Content-Type: application/json" in r.json()["error"], (kind, r.text)
    r = client.post("/v1/complete", content=b'{"model": "torch", "prompt": "Mary", "words": 1}',
                    headers={"content-type": "application/vnd.api+json; charset=utf-8"})  # a +json type is JSON
    assert r.status_code == 200, r.text
    r = client.post("/v1/complete", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()
    for field in ("temperature", "top_p"):  # Python's json sends NaN and Infinity; they are no numbers to sample by
        for value in ("NaN", "Infinity", "-Infinity"):
            r = client.post("/v1/complete", content=f'{{"model": "torch", "prompt": "Mary", "{field}": {value}}}'
                            .encode(), headers={"content-type": "application/json"})
            assert r.status_code == 422 and r.json() == {"error": f"field '{field}': input should be a finite number."}


def test_values_nested_deeper_than_the_recursion_limit_are_checked_without_recursing():
    """A row's value may nest lists as deep as the JSON parser reads (about the recursion limit): the checks walk it
    without recursing (a RecursionError was a 500), and an error quotes its start."""
    import sys
    from types import SimpleNamespace

    from seqtext.errors import DataError
    from seqtext.export.forecastreq import _json_types
    from seqtext.export.schemas import ForecastRequest

    deep: list = ["\ud800"]  # a lone surrogate at the bottom: refused, however deep
    for _ in range(sys.getrecursionlimit() + 100):
        deep = [deep]
    with pytest.raises(ValueError, match="lone surrogate"):
        ForecastRequest.model_validate({"rows": [{"value": 1.0, "x": deep}]})
    series = SimpleNamespace(target="value", features=[], date=None, id=None)  # a model's series settings
    with pytest.raises(DataError, match=r"row 0 of 'rows': column 'value' holds \[\[\[+\.\.\., not a number"):
        _json_types(series, {"value": [deep]})
    nested: dict = {"a": 1}  # an object as deep: quoted as the object it is, not as lists
    for _ in range(sys.getrecursionlimit() + 100):
        nested = {"a": nested}
    with pytest.raises(DataError, match=r"row 0 of 'rows': column 'value' holds \{\"a\": \{\"a\": [{\"a: ]+\.\.\., "):
        _json_types(series, {"value": [nested]})


def test_health_answers_head_as_get_without_a_body(client):
    got, head = client.get("/health"), client.head("/health")
    assert head.status_code == got.status_code == 200 and head.content == b"" and got.json() == {"status": "ok"}
    assert head.headers["content-type"] == got.headers["content-type"] == "application/json"


def test_a_bare_model_path_is_named_after_its_directory(exported_dir, monkeypatch):
    monkeypatch.chdir(exported_dir)
    for spec in (".", "./", str(exported_dir) + "/"):
        assert list(parse_models([spec])) == [exported_dir.name], spec
    monkeypatch.chdir(exported_dir.parent)
    assert list(parse_models([exported_dir.name, f"again={exported_dir}"])) == [exported_dir.name, "again"]


def test_playground_page_and_script_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="prompt"' in page.text and "/playground.js" in page.text
    assert "fetch(" in client.get("/playground.js").text


def test_serve_refuses_a_missing_model_path(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--model", f"m={tmp_path / 'missing'}"])
    assert_clean_failure(result, "does not exist")
    result = CliRunner().invoke(cli, ["serve", "--model", f"m={tmp_path}"])
    assert_clean_failure(result, "not a seqtext model directory")


@pytest.fixture(scope="module")
def server(exported_dir):
    """A real ``seqtext serve`` process on a free loopback port."""
    with serving(f"tiny={exported_dir}") as base:
        yield base


def test_a_real_server_answers_over_the_loopback(server):
    req = urllib.request.Request(server + "/v1/complete", data=json.dumps({"prompt": PROMPT + " ___"}).encode(),
                                 headers={"Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(req, timeout=10))
    assert answer["model"] == "tiny" and answer["completion"].startswith(PROMPT)


def test_idle_connections_do_not_shut_other_clients_out(server):
    """Only requests in hand count against the server's limit; 300 open connections that send nothing do not."""
    import socket
    from urllib.parse import urlparse

    where = urlparse(server)
    idle = [socket.create_connection((where.hostname, where.port), timeout=10) for _ in range(300)]
    try:
        answer = json.load(urllib.request.urlopen(server + "/v1/models", timeout=10))
        assert answer["models"][0]["name"] == "tiny"
    finally:
        for sock in idle:
            sock.close()


def test_requests_beyond_the_limit_in_hand_get_a_json_503(client, monkeypatch):
    from seqtext.export import serve

    monkeypatch.setattr(serve, "MAX_IN_HAND", 0)
    r = client.post("/v1/complete", json={"model": "onnx", "prompt": PROMPT + " ___"})
    assert r.status_code == 503 and r.json() == {"error": "the server has 0 requests in hand; try again in a moment."}
    monkeypatch.undo()
    again = client.post("/v1/complete", json={"model": "onnx", "prompt": PROMPT + " ___"})
    assert again.status_code == 200  # the count went back down


@needs_chromium
def test_the_playground_in_a_headless_browser(server):
    with headless_page(server + "/") as page:
        page.fill("#prompt", "")
        page.type("#prompt", PROMPT)
        page.wait_for_selector("#suggestions button.suggestion", timeout=15000)
        assert "%" in page.inner_text("#suggestions")
        # inside a word, the words offered after the finished part are those that start with the typed letters
        page.fill("#prompt", "")
        page.type("#prompt", "Mary rides the bic")
        page.wait_for_function("[...document.querySelectorAll('#suggestions button')].map(b => b.textContent)"
                               ".join() .startsWith('bicycle ')", timeout=15000)
        assert all(b.startswith("bic") for b in page.locator("#suggestions button").all_inner_texts())
        page.click("#suggestions button.suggestion")  # accepted: the typed part becomes the word, closed by a space
        assert page.input_value("#prompt") == "Mary rides the bicycle "
        page.wait_for_function("[...document.querySelectorAll('#suggestions button')].some(b => "
                               "!b.textContent.startsWith('bic'))", timeout=15000)  # the words after it now
        page.type("#prompt", "xq")  # letters no word starts with: said, not a list of unrelated words
        page.wait_for_selector("#suggestions .note", timeout=15000)
        assert "starts with “xq”" in page.inner_text("#suggestions") and not page.locator("#suggestions button").count()
        page.fill("#prompt", "")
        page.type("#prompt", PROMPT)
        page.click("#complete")
        page.wait_for_function("document.querySelector('#completion').textContent.length > 40")
        assert page.inner_text("#completion").startswith(PROMPT)
        page.fill("#sentence", TINY_LINES[0])
        page.click("#score")
        page.wait_for_selector("#perplexity")
        spans = page.locator("#scored span.token")  # each token as typed, beside its own surprisal
        assert [t.strip() for t in spans.all_inner_texts()] == ["Mary", "rides", "the", "bicycle", ",", "the",
                                                                 "bicycle", "is", "hers", ".", "</s>"]


def test_a_port_in_use_is_one_sentence(exported_dir):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--model", f"a={exported_dir}", "--port", str(port)])
    assert_clean_failure(result, f"cannot listen on 127.0.0.1:{port}", "choose another --port")
    assert "serving" not in result.output  # refused before it says it serves


def test_an_empty_host_listens_on_every_interface_and_says_so(exported_dir):
    """``--host ''`` binds every interface, as 0.0.0.0 does, and the address it prints is that one (not http://:N/)."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "seqtext", "serve", f"--model=a={exported_dir}", "--host", "",
                             "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert first.startswith("listening on http://0.0.0.0:") and first.split(":")[2].split("/")[0].isdigit(), first


def test_a_model_that_fails_to_load_stops_the_server_naming_it(exported_dir, tmp_path):
    """An export whose graph is cut short passes the path checks and fails only when loaded, in the background:
    the server stops, and the command exits with one sentence naming the model (not 503s for every model)."""
    import shutil
    import subprocess
    import sys

    broken = tmp_path / "broken"
    shutil.copytree(exported_dir, broken)
    graph = next(broken.glob("*.onnx"))
    graph.write_bytes(graph.read_bytes()[:200])
    done = subprocess.run([sys.executable, "-m", "seqtext", "serve", f"--model=good={exported_dir}",
                           f"--model=bad={broken}", "--port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: the model bad at {broken} failed to load ("), done.stderr
    assert "loading good, bad" in done.stderr and "serving" not in done.stderr  # it never said it was serving
    assert "fix it or leave it out, then start the server again" in errors[0] and "Traceback" not in done.stderr


def test_an_export_given_to_a_command_that_needs_the_model_directory_says_so(exported_dir, tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text("\n".join(TINY_LINES) + "\n")
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(exported_dir), "--corpus", str(corpus)])
    assert_clean_failure(result, "is an exported model, run by complete, score, the predict commands and serve, not "
                                 "by this command; give the model directory it was exported from.")
    with pytest.raises(CheckpointError, match="is an exported model, run by seqtext.export.runtime.load; give the "
                                              "model directory it was exported from[.]$"):
        TextModel.load(exported_dir)  # in Python, the call that runs it
    afile = tmp_path / "afile"
    afile.write_text("")
    result = CliRunner().invoke(cli, ["serve", "--model", f"a={afile}"])
    assert_clean_failure(result, "afile is a file, not a directory")

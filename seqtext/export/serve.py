"""The HTTP server behind ``seqtext serve``: FastAPI, pydantic schemas, limits, JSON errors.

Every error is ``{"error": "<one sentence>"}`` with its status: 404 unknown
model (or none of the kind), 413 body too large, 422 invalid field
(malformed JSON, a model of another kind, no name among several included),
503 while the models load, 500 without a stack trace.  Inference runs in
worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from seqtext.errors import SeqtextError, beyond_reading, collected_warnings
from seqtext.export import forecastreq
from seqtext.export.registry import Registry
from seqtext.export.schemas import (ERRORS, HEALTH, MAX_BODY, STREAMED, ClassifyRequest, ClassifyResponse,
                                    CompleteRequest, CompleteResponse, ForecastRequest, ForecastResponse,
                                    NextWordsRequest, NextWordsResponse, ScoreRequest, ScoreResponse, TagRequest,
                                    TagResponse)


# parameters a request sets itself (not "id": in the library's messages it is the model's id column)
REQUEST_FIELDS = ("steps", "levels", "fill", "history", "tokens", "stream", "temperature", "top_k", "top_p",
                  "seed", "words")
MODEL_TERMS = {"calibrate": "forecast train --calibrate", "horizon": "forecast train --horizon",
               "date": "the model's date column", "id": "the model's id column"}  # the rest: set in training


def _named(param: str) -> str:
    """A parameter named in an error's message as a request writes it ('steps'), or as the model's setting."""
    return f"'{param}'" if param in REQUEST_FIELDS else MODEL_TERMS.get(param, f"the model's {param}")


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate quoted back, escaped
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _json_type(content_type: str) -> bool:
    """Whether FastAPI reads a body of this Content-Type as JSON: application/json or application/...+json (not
    text/json or application/jsonp, which hold "json" too)."""
    import email.message

    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _field_error(exc: RequestValidationError) -> str:
    # the deepest error: of a union's members, the one that got furthest ([["a", 5]] is word 1 of a list of words
    # that is wrong, not a sentence that should have been a string)
    first = max(exc.errors(), key=lambda e: len(e.get("loc", ())))
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON; send one JSON object."
    # the path to the field, without the names pydantic gives the members of a union ("str", "list[str]")
    loc = [str(p) for p in first.get("loc", ()) if p != "body" and p not in ("str", "int", "float", "bool")
           and "[" not in str(p)]
    if not loc:
        return "the request body must be a JSON object with the fields the endpoint lists (see /docs)."
    msg = first.get("msg", "is invalid").removeprefix("Value error, ")
    return f"field {'.'.join(loc)!r}: {msg[:1].lower() + msg[1:]}."


class InHand:
    """ASGI middleware: the /v1/ requests in hand, counted from before their body is read to the end of their
    answer (a stream's last word); beyond MAX_IN_HAND a JSON 503.  Idle connections hold no place."""

    def __init__(self, app):
        self.app, self.count = app, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        if self.count >= MAX_IN_HAND:
            busy = _error(503, f"the server has {MAX_IN_HAND} requests in hand; try again in a moment.")
            return await busy(scope, receive, send)
        self.count += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self.count -= 1


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes (by Content-Length or as it streams in) gets 413."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        too_big = _error(413, f"the request body is larger than {self.limit} bytes; send a smaller one.")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await too_big(scope, receive, send)
        # read the body whole first (a chunked one has no Content-Length), then hand it on as one message
        body, more, first = b"", True, None
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: hand that on as it is
                first = message
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await too_big(scope, receive, send)
        first = first or {"type": "http.request", "body": body, "more_body": False}
        handed = False

        async def replay():
            nonlocal handed
            if not handed:
                handed = True
                return first
            return await receive()  # later: the client's disconnect, for a streamed answer

        return await self.app(scope, replay, send)


MAX_IN_HAND = 256  # /v1/ requests being read, answered or waiting for a model at once; more are answered 503


def create_app(registry: Registry, max_body: int = MAX_BODY, load_now: bool = True) -> FastAPI:
    """The application; ``load_now`` starts loading the models in a background thread at once."""
    app = FastAPI(title="seqtext", version=_version(), description="Recurrent text and series models over HTTP.")
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(InHand)  # added last: it runs first, before a body is read
    app.state.registry = registry
    if load_now:
        threading.Thread(target=registry.load_all, name="seqtext-load", daemon=True).start()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        if not _json_type(request.headers.get("content-type", "")):  # FastAPI reads no other body as the fields
            return _error(422, "the request body is read as JSON only with the header Content-Type: application/json; "
                               "send it with that header.")
        return _error(422, _field_error(exc))

    @app.exception_handler(HTTPException)
    async def _http(request, exc):
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):  # JSON nested past the parser
            return _error(422, "the request body nests its lists or objects too deeply to read; send flatter JSON.")
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError) and (why := beyond_reading(exc.__cause__)):
            return _error(422, f"the request body {why}; send shorter numbers.")  # digits
        if exc.status_code == 400:  # a body FastAPI cannot parse at all (not UTF-8): malformed, as bad JSON is
            return _error(422, "the request body is not valid JSON (UTF-8 text); send one JSON object.")
        if exc.status_code == 404 and exc.detail == "Not Found":  # no such route (a model not found says which)
            return _error(404, f"there is nothing at {request.url.path}; see /docs.")
        if exc.status_code == 405:  # Allow: the methods it does answer (RFC 9110), of every route at the path
            allowed = sorted({method for route in app.routes if getattr(route, "methods", None)
                              and route.path_regex.fullmatch(request.scope["path"]) for method in route.methods})
            return _error(405, f"{request.url.path} does not answer {request.method}; see /docs for how to call it.",
                          {**(exc.headers or {}), "Allow": ", ".join(allowed)})
        return _error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request, exc):
        return _error(500, "the server failed to answer this request; its log has the details.")

    async def run(kind: str, name: str | None, method: str, *args, **kwargs):
        try:
            return await _run(kind, name, method, *args, **kwargs)
        except asyncio.CancelledError:  # the server stopping: its grace period ran out before this answer
            task = asyncio.current_task()
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()  # answered, not cancelled: the task's count of cancellations stays true
            raise HTTPException(503, "the server is shutting down; send the request again once it is back.") from None

    async def _run(kind: str, name: str | None, method: str, *args, **kwargs):
        if registry.error:
            raise HTTPException(503, f"{registry.error}.")
        if not registry.ready.is_set():
            raise HTTPException(503, "the models are still loading; try again in a moment.")
        try:
            item = registry.pick(name, kind)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            return item, *await run_in_threadpool(_gathered, item.call, method, *args, **kwargs)
        except SeqtextError as exc:
            raise HTTPException(422, exc.render(_named)) from None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def playground():
        return resources.files("seqtext.export").joinpath("static/playground.html").read_text(encoding="utf-8")

    @app.get("/playground.js", include_in_schema=False)
    async def playground_script():
        script = resources.files("seqtext.export").joinpath("static/playground.js").read_text(encoding="utf-8")
        return Response(script, media_type="text/javascript")

    @app.get("/health", responses=HEALTH)
    @app.head("/health", include_in_schema=False)  # GET without the body, not a second operation of the schema
    async def health(request: Request):
        if registry.error:
            answer = _error(503, f"{registry.error}.")
        elif not registry.ready.is_set():
            answer = JSONResponse({"status": "loading"}, status_code=503)
        else:
            answer = JSONResponse({"status": "ok"})
        if request.method == "HEAD":  # the status and headers of GET, without the body
            return Response(status_code=answer.status_code, headers=dict(answer.headers))
        return answer

    @app.get("/v1/models")
    async def models():
        return {"models": [s.describe() for s in registry.served.values()]}

    @app.post("/v1/complete", response_model=CompleteResponse, responses={**ERRORS, **STREAMED})
    async def complete(req: CompleteRequest):
        options = dict(words=req.words, temperature=req.temperature, top_k=req.top_k, top_p=req.top_p, seed=req.seed)
        if req.stream:
            item, pieces, _ = await run("text", req.model, "stream", req.prompt, **options)  # nothing read yet
            first = await run_in_threadpool(_next_piece, item, pieces)  # a bad prompt fails here, before the 200
            return StreamingResponse(_events(item, pieces, first), media_type="text/event-stream")
        item, result, warned = await run("text", req.model, "complete", req.prompt, **options)
        return {"model": item.name, **result.to_dict(), "warnings": warned}

    @app.post("/v1/next-words", response_model=NextWordsResponse, responses=ERRORS)
    async def next_words(req: NextWordsRequest):
        item, ranked, warned = await run("text", req.model, "next_words", req.prompt, req.k)
        return {"model": item.name, "words": [{"word": w, "probability": p} for w, p in ranked], "warnings": warned}

    @app.post("/v1/score", response_model=ScoreResponse, responses=ERRORS)
    async def score(req: ScoreRequest):
        item, records, warned = await run("text", req.model, "score", req.sentences, tokens=req.tokens)
        return {"model": item.name, "records": list(records), "summary": records.summary, "warnings": warned}

    @app.post("/v1/forecast", response_model=ForecastResponse, responses=ERRORS)
    async def forecast(req: ForecastRequest):
        if (req.history is None) == (req.rows is None):
            raise HTTPException(422, "give the series as 'history' (numbers) or 'rows' (objects), one of them.")
        history = req.history if req.history is not None else forecastreq.row_columns(req.rows)
        item, (levels, rows), warned = await run("series", req.model, forecastreq.forecast, req.steps, history,
                                                 req.levels, req.id, req.fill, from_rows=req.rows is not None)
        return {"model": item.name, "levels": levels, "rows": json.loads(json.dumps(rows, default=str)),
                "warnings": warned}

    @app.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS)
    async def classify(req: ClassifyRequest):
        item, probs, warned = await run("classify", req.model, "predict_proba", req.texts)
        results = []
        for text, p in zip(req.texts, probs):
            label = max(p, key=p.get)
            results.append({"text": text.strip(), "label": label, "probability": p[label], "probabilities": p})
        return {"model": item.name, "results": results, "warnings": warned}

    @app.post("/v1/tag", response_model=TagResponse, responses=ERRORS)
    async def tag(req: TagRequest):
        item, results, warned = await run("tag", req.model, _tag, req.sentences)
        return {"model": item.name, "results": results, "warnings": warned}

    return app


def _tag(model, sentences) -> list[dict]:
    """Each sentence's words, their likeliest tags and those tags' probabilities."""
    words = [model.words(s) for s in sentences]
    out = []
    for ws, probs in zip(words, model.predict_proba(words)):
        best = [max(p, key=p.get) for p in probs]
        out.append({"words": ws, "tags": best, "probabilities": [p[t] for p, t in zip(probs, best)]})
    return out


_DONE = object()


def _gathered(call, *args, **kwargs):
    """``call(*args, **kwargs)`` and the warnings it gave, one sentence each: they belong in this request's answer
    (as the command line prints them), not in the server's log."""
    with collected_warnings() as warned:
        return call(*args, **kwargs), [w.render(_named) for w in warned]


def _next_piece(item, pieces):
    """The next streamed piece and its warnings (a SeqtextError becomes a 422 through ``run``'s caller)."""
    try:
        return _gathered(_locked_next, item, pieces)
    except SeqtextError as exc:
        raise HTTPException(422, exc.render(_named)) from None


async def _events(item, pieces, first):
    """Server-sent events: one ``data: {"word", "text"}`` per word, then ``event: done`` with the warnings."""
    piece, warned = first
    while piece is not _DONE:
        yield f"data: {json.dumps({'word': piece.strip(), 'text': piece})}\n\n"
        piece, more = await run_in_threadpool(_gathered, _locked_next, item, pieces)
        warned += more
    yield f"event: done\ndata: {json.dumps({'warnings': warned})}\n\n"


def _locked_next(item, pieces):
    if item.lock is None:
        return next(pieces, _DONE)
    with item.lock:
        return next(pieces, _DONE)


def _version() -> str:
    from seqtext import __version__

    return __version__

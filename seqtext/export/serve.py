"""The HTTP server behind ``seqtext serve``: FastAPI, pydantic schemas, limits, JSON errors.

Every error is ``{"error": "<one sentence>"}`` with its status: 404 unknown
model, 413 body too large, 422 invalid field (malformed JSON included),
503 while the models load, 500 without a stack trace.  Inference runs in
worker threads, never on the event loop.
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException

from seqtext.errors import SeqtextError
from seqtext.export.registry import Registry

MAX_BODY = 1 << 20  # bytes of one request body
MAX_PROMPT = 4000  # characters
MAX_WORDS = 200
MAX_SENTENCES = 100
MAX_SENTENCE = 4000
MAX_HISTORY = 10_000  # series values
MAX_STEPS = 1000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, description="The model's name; may be left out when one model of the kind is served.")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must hold some words, not only white space")
    return value


class CompleteRequest(_Request):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    words: int = Field(20, ge=1, le=MAX_WORDS)
    temperature: float | None = Field(None, ge=0, le=100)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, ge=0)
    stream: bool = False
    _blank = field_validator("prompt")(_not_blank)


class CompleteResponse(BaseModel):
    model: str
    prompt: str
    completion: str
    words: list[str]
    unknown: list[str]


class NextWordsRequest(_Request):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    k: int = Field(5, ge=1, le=100)
    _blank = field_validator("prompt")(_not_blank)


class WordProbability(BaseModel):
    word: str
    probability: float


class NextWordsResponse(BaseModel):
    model: str
    words: list[WordProbability]


class ScoreRequest(_Request):
    sentences: list[str] = Field(min_length=1, max_length=MAX_SENTENCES)
    tokens: bool = False

    @field_validator("sentences")
    @classmethod
    def _sentences(cls, value: list[str]) -> list[str]:
        for i, s in enumerate(value):
            if not s.strip() or len(s) > MAX_SENTENCE:
                raise ValueError(f"sentence {i + 1} must hold 1 to {MAX_SENTENCE} characters of words")
        return value


class ScoreResponse(BaseModel):
    model: str
    records: list[dict[str, Any]]
    summary: dict[str, Any]


class ForecastRequest(_Request):
    history: list[float] | None = Field(None, min_length=1, max_length=MAX_HISTORY)
    rows: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=MAX_HISTORY)
    steps: int | None = Field(None, ge=1, le=MAX_STEPS)


class ForecastResponse(BaseModel):
    model: str
    rows: list[dict[str, Any]]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _field_error(exc: RequestValidationError) -> str:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON; send one JSON object."
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if not loc:
        return "the request body must be a JSON object with the fields the endpoint lists (see /docs)."
    msg = first.get("msg", "is invalid").removeprefix("Value error, ")
    return f"field {'.'.join(loc)!r}: {msg[:1].lower() + msg[1:]}."


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
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            return await self.app(scope, counted, send)
        except _TooLarge:
            return await too_big(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(registry: Registry, max_body: int = MAX_BODY, load_now: bool = True) -> FastAPI:
    """The application; ``load_now`` starts loading the models in a background thread at once."""
    app = FastAPI(title="seqtext", version=_version(), description="Recurrent text and series models over HTTP.")
    app.add_middleware(BodyLimit, limit=max_body)
    app.state.registry = registry
    if load_now:
        threading.Thread(target=registry.load_all, name="seqtext-load", daemon=True).start()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        return _error(422, _field_error(exc))

    @app.exception_handler(HTTPException)
    async def _http(request, exc):
        return _error(exc.status_code, str(exc.detail) if exc.status_code != 404 or request.url.path.startswith(
            "/v1/") else f"there is nothing at {request.url.path}; see /docs.")

    @app.exception_handler(Exception)
    async def _crash(request, exc):
        return _error(500, "the server failed to answer this request; its log has the details.")

    async def run(kind: str, name: str | None, method: str, *args, **kwargs):
        if registry.error:
            raise HTTPException(503, f"the models failed to load ({registry.error}).")
        if not registry.ready.is_set():
            raise HTTPException(503, "the models are still loading; try again in a moment.")
        try:
            item = registry.pick(name, kind)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        try:
            return item, await run_in_threadpool(item.call, method, *args, **kwargs)
        except SeqtextError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def playground():
        return resources.files("seqtext.export").joinpath("static/playground.html").read_text(encoding="utf-8")

    @app.get("/playground.js", include_in_schema=False)
    async def playground_script():
        script = resources.files("seqtext.export").joinpath("static/playground.js").read_text(encoding="utf-8")
        return Response(script, media_type="text/javascript")

    @app.get("/health")
    async def health():
        if registry.error:
            return _error(503, f"the models failed to load ({registry.error}).")
        if not registry.ready.is_set():
            return JSONResponse({"status": "loading"}, status_code=503)
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models():
        return {"models": [s.describe() for s in registry.served.values()]}

    @app.post("/v1/complete", response_model=CompleteResponse)
    async def complete(req: CompleteRequest):
        options = dict(words=req.words, temperature=req.temperature, top_k=req.top_k, top_p=req.top_p, seed=req.seed)
        if req.stream:
            item, pieces = await run("text", req.model, "stream", req.prompt, **options)
            first = await run_in_threadpool(_next_piece, item, pieces)  # a bad prompt fails here, before the 200
            return StreamingResponse(_events(item, pieces, first), media_type="text/event-stream")
        item, result = await run("text", req.model, "complete", req.prompt, **options)
        return {"model": item.name, **result.to_dict()}

    @app.post("/v1/next-words", response_model=NextWordsResponse)
    async def next_words(req: NextWordsRequest):
        item, ranked = await run("text", req.model, "next_words", req.prompt, req.k)
        return {"model": item.name, "words": [{"word": w, "probability": p} for w, p in ranked]}

    @app.post("/v1/score", response_model=ScoreResponse)
    async def score(req: ScoreRequest):
        item, records = await run("text", req.model, "score", req.sentences, tokens=req.tokens)
        return {"model": item.name, "records": list(records), "summary": records.summary}

    @app.post("/v1/forecast", response_model=ForecastResponse)
    async def forecast(req: ForecastRequest):
        if (req.history is None) == (req.rows is None):
            raise HTTPException(422, "give the series as 'history' (numbers) or 'rows' (objects), one of them.")
        history = req.history if req.history is not None else req.rows
        item, rows = await run("series", req.model, "forecast", req.steps, history=history)
        return {"model": item.name, "rows": json.loads(json.dumps(rows, default=str))}

    return app


_DONE = object()


def _next_piece(item, pieces):
    """The next streamed piece (a SeqtextError becomes a 422 through ``run``'s caller), or _DONE."""
    try:
        return _locked_next(item, pieces)
    except SeqtextError as exc:
        raise HTTPException(422, str(exc)) from None


async def _events(item, pieces, first):
    """Server-sent events: one ``data: {"word", "text"}`` per word, then ``event: done``."""
    piece = first
    while piece is not _DONE:
        yield f"data: {json.dumps({'word': piece.strip(), 'text': piece})}\n\n"
        piece = await run_in_threadpool(_locked_next, item, pieces)
    yield "event: done\ndata: {}\n\n"


def _locked_next(item, pieces):
    if item.lock is None:
        return next(pieces, _DONE)
    with item.lock:
        return next(pieces, _DONE)


def _version() -> str:
    from seqtext import __version__

    return __version__

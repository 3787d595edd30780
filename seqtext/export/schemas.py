"""The server's pydantic request and response models, with their limits (one place for both)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from seqtext.rules import MAX_SEED
from seqtext.tag.data import split_words

MAX_BODY = 1 << 20  # bytes of one request body
MAX_PROMPT = 4000  # characters
MAX_WORDS = 200
MAX_SENTENCES = 100
MAX_SENTENCE = 4000
MAX_HISTORY = 10_000  # series values
MAX_STEPS = 1000
MAX_LEVELS = 10
MAX_TEXTS = 100  # texts to classify in one request
MAX_WORDS_TAGGED = 500  # words of one sentence to tag


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 5 for a float; no "5" or true for a number
    model: str | None = Field(None, description="The model's name; may be left out when one model of the kind is served.")

    @field_validator("*")
    @classmethod
    def _unicode(cls, value):
        """A JSON string may escape a lone surrogate (\\ud800), which is no character: refused, as bytes that are
        not UTF-8 are, before it reaches a model or an answer."""
        for text in _strings(value):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("holds a lone surrogate (an escape such as \\ud800 that is no character); "
                                 "send valid Unicode text") from None
        return value


def _strings(value):
    """Every string in a field's value, however deep in its lists and objects (walked without recursion: a row's
    value may nest lists as deep as the JSON parser reads, past Python's recursion limit)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, (list, dict)):
            pending.extend(item.values() if isinstance(item, dict) else item)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must hold some words, not only white space")
    return value


class CompleteRequest(_Request):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    words: int = Field(20, ge=1, le=MAX_WORDS)
    temperature: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    stream: bool = False
    _blank = field_validator("prompt")(_not_blank)


# every answer's last field
WARNINGS = Field([], description="What the answer changed from what was asked or ignored of it, one sentence each, as "
                                 "the command line warns: e.g. a seed given for greedy decoding, or series of a "
                                 "many-series table too short to forecast, left out.")


class CompleteResponse(BaseModel):
    model: str
    prompt: str
    completion: str
    words: list[str]
    unknown: list[str]
    warnings: list[str] = WARNINGS


# /v1/complete with "stream": true answers 200 as server-sent events, not the JSON of CompleteResponse: the schema
# of text/event-stream describes one event (as OpenAPI 3.2's itemSchema does), its data a JSON object
STREAMED = {200: {"description": "The completion; with \"stream\": true, server-sent events: one `data: {\"word\", "
                                 "\"text\"}` a word, then `event: done` with `data: {\"warnings\": [...]}`, the "
                                 "JSON answer's warnings.",
                  "content": {"text/event-stream": {"schema": {
                      "type": "object", "required": ["data"],
                      "properties": {"event": {"type": "string"},
                                     "data": {"type": "string", "contentMediaType": "application/json"}}}}}}}


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
    warnings: list[str] = WARNINGS


# what _check_texts asks of each text, written into the OpenAPI schema for clients (its validator says it too)
TEXT_ITEM = {"type": "string", "minLength": 1, "maxLength": MAX_SENTENCE, "pattern": r"\S"}


def _check_texts(value: list[str], what: str) -> list[str]:
    for i, s in enumerate(value):  # named by index, counted from 0 as forecast rows are
        if not s.strip() or len(s) > MAX_SENTENCE:
            raise ValueError(f"{what}[{i}] must hold 1 to {MAX_SENTENCE} characters of words")
    return value


class ScoreRequest(_Request):
    sentences: list[str] = Field(min_length=1, max_length=MAX_SENTENCES, json_schema_extra={"items": TEXT_ITEM})
    tokens: bool = False

    @field_validator("sentences")
    @classmethod
    def _sentences(cls, value: list[str]) -> list[str]:
        return _check_texts(value, "sentences")


class ScoreResponse(BaseModel):
    model: str
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    warnings: list[str] = WARNINGS


class ForecastRequest(_Request):
    history: list[float | None] | None = Field(
        None, min_length=1, max_length=MAX_HISTORY,
        description="The series' values, oldest first (a model without covariates); null for a missing value "
                    "between known ones, which 'fill' interpolates.  The last value must be known: the forecast "
                    "starts after it, and a null at the end is refused.")
    rows: list[dict[str, Any]] | None = Field(
        None, min_length=1, max_length=MAX_HISTORY,
        description="The history as objects with the model's columns (target, covariates, date), oldest first; "
                    "rows after the last target value carry the covariates known ahead.")
    steps: int | None = Field(None, ge=1, le=MAX_STEPS, description="Values to forecast (default: the horizon).")
    id: str | None = Field(
        None, max_length=200,
        description="A model of many series: the series these values belong to (its learnt id embedding is used; "
                    "an id unseen in training gets the mean one). Rows may carry it in the id column instead.")
    levels: list[float] | None = Field(
        None, max_length=MAX_LEVELS,
        description="Prediction intervals at these levels, % (default: 80 and 95 when the model's intervals were "
                    "calibrated for that many steps ahead, none otherwise; [] for none).")
    fill: bool | None = Field(
        None, description="Interpolate missing values (null) between known values of the history, as "
                          "`seqtext forecast predict --fill` (default: as the model was trained).")

    @field_validator("levels")
    @classmethod
    def _levels(cls, value):
        if value is not None and not all(0 < v < 100 for v in value):
            raise ValueError("each level is a percentage between 0 and 100, e.g. 80 or 95")
        twice = next((v for i, v in enumerate(value or ()) if v in value[:i]), None)
        if twice is not None:
            raise ValueError(f"the level {twice:g} is given twice; give each level once")
        return value


class ForecastResponse(BaseModel):
    model: str
    levels: list[float]
    rows: list[dict[str, Any]]
    warnings: list[str] = WARNINGS


class ClassifyRequest(_Request):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS, description="The texts to classify.",
                             json_schema_extra={"items": TEXT_ITEM})

    @field_validator("texts")
    @classmethod
    def _texts(cls, value: list[str]) -> list[str]:
        return _check_texts(value, "texts")


class ClassifiedText(BaseModel):
    text: str
    label: str
    probability: float
    probabilities: dict[str, float]


class ClassifyResponse(BaseModel):
    model: str
    results: list[ClassifiedText]
    warnings: list[str] = WARNINGS


class TagRequest(_Request):
    sentences: list[str | list[str]] = Field(
        min_length=1, max_length=MAX_SENTENCES,
        description="Sentences to tag: a string (split into words as the tagger's training data was) or a list "
                    "of words.")

    @field_validator("sentences")
    @classmethod
    def _sentences(cls, value):
        for i, s in enumerate(value):
            words = split_words(s) if isinstance(s, str) else s  # a string's words, as the tagger splits them
            if not words or len(words) > MAX_WORDS_TAGGED or not all(w.strip() for w in words) \
                    or (len(s) if isinstance(s, str) else sum(map(len, words))) > MAX_SENTENCE:
                raise ValueError(f"sentences[{i}] must hold 1 to {MAX_WORDS_TAGGED} non-empty words "
                                 f"({MAX_SENTENCE} characters at most)")
        return value


class TaggedSentence(BaseModel):
    words: list[str]
    tags: list[str]
    probabilities: list[float]


class TagResponse(BaseModel):
    model: str
    results: list[TaggedSentence]
    warnings: list[str] = WARNINGS


class ErrorResponse(BaseModel):
    """Every error the server answers: one sentence, with the status saying its kind."""

    error: str = Field(description="What was wrong and what to do, in one sentence.")


# the statuses a /v1/ route answers besides 200, for the OpenAPI schema (FastAPI's own 422 body is never sent)
ERRORS = {status: {"model": ErrorResponse, "description": text} for status, text in (
    (404, "No model of that name, or none of the route's kind."),
    (413, "The request body is larger than the server takes."),
    (422, "The request is malformed, or the model cannot answer it as given."),
    (503, "The models are still loading or failed to load, too many requests are in hand, or the server is "
          "stopping."))}

# GET /health: a status for load balancers and the playground, never an ErrorResponse while loading
HEALTH = {200: {"description": 'Every model is loaded and answers: `{"status": "ok"}`.'},
          503: {"description": 'The models are still loading (`{"status": "loading"}`), or failed to load '
                               '(`{"error": "..."}` saying why).'}}

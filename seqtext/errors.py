"""Errors seqtext raises on purpose.

Every error a user can cause is a :class:`SeqtextError` whose message is one
sentence saying what was wrong and what to do.  The CLI turns these into a
clean message and a non-zero exit; library users can catch them by class.

A message names Python parameters the way a library user wrote them
(``window``).  Where it names one, it is written ``{window}`` in the template
and listed in ``params``: ``str(error)`` reads ``window``, and the CLI renders
the same error with the flag the user typed (``--window``) through
:meth:`SeqtextError.render`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar


class SeqtextError(Exception):
    """Base class for every error seqtext raises on purpose."""

    def __init__(self, message: str = "", *, params: Iterable[str] = ()):
        self.template = message
        self.params = tuple(params)
        super().__init__(self.render(str))

    def render(self, name_of: Callable[[str], str]) -> str:
        """The message with each ``{param}`` written as ``name_of(param)``."""
        text = self.template
        for param in self.params:
            text = text.replace("{" + param + "}", name_of(param))
        return text


class SeqtextWarning(UserWarning):
    """Something seqtext changed from what was asked (and went on); written like an error's message."""

    def __init__(self, message: str = "", *, params: Iterable[str] = ()):
        self.template = message
        self.params = tuple(params)
        super().__init__(self.render(str))

    render = SeqtextError.render


def warn(message: str, *, params: Iterable[str] = ()) -> None:
    """Issue a :class:`SeqtextWarning` (the command line prints it as one line); inside :func:`collected_warnings`
    it is gathered instead."""
    gathered = _GATHERED.get()
    if gathered is not None:
        gathered.append(SeqtextWarning(message, params=params))
        return
    import warnings

    warnings.warn(SeqtextWarning(message, params=params), stacklevel=3)


_GATHERED: ContextVar[list | None] = ContextVar("seqtext_warnings", default=None)


@contextmanager
def collected_warnings():
    """Within it, :func:`warn` appends each :class:`SeqtextWarning` to the list it yields instead of issuing it:
    for this thread (or task) alone, so a server answers each request with its own (``warnings.catch_warnings``
    changes every thread's filters)."""
    gathered: list = []
    token = _GATHERED.set(gathered)
    try:
        yield gathered
    finally:
        _GATHERED.reset(token)


class DataError(SeqtextError, ValueError):
    """A corpus, prompt, table or series that cannot be used as given."""


class ConfigError(SeqtextError, ValueError):
    """An option or configuration value outside its allowed range."""


class CheckpointError(SeqtextError):
    """A model directory that is missing, incomplete, corrupted or incompatible."""


def whole_number(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int if it is a whole number (not a bool) of at least ``minimum``."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{{{name}}} must be a whole number of at least {minimum}, got {value!r}.",
                          params=[name])
    return int(value)


def true_or_false(name: str, value) -> bool:
    """``value`` if it is a bool (numpy's too): a string such as "false" is refused, never read as true."""
    if isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")):
        return bool(value)
    raise ConfigError(f"{{{name}}} must be True or False, got {value!r}.", params=[name])


def known_options(given, allowed, what: str) -> None:
    """Refuse a keyword of ``given`` outside ``allowed`` in one sentence naming it and the ones ``what`` takes (a
    misspelt option passed on through ``**options`` was a TypeError naming an inner function)."""
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(f"there is no {what} option {unknown[0]!r}; use one of {', '.join(sorted(allowed))}.")


# a dependency's top-level package -> the extra that installs it
EXTRAS = {"onnx": "onnx", "onnxscript": "onnx", "onnxruntime": "onnx", "fastapi": "serve", "uvicorn": "serve",
          "statsmodels": "stats", "matplotlib": "plot"}


def install_hint(package: str, upgrade: bool = False) -> str:
    """``pip install 'seqtext[plot]'`` for an extra's package, ``pip install torch`` for any other."""
    extra = EXTRAS.get(package)
    return f"pip install{' -U' if upgrade else ''} " + (f"'seqtext[{extra}]'" if extra else package)


def some(items, limit: int = 10) -> str:
    """'M1, M2' or, beyond ``limit`` items, 'M1, ..., M10 and 5 more': the ids or labels a message names."""
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def counted(n: int, noun: str = "epoch", plural: str | None = None) -> str:
    """``1 epoch``, ``6 epochs`` (or another noun's count, ``plural`` where it is not the noun and an s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def agrees(n: int, one: str, many: str) -> str:
    """The word of a count's verb or noun that agrees with ``n``: ``one`` for 1, ``many`` otherwise
    ("1 of the 3 series is", "2 of the 3 series are")."""
    return one if n == 1 else many


def plain(value):
    """A numpy scalar (``np.int64(12)``, ``np.float32(0.01)``, ``np.True_``) as the Python value it holds, in lists
    too, so arguments reach torch, checks and JSON as the types they expect."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    return value


def is_listlike(value) -> bool:
    """Whether ``value`` is a collection of items given in Python: iterable, and not a string, bytes or a dict."""
    return not isinstance(value, (str, bytes, dict)) and hasattr(value, "__iter__")


def is_missing(value) -> bool:
    """Whether a cell is missing: None, pandas' NA or NaT, or a NaN of any float type (JSON's, numpy's)."""
    import numbers

    return value is None or type(value).__name__ in ("NAType", "NaTType") or (
        isinstance(value, numbers.Real) and value != value)


def is_pair(value) -> bool:
    """Whether ``value`` is a pair given in Python: a tuple, list or 1-D array of two items (a row of
    ``np.array(pairs)``)."""
    return (isinstance(value, (tuple, list)) or getattr(value, "ndim", None) == 1) and len(value) == 2


def is_table(value) -> bool:
    """Whether ``value`` is a pandas DataFrame (or a table like it), told without importing pandas."""
    return not isinstance(value, type) and hasattr(value, "columns") and hasattr(value, "iloc")


def one_column(value, what: str):
    """``value``, or a table's one column as a list: iterating a DataFrame gives its column names, not its rows, so
    a table of more columns (or none) is refused, naming ``what``."""
    if not is_table(value):
        return value
    names = [str(name) for name in value.columns]
    if len(names) != 1:
        which = f"df[{names[0]!r}]" if names else "a column"
        raise DataError(f"give {what} as one column of the table ({which}), not a table of {len(names)} columns"
                        + (f" ({', '.join(names[:5])})." if names else "."))
    return value.iloc[:, 0].tolist()


def as_list(value, what: str) -> list:
    """``value`` as a list: one string is one item, a table of one column its column; None, a number, bytes or a
    dict is a DataError naming ``what`` (a list given in Python, where iterating the wrong thing fails deep inside
    or reads a string's letters)."""
    if isinstance(value, str):
        return [value]
    value = one_column(value, what)
    if not is_listlike(value):
        raise DataError(f"give {what} as a string or a list of them, got {type(value).__name__}.")
    return list(value)


def printable(text) -> str:
    """``text`` from a user's file as a message shows it, on one line: a control character, line break or other
    invisible character in it (a NUL, an escape sequence, U+2028) written as Python escapes it (``\\x1b``)."""
    text = str(text)
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def beyond_reading(exc: BaseException) -> str | None:
    """What a JSON, TOML or CoNLL-U parser could not read though the syntax is valid, as a message's clause: lists
    or tables nested deeper than Python recurses (a RecursionError), or a whole number of more digits than Python
    converts (a ValueError); None for any other error."""
    if isinstance(exc, RecursionError):
        return "nests its lists or tables too deeply to read"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return f"holds a whole number of more than {sys.get_int_max_str_digits():,} digits, more than can be read"
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can run to many lines)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

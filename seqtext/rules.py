"""What values an option takes: a :class:`Rule` per declared option, and ``option()`` to declare one.

A rule checks a value in Python (raising a ConfigError that names the
parameter) and is read by the CLI to build the matching click type, so the
allowed values are written once.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

from seqtext.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """What values an option takes; checked in Python and turned into a click type by the CLI.

    ``kind``: int | float | bool | choice | str | ints | strs | column | device | int_or_auto
    (a whole number in range, or the word "auto") | parts (distinct names from ``choices``, or "auto" to
    let the data choose; true and false, as older settings wrote them, are kept).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    optional: bool = False  # None is allowed (and means: decided from the data)
    size: bool = False  # a size or count of whole(): its bound (high) is named only to a value beyond it

    def check(self, name: str, value: Any) -> None:
        """Raise a ConfigError naming ``name`` when ``value`` breaks the rule."""
        if value is None and self.optional:
            return
        problem = self._problem(value)
        if problem:
            raise ConfigError(f"{{{name}}} must be {problem}, got {value!r}.", params=[name])

    def _problem(self, value) -> str | None:
        kind = self.kind
        if kind == "bool":
            return None if isinstance(value, bool) else "true or false"
        if kind == "choice":
            return None if value in self.choices else "one of " + ", ".join(map(str, self.choices))
        if kind == "device":  # its form here; whether the machine has it, when a session starts (pick_device)
            ok = isinstance(value, str) and re.fullmatch(r"auto|(cpu|cuda|mps)(:\d+)?", value)  # as torch names them
            return None if ok else "auto, cpu, cuda, cuda:N or mps"
        if kind == "str":
            return None if isinstance(value, str) and value.strip() else "a non-empty string"
        if kind == "column":
            ok = (isinstance(value, str) and value.strip()) or (isinstance(value, int) and not isinstance(value, bool))
            return None if ok else "a column name (or a position)"
        if kind == "strs":  # column names, or positions of a 2-D array's columns
            ok = isinstance(value, list) and all((isinstance(v, str) and v.strip()) or _is_int(v) for v in value)
            return None if ok and len(set(value)) == len(value) else "a list of distinct column names"
        if kind == "parts":
            ok = isinstance(value, bool) or value == "auto" or (
                isinstance(value, list) and all(v in self.choices for v in value) and len(set(value)) == len(value))
            return None if ok else f"auto or a list of distinct names from {', '.join(self.choices)}"
        if kind == "ints":
            ok = isinstance(value, list) and all(_is_int(v) and v > 0 for v in value)
            ok = ok and all(b > a for a, b in zip(value, value[1:]))
            return None if ok else "a list of increasing whole numbers above 0"
        if kind == "int_or_auto":
            ok = value == "auto" or (_is_int(value) and self._in_range(value))
            return None if ok else self.describe()
        number = _is_int(value) if kind in ("int", "int_or_auto") else _is_number(value)
        if number and self.size and value > self.high:
            return f"a whole number of at most {self.high}"
        if not number or not self._in_range(value):
            return self.describe()
        return None

    def _in_range(self, value) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True

    def describe(self) -> str:
        """The allowed values in words ("a whole number of at least 1", "a number in [0, 1)")."""
        what = "a whole number" if self.kind in ("int", "int_or_auto") else "a number"
        if self.size:  # the bound of every size is named only to a value beyond it (_problem)
            return Rule(self.kind, self.low, None, self.low_open).describe()
        if self.kind == "int_or_auto":
            return Rule("int", self.low, self.high, self.low_open, self.high_open).describe() + ", or auto"
        show = (lambda v: str(int(v))) if self.kind in ("int", "int_or_auto") else (lambda v: f"{v:g}")  # 10^9 whole
        if self.low is not None and self.high is not None:
            return f"{what} in {'(' if self.low_open else '['}{show(self.low)}, {show(self.high)}" \
                   f"{')' if self.high_open else ']'}"
        if self.low is not None:
            if self.low_open:
                return f"{what} above {self.low:g}" if self.low else f"a positive {what[2:]}"
            return f"{what} of at least {self.low:g}"
        return what


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit integer: the largest seed anywhere
# The largest size or count an option takes (hidden units, window, stride, epochs, ...): more than any setting needs,
# and a bound so that sizes reach torch and numpy as 64-bit integers (10^30 hidden units overflowed torch's size
# arguments, a stride of 10^30 made numpy index with Python objects; both ended in a traceback).
MAX_WHOLE = 10**9


def whole(low: int = 1, high: int = MAX_WHOLE) -> Rule:
    return Rule("int", low=low, high=high, size=True)


def number(low=None, high=None, *, low_open=False, high_open=False) -> Rule:
    return Rule("float", low=low, high=high, low_open=low_open, high_open=high_open)


FRACTION = number(0, 1, high_open=True)
POSITIVE = number(0, low_open=True)
BOOL = Rule("bool")


def choice(*options: str) -> Rule:
    return Rule("choice", choices=options)


def option(default, help: str, rule: Rule, *, metavar: str | None = None):
    """A dataclass field declaring one option: default, help text and rule.

    The help text names other options as ``{name}``; the command line shows them as flags.
    """
    meta = {"help": help, "rule": rule, "metavar": metavar}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


class Section:
    """A group of options stored as one object of ``config.json``."""

    def validate(self) -> None:
        """Check every field against its rule, then the section's cross-field rules (``check``)."""
        for f in dataclasses.fields(self):
            f.metadata["rule"].check(f.name, getattr(self, f.name))
        self.check()

    def check(self) -> None:
        """Rules that tie several fields together (overridden)."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        if not isinstance(data, dict):
            raise ConfigError(f"the {cls.section} settings must be a JSON object, got {type(data).__name__}.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"there is no option {unknown[0]!r}; remove it.")
        obj = cls(**data)
        obj.validate()
        return obj

    @classmethod
    def variant(cls, **defaults):
        """This section with other defaults for some fields (same help and rules): a task's own defaults."""
        fields = []
        for f in dataclasses.fields(cls):
            if f.name in defaults:
                value = defaults.pop(f.name)
                fields.append((f.name, f.type, option(value, f.metadata["help"], f.metadata["rule"],
                                                      metavar=f.metadata["metavar"])))
        if defaults:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(defaults)}")
        return dataclasses.make_dataclass(cls.__name__, fields, bases=(cls,), namespace={"__doc__": cls.__doc__})

"""The command-line form of one option field: its flag, click type and help text.

Light on purpose (click and the rules only): commands that must start fast,
such as ``seqtext complete``, build their flags from here without importing
the option tables of :mod:`seqtext.config`.
"""

from __future__ import annotations

import dataclasses
import re

import click

from seqtext.rules import Rule


def flag(name: str) -> str:
    """The command-line spelling of a Python parameter: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def _whole(kind: click.ParamType, text: str, param, ctx) -> int:
    """``int(text)`` of a text of decimal digits, or ``kind``'s usage error where it has more than int() reads."""
    try:
        return int(text)
    except ValueError:  # Python reads at most 4,300 digits
        kind.fail(f"{text.strip()[:12]}... has {len(text.strip())} digits, more than any setting takes; give a "
                  "smaller number.", param, ctx)


class IntList(click.ParamType):
    """Comma-separated whole numbers ("2000,6000"), or a list of them from a config file."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        items = list(value) if isinstance(value, (list, tuple)) else str(value).split(",")
        numbers = []
        for item in items:
            if isinstance(item, str) and item.strip().lstrip("-").isdecimal():  # as int() reads ("²" is a digit)
                numbers.append(_whole(self, item, param, ctx))
            elif isinstance(item, int) and not isinstance(item, bool):
                numbers.append(item)
            else:
                self.fail(f"{value!r} is not a comma-separated list of whole numbers.", param, ctx)
        return numbers


class CountOrAuto(click.ParamType):
    """A whole number of at least ``low``, or the word auto."""

    name = "N|auto"

    def __init__(self, low: int = 1):
        self.low = low

    def convert(self, value, param, ctx):
        if value == "auto":
            return value
        text = str(value).strip()
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif text.lstrip("-").isdecimal():  # what int() reads: "²" is a digit, not a decimal
            number = _whole(self, text, param, ctx)
        else:
            self.fail(f"{value!r} is neither a whole number nor auto.", param, ctx)
        if number < self.low:
            self.fail(f"{number} is below {self.low}; give a whole number of at least {self.low}, or auto.",
                      param, ctx)
        return number


class NameList(click.ParamType):
    """Comma-separated names ("a,b"), or a list of them from a config file."""

    name = "A,B"

    def convert(self, value, param, ctx):
        items = list(value) if isinstance(value, (list, tuple)) else str(value).split(",")
        names = [str(item).strip() for item in items]
        if not all(names):
            self.fail(f"{value!r} has an empty name; give names separated by commas, e.g. a,b.", param, ctx)
        return names


class PartList(click.ParamType):
    """Comma-separated names from a fixed set ("month,hour"), or "auto"; a config file may give a list, or the
    true and false of older settings."""

    name = "PARTS"

    def __init__(self, choices):
        self.choices = tuple(choices)

    def convert(self, value, param, ctx):
        if isinstance(value, bool) or value == "auto":
            return value
        items = list(value) if isinstance(value, (list, tuple)) else str(value).split(",")
        names = [str(item).strip() for item in items]
        wrong = [n for n in names if n not in self.choices]
        if wrong:
            self.fail(f"{wrong[0]!r} is not one of {', '.join(self.choices)}; give some of them separated by "
                      "commas, or auto.", param, ctx)
        if len(set(names)) != len(names):
            self.fail(f"{value!r} names a part twice; name each once.", param, ctx)
        return names


def click_type(rule: Rule):
    """The click type that accepts what ``rule`` accepts (the rule still checks the value afterwards)."""
    if rule.kind == "choice":
        return click.Choice(rule.choices)
    if rule.kind == "int":
        return click.IntRange(min=rule.low, max=rule.high)
    if rule.kind == "float":
        return click.FloatRange(min=rule.low, max=rule.high, min_open=rule.low_open, max_open=rule.high_open)
    if rule.kind == "ints":
        return IntList()
    if rule.kind == "int_or_auto":
        return CountOrAuto(int(rule.low or 0))
    if rule.kind == "strs":
        return NameList()
    if rule.kind == "parts":
        return PartList(rule.choices)
    return str


def help_text(fld: dataclasses.Field) -> str:
    """A field's help with the options it names (``{lr}``) written as flags (``--lr``)."""
    return re.sub(r"\{(\w+)\}", lambda m: flag(m.group(1)), fld.metadata["help"])


def field_option(fld: dataclasses.Field, default):
    """One click option for one declared field."""
    rule, help = fld.metadata["rule"], help_text(fld)
    name = flag(fld.name)
    if rule.kind == "bool":
        return click.option(f"{name}/--no-{name[2:]}", fld.name, default=default, show_default=True, help=help)
    if rule.kind == "parts":  # the flag alone: auto
        return click.option(name, fld.name, type=click_type(rule), is_flag=False, flag_value="auto", default=default,
                            help=help, metavar=fld.metadata["metavar"])
    if default is None or default == []:  # "decided from the data": nothing to show
        return click.option(name, fld.name, type=click_type(rule), default=default, help=help,
                            metavar=fld.metadata["metavar"])
    return click.option(name, fld.name, type=click_type(rule), default=default, show_default=True, help=help,
                        metavar=fld.metadata["metavar"])

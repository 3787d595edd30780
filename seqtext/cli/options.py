"""Click options generated from the option declarations in :mod:`seqtext.config`.

Every field of a task's :class:`~seqtext.config.Settings` becomes one option
(``hidden`` -> ``--hidden``, a boolean ``tie_weights`` ->
``--tie-weights/--no-tie-weights``), with the task's default shown in
``--help``, the field's help text, and a click type made from its rule.  The
options every training command shares (``--config``, ``--resume``,
``--out``, ``--quiet``) are one decorator, :func:`training_command`.
"""

from __future__ import annotations

import dataclasses
import re

import click

from seqtext.config import Settings
from seqtext.rules import Rule


def flag(name: str) -> str:
    """The command-line spelling of a Python parameter: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


class IntList(click.ParamType):
    """Comma-separated whole numbers ("2000,6000"), or a list of them from a config file."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        items = list(value) if isinstance(value, (list, tuple)) else str(value).split(",")
        numbers = []
        for item in items:
            if isinstance(item, str) and item.strip().lstrip("-").isdigit():
                numbers.append(int(item))
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
        elif text.lstrip("-").isdigit():
            number = int(text)
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
    if default is None or default == []:  # "decided from the data": nothing to show
        return click.option(name, fld.name, type=click_type(rule), default=default, help=help,
                            metavar=fld.metadata["metavar"])
    return click.option(name, fld.name, type=click_type(rule), default=default, show_default=True, help=help,
                        metavar=fld.metadata["metavar"])


def settings_options(settings: type[Settings]):
    """Decorate a command with one option per option of ``settings``, in declaration order."""
    defaults = settings.defaults()

    def decorate(func):
        for _, fld in reversed(settings.fields()):
            func = field_option(fld, defaults[fld.name])(func)
        return func

    return decorate


def given_options(ctx: click.Context, options: dict) -> dict:
    """The options set on the command line or in --config, not left at their defaults."""
    source = click.core.ParameterSource
    return {name: value for name, value in options.items()
            if ctx.get_parameter_source(name) in (source.COMMANDLINE, source.DEFAULT_MAP, source.ENVIRONMENT)}


def _load_config(settings: type[Settings]):
    def callback(ctx, param, value):
        """``--config FILE``: options from TOML, JSON or a model's config.json; the command line still wins."""
        if value is None:
            return None
        from seqtext.config import read_options_file
        from seqtext.errors import SeqtextError

        try:
            options = read_options_file(value, settings)
        except SeqtextError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
        names = {p.name for p in ctx.command.params if p.name != "config"}
        unknown = sorted(set(options) - names)
        if unknown:
            raise click.BadParameter(f"{value} sets an unknown option {unknown[0]!r}; see {ctx.command_path} "
                                     "--help for the options.", ctx=ctx, param=param)
        declared = {f.name: f for _, f in settings.fields()}
        for key, item in options.items():
            if key in declared:
                try:
                    declared[key].metadata["rule"].check(key, item)
                except SeqtextError as exc:
                    raise click.BadParameter(f"{value}: {exc}", ctx=ctx, param=param) from None
        for key in ("corpus",):  # multiple-valued paths may be written as one string
            if isinstance(options.get(key), str):
                options[key] = [options[key]]
        ctx.default_map = {**(ctx.default_map or {}), **options}
        return value

    return callback


def training_command(settings: type[Settings]):
    """The options of every training command: --config, --resume, --out, --quiet, then the settings."""

    def decorate(func):
        func = click.option("--quiet", is_flag=True, help="No progress bar.")(func)
        func = settings_options(settings)(func)
        func = click.option("--resume", "resume", metavar="DIR",
                            help="Continue the training saved in DIR (after Ctrl-C or a crash); --epochs and "
                                 "--patience may raise its limits.")(func)
        func = click.option("--config", "config", metavar="FILE", is_eager=True, expose_value=False,
                            callback=_load_config(settings),
                            help="TOML or JSON file of options (keys as the flags, e.g. hidden = 200), or a "
                                 "model's config.json to repeat its settings; flags override it.")(func)
        return func

    return decorate

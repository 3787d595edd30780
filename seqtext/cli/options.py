"""Click options generated from the option declarations in :mod:`seqtext.config`.

Every field of a task's :class:`~seqtext.config.Settings` becomes one option
(``hidden`` -> ``--hidden``, a boolean ``tie_weights`` ->
``--tie-weights/--no-tie-weights``), with the task's default shown in
``--help``, the field's help text, and a click type made from its rule.  The
options every training command shares (``--config``, ``--resume``,
``--out``, ``--quiet``) are one decorator, :func:`training_command`.
"""

from __future__ import annotations

import click

from seqtext.cli.fields import click_type, field_option, flag, help_text  # noqa: F401  (re-exported)
from seqtext.config import Settings


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


RESUMABLE = ("epochs", "patience", "device")  # what --resume may change: how long the training runs, and where


def resume_kind(resume, kind: str) -> None:
    """Refuse to resume a model of another kind, naming the command that resumes it, before anything is opened
    for writing."""
    from seqtext.errors import CheckpointError
    from seqtext.modeldir import TRAIN_COMMANDS, read_config

    found = read_config(resume).get("kind")
    if found != kind:
        how = f"; resume it with {TRAIN_COMMANDS[found]} --resume" if found in TRAIN_COMMANDS else ""
        raise CheckpointError(f"{resume} holds a {found} model, not a {kind} model{how}.")


def refuse_empty(name: str, value: str | None, what: str) -> None:
    """Refuse a path option given as "" (read as the current directory, or as not given at all), naming ``what`` it
    should name; spaces are left alone: a file may be named so."""
    if value == "":
        raise click.UsageError(f"{name} is empty; give {what}.")


def required_paths(*named: tuple[str, str | None, str]) -> None:
    """Refuse a training's path option that is missing (``None``) or empty; ``named``: (flag, value, what it
    names)."""
    for name, value, what in named:
        if value is None:
            raise click.UsageError(f"Missing option '{name}': give it, or --resume DIR to continue a training.")
        refuse_empty(name, value, what)


def resume_changes(ctx: click.Context, options: dict, others: dict) -> dict:
    """The options a --resume changes (of RESUMABLE); any other option given (``others``: the command's own, such
    as --out) is refused in one sentence, before anything is opened."""
    given = given_options(ctx, {**options, **others})
    changed = sorted(set(given) - set(RESUMABLE))
    if changed:
        raise click.UsageError(f"--resume continues with the saved settings; only --epochs, --patience and --device "
                               f"may change (got {flag(changed[0])}).")
    return {name: options[name] for name in given if name in RESUMABLE}


def _load_config(settings: type[Settings]):
    def callback(ctx, param, value):
        """``--config FILE``: options from TOML, JSON or a model's config.json; the command line still wins."""
        if value is None:
            return None
        from seqtext.optionfiles import read_options_file
        from seqtext.errors import SeqtextError

        try:
            options = read_options_file(value, settings)
        except SeqtextError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
        names = {p.name for p in ctx.command.params if p.name != "config"}
        aliases = {o.lstrip("-").replace("-", "_"): p.name for p in ctx.command.params for o in p.opts}
        for key in [k for k in options if k not in names and aliases.get(k) in names]:  # dev = ... for valid
            if aliases[key] in options:
                raise click.BadParameter(f"{value} sets {aliases[key]} twice ({aliases[key]} and {key}); keep one.",
                                         ctx=ctx, param=param)
            options[aliases[key]] = options.pop(key)
        unknown = sorted(set(options) - names)
        if unknown:
            first = unknown[0]
            if isinstance(options[first], dict):  # a TOML [section]: the options of a file are written flat
                raise click.BadParameter(f"{value} has a [{first}] section, but a --config file lists the options "
                                         "flat, without sections (hidden = 16); move them to the top.",
                                         ctx=ctx, param=param)
            raise click.BadParameter(f"{value} sets an unknown option {first!r}; see {ctx.command_path} "
                                     "--help for the options.", ctx=ctx, param=param)
        declared = {f.name: f for _, f in settings.fields()}
        for key, item in options.items():
            if key in declared:
                try:
                    declared[key].metadata["rule"].check(key, item)
                except SeqtextError as exc:
                    raise click.BadParameter(f"{value}: {exc}", ctx=ctx, param=param) from None
        params = {p.name: p for p in ctx.command.params}
        for key in set(options) - set(declared):  # the command's own options: paths (--corpus, --valid, --out, ...)
            item = options[key]
            if params[key].multiple:  # multiple-valued paths may be written as one string
                if isinstance(item, str):
                    options[key] = [item]
                elif not (isinstance(item, list) and all(isinstance(p, str) for p in item)):
                    raise click.BadParameter(f"{value}: {key} must be a path or a list of paths, got {item!r}.",
                                             ctx=ctx, param=param)
            elif isinstance(item, (list, dict)):
                raise click.BadParameter(f"{value}: {key} takes one value, got {item!r}; give it one.",
                                         ctx=ctx, param=param)
            elif params[key].is_flag and not isinstance(item, bool):  # quiet = "maybe" is no switch
                raise click.BadParameter(f"{value}: {key} must be true or false, got {item!r}.", ctx=ctx, param=param)
            elif isinstance(params[key].type, click.types.StringParamType) and not isinstance(item, str):  # a path
                raise click.BadParameter(f"{value}: {key} must be a path (a string), got {item!r}.", ctx=ctx,
                                         param=param)
            elif not params[key].is_flag:  # a number of the command's own (forecast train --holdout): its type's rule
                if isinstance(params[key].type, click.types.IntParamType) and \
                        (isinstance(item, bool) or not isinstance(item, int)):  # 12.7, true and "12" are no count
                    raise click.BadParameter(f"{value}: {key} must be a whole number, got {item!r}.", ctx=ctx,
                                             param=param)
                try:
                    options[key] = params[key].type.convert(item, params[key], ctx)
                except click.BadParameter as exc:
                    raise click.BadParameter(f"{value}: {key}: {exc.message}", ctx=ctx, param=param) from None
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
                                 "--patience may raise its limits, --device move it.")(func)
        func = click.option("--config", "config", metavar="FILE", is_eager=True, expose_value=False,
                            callback=_load_config(settings),
                            help="TOML or JSON file of options (keys as the flags, e.g. hidden = 200), or a "
                                 "model's config.json to repeat its settings; flags override it.")(func)
        return func

    return decorate

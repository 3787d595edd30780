"""Helpers shared by the click commands.

The library never imports click; here its :class:`~seqtext.errors.SeqtextError`
becomes a :class:`click.ClickException` (exit 1) so the user sees one sentence
and no traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys

import click

from seqtext.errors import ConfigError, SeqtextError


def handle_errors(func):
    """Turn seqtext errors raised inside a command into clean CLI errors."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
        except SeqtextError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:  # the reader stopped early (`seqtext ... | head`): nothing to report
            _silence_stdout()
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away
        except OSError as exc:  # a path the user gave that cannot be read or written
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}; check the path and its permissions.") from None
        except MemoryError:
            raise click.ClickException(
                "ran out of memory; try a smaller batch size, model or input"
            ) from None

    return wrapper


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail on the closed pipe."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


POSITIVE = click.IntRange(min=1)
FRACTION = click.FloatRange(0, 1, max_open=True)


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


def default_option(defaults: dict, name: str, kind, help=None, **extra):
    """An option whose default comes from ``defaults`` (TEXT_DEFAULTS, SERIES_DEFAULTS): one source of truth."""
    key = name.lstrip("-").replace("-", "_")
    return click.option(name, type=kind, default=defaults[key], show_default=True, help=help, **extra)


def echo_json(obj) -> None:
    """Print one strict JSON document on its own line (NaN and infinities become null)."""
    from seqtext.checkpoint import json_safe

    click.echo(json.dumps(json_safe(obj), ensure_ascii=False, allow_nan=False))


def note(message: str) -> None:
    """Print an informational line on stderr (stdout stays machine-readable)."""
    click.echo(message, err=True)


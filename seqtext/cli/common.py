"""Helpers shared by the click commands.

The library never imports click; here its :class:`~seqtext.errors.SeqtextError`
becomes a :class:`click.ClickException` (exit 1) so the user sees one sentence
and no traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys

from pathlib import Path

import click

from seqtext.errors import ConfigError, SeqtextError, counted, first_line, install_hint

RUNS = Path("runs")  # where train writes and where a command without --model looks


def handle_errors(func=None, *, flags: dict | None = None):
    """Turn seqtext errors raised inside a command into clean CLI errors.

    The library names Python parameters (``window``); the message shown names
    the flag (``--window``), or ``flags[param]`` where a command spells one
    differently (``{"data": "--csv"}``); a Python class or call named in a
    message (``seqtext.TextClassifier``) is written as the commands that
    fit (``modeldir.CLI_TERMS``).
    """
    if func is None:
        return functools.partial(handle_errors, flags=flags)
    spelled = flags or {}

    def name_of(param: str) -> str:
        from seqtext.cli.options import flag  # the option tables: imported only to name a flag in an error
        from seqtext.modeldir import CLI_TERMS  # a Python class or call named in an error, as the commands

        return spelled.get(param) or CLI_TERMS.get(param) or flag(param)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check_utf8(kwargs)
        try:
            with _warnings_as_notes(name_of):
                return func(*args, **kwargs)
        except ConfigError as exc:
            raise click.UsageError(exc.render(name_of)) from None
        except SeqtextError as exc:
            raise click.ClickException(exc.render(name_of)) from None
        except BrokenPipeError:  # the reader stopped early (`seqtext ... | head`): nothing to report
            _silence_stdout()
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away
        except OSError as exc:  # a path the user gave that cannot be read or written
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}; check the path and its permissions.") from None
        except ValueError as exc:  # os and pathlib refuse a path holding a NUL, wherever a command first uses one
            if "null byte" not in str(exc):
                raise
            raise click.ClickException("a path given holds a NUL character, which no file name can; remove it.") \
                from None
        except (MemoryError, RuntimeError) as exc:  # torch reports a failed allocation as a RuntimeError
            if isinstance(exc, RuntimeError) and not _out_of_memory(exc):
                raise
            raise click.ClickException("ran out of memory; try a smaller batch size, model or input.") from None
        except KeyboardInterrupt:  # Ctrl-C outside a training (which says what it saved): 130, as a shell expects
            note("interrupted")
            sys.exit(130)
        except ImportError as exc:  # a dependency missing or broken; an import of seqtext's own is a bug: raised
            message = missing_module(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

    return wrapper


_IMPORT_LINE = re.compile(r"\s*(?:from|import)\s+([A-Za-z_][\w.]*)")


def missing_module(exc: ImportError) -> str | None:
    """One sentence for a dependency that cannot be imported, or None when the failing import is seqtext's own.

    The module is the exception's ``name`` when Python sets it (not installed), else the one the ``import``
    statement names (a package that is installed but fails inside its own import); seqtext's own modules
    are never blamed.
    """
    import traceback

    if str(exc).startswith("cannot import name"):  # the module is there, without a name seqtext asks of it
        root = (exc.name or "").split(".")[0]
        return None if root in ("", "seqtext") else \
            f"the installed {root} lacks what this command needs ({first_line(exc)}); upgrade it with " \
            f"{install_hint(root, upgrade=True)}."
    name = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if not name:  # the first import statement, outermost first, of a module that is not seqtext's own
        lines = (_IMPORT_LINE.match(frame.line or "") for frame in traceback.extract_tb(exc.__traceback__))
        name = next((m.group(1) for m in lines if m and m.group(1).split(".")[0] != "seqtext"), None)
    root = (name or "").split(".")[0]
    if not root or root == "seqtext":
        return None
    exported = " (an exported model runs without it in complete, score, the predict commands and serve)"
    return f"this command needs {root}, which cannot be imported here ({first_line(exc)}); install it with " \
           f"{install_hint(root)}{exported if root == 'torch' else ''}."


def _out_of_memory(exc: RuntimeError) -> bool:
    """Whether torch failed to allocate (``DefaultCPUAllocator: can't allocate memory``, ``CUDA out of memory``), or
    was asked for a tensor of more bytes than a 64-bit size holds (``Storage size calculation overflowed``)."""
    text = str(exc).lower()
    return "allocate" in text or "out of memory" in text or "storage size calculation overflowed" in text


def _check_utf8(values: dict) -> None:
    """Arguments whose bytes are not UTF-8 reach Python as lone surrogates: refuse them in one sentence."""
    for value in values.values():
        for text in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    shown = text.encode("utf-8", "replace").decode("utf-8")[:60]
                    raise click.UsageError(f"an argument is not UTF-8 text ({shown!r}); give it as UTF-8.") from None


@contextlib.contextmanager
def _warnings_as_notes(name_of):
    """Print seqtext's warnings as one line on stderr, naming flags ("warning: --threads 8 is ..."), each once
    (a table read twice, for calibration and the final fit, warns once)."""
    import warnings

    from seqtext.errors import SeqtextWarning

    shown, printed = warnings.showwarning, set()

    def show(message, category, filename, lineno, file=None, line=None):
        if isinstance(message, SeqtextWarning):
            text = f"warning: {message.render(name_of)}"
            if text not in printed:
                printed.add(text)
                click.echo(text, err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


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


def repetition_options(func=None, *, defaults: bool = False):
    """--no-repeat-ngram and --repetition-penalty: repetition control for generated text.

    ``defaults``: the measured defaults of a continuation apply (and --no-repetition-control turns them off).
    """
    if func is None:
        return functools.partial(repetition_options, defaults=defaults)
    from seqtext.text.decoding import DEFAULT_NO_REPEAT_NGRAM, DEFAULT_REPETITION_PENALTY

    if defaults:
        func = click.option("--repetition-control/--no-repetition-control", default=True, show_default=True,
                            help="Apply --no-repeat-ngram and --repetition-penalty (off: the model's own greedy "
                                 "or sampled choice, loops included).")(func)
    chars = " A character model applies it only when given." if defaults else "  [default: off]"
    func = click.option("--repetition-penalty", type=float, metavar="P", show_default=defaults,
                        default=DEFAULT_REPETITION_PENALTY if defaults else None,
                        help="Divide the positive logits of words already in the prompt or output by P (multiply "
                             "the negative ones): P > 1 discourages repeats." + chars)(func)
    return click.option("--no-repeat-ngram", type=int, metavar="N", show_default=defaults,
                        default=DEFAULT_NO_REPEAT_NGRAM if defaults else None,
                        help="Never write an N-gram already in the prompt or the output." + chars)(func)


def run_training(ctx: click.Context, out, train, resume_command: str):
    """Run ``train()`` (which saves into ``out``) under the output lock; the model, or None off rank 0.

    Under torchrun only rank 0 locks and writes.  Ctrl-C leaves the resumable
    model the session saved and exits 130 with the command that resumes it; a
    collective that fails because another rank died is one sentence.
    """
    import contextlib

    from seqtext import distributed
    from seqtext.outputlock import OutputLock
    from seqtext.session import TrainingInterrupted

    main = distributed.is_main()
    with OutputLock(out) if main else contextlib.nullcontext():
        try:
            model = train()
        except TrainingInterrupted as exc:
            if main:
                state = exc.model.trainer_state
                world = distributed.world_size()  # a checkpoint of N processes resumes bit-identically on N
                how = f" under torchrun on {world} processes" if world > 1 else ""
                note(f"interrupted: saved a resumable checkpoint in {out} (epoch {state['epoch']}, "
                     f"{counted(state['batches_done'], 'batch', 'batches')} into it); resume with: "
                     f"{resume_command} {out}{how}")
            ctx.exit(130)
        except KeyboardInterrupt as exc:  # before the session's first batch, or after its fit (a calibration copy's)
            if main:
                kept = (Path(out) / "config.json").is_file()
                note(f"interrupted: the model saved in {out} is kept{', ' + str(exc) if str(exc) else ''}" if kept
                     else "interrupted before training began; nothing was saved")
            ctx.exit(130)
        except RuntimeError as exc:
            if distributed.world_size() <= 1 or not _collective_failed(exc):  # this rank's own error: as it is
                raise
            kept = f"the last model saved in {out} is intact" if (Path(out) / "config.json").is_file() else \
                "no model was saved yet"
            raise click.ClickException(f"rank {distributed.rank()} stopped because another training process failed "
                                       f"({str(exc).splitlines()[0][:120]}); {kept}.") from None
    distributed.finish()
    return model if main else None


def _collective_failed(exc: RuntimeError) -> bool:
    """Whether a collective operation failed (a peer closed the connection, died or timed out), not this rank."""
    text = str(exc).lower()
    return any(word in text for word in ("gloo", "nccl", "connection", "timed out", "timeout", "peer", "socket"))


def resolve_model(model: str | None) -> Path:
    """The --model directory given, or the newest text model under runs/ (said on stderr)."""
    from seqtext.modeldir import latest_model

    if model:
        return Path(model)
    found = latest_model(RUNS, kind="text")
    if found is None:
        raise click.ClickException(
            f"no trained model found under {RUNS}/; train one with `seqtext train --corpus FILE` "
            "or pass --model DIR."
        )
    note(f"using model {found}")
    return found


def input_lines(file, none: str) -> list[str]:
    """The non-blank lines of a file of inputs (a path; stdin for None or "-"); see :func:`nonblank`."""
    from seqtext.classify.data import read_input_lines

    return nonblank(read_input_lines(file)[1], none)


def nonblank(lines: list[str], none: str) -> list[str]:
    """The lines that hold something, blank ones skipped with a note (each output carries its input, so the rest
    still read against it); ``none``: the refusal when none is left."""
    kept = [line for line in lines if line.strip()]
    if not kept:
        raise click.UsageError(none)
    if len(kept) < len(lines):
        blank = len(lines) - len(kept)
        note(f"note: {blank} blank line{'s' if blank > 1 else ''} skipped")
    return kept


def echo_json(obj) -> None:
    """Print one strict JSON document on its own line (NaN and infinities become null)."""
    from seqtext.modeldir import json_safe

    click.echo(json.dumps(json_safe(obj), ensure_ascii=False, allow_nan=False))


def first_process_only(ctx: click.Context) -> None:
    """Under torchrun, a command that does not train (``ctx.invoked_subcommand`` of a group) runs in the first
    process alone: the others leave at once, as each would print the same report again.  Other launchers that
    set WORLD_SIZE (a cluster's job runner) run every command in every process, as does ``--help``."""
    from seqtext import distributed

    command = ctx.invoked_subcommand
    if distributed.world_size() <= 1 or "TORCHELASTIC_RUN_ID" not in os.environ or command == "train" or \
            command in _TRAINING_GROUPS and ctx.parent is None or {"--help", "-h"} & set(sys.argv[1:]):
        return
    if distributed.rank() != 0:
        ctx.exit(0)
    name = command if ctx.parent is None else f"{ctx.info_name} {command}"
    others = distributed.world_size() - 1
    note(f"note: seqtext {name} runs in one process; " + ("the other process that torchrun started has" if others == 1
         else f"the other {others} processes that torchrun started have") + " nothing to do (torchrun is for the "
         "train commands).")


_TRAINING_GROUPS = ("forecast", "classify", "tag")  # whose train subcommand trains


def note(message: str) -> None:
    """Print an informational line on stderr (stdout stays machine-readable)."""
    click.echo(message, err=True)


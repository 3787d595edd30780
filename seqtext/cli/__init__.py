"""The ``seqtext`` command line: a thin layer over the importable API.

Only click is imported here.  Each command's module is imported when that
command is looked up (``seqtext complete`` imports the text commands and
nothing else), so ``seqtext --help`` and a command's start stay fast; torch,
tokenizers and datasets are imported by the commands that need them.
"""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping

import click

from seqtext import __version__

# command name -> (module, attribute): the whole command line, in one table
COMMANDS = {
    "train": ("seqtext.cli.text", "train"),
    "complete": ("seqtext.cli.complete", "complete"),
    "evaluate": ("seqtext.cli.text", "evaluate"),
    "score": ("seqtext.cli.score", "score"),
    "suggest": ("seqtext.cli.suggest", "suggest"),
    "forecast": ("seqtext.cli.series", "forecast"),
    "classify": ("seqtext.cli.classify", "classify"),
    "tag": ("seqtext.cli.tag", "tag"),
    "theory": ("seqtext.cli.theory", "theory"),
    "export": ("seqtext.cli.export", "export"),
    "serve": ("seqtext.cli.serve", "serve"),
}


class LazyCommands(MutableMapping):
    """A group's commands by name (what ``click.Group.commands`` holds), each imported on first lookup."""

    def __init__(self, table: dict[str, tuple[str, str]]):
        self._table = dict(table)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, attribute = self._table[name]  # KeyError: no such command (click's get() says None)
            self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command
        self._table.setdefault(name, ("", ""))

    def __delitem__(self, name: str) -> None:
        del self._table[name]
        self._loaded.pop(name, None)

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


class OneLineErrors(click.Group):
    """The root group: an error of any command (or of its options) is shown on one line, a control character or
    line break in it (from a path or value the user typed) written as Python escapes it (``\\n``, ``\\x1b``)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            from seqtext.errors import printable

            exc.message = printable(exc.message)
            raise


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]},
             commands=LazyCommands(COMMANDS))
@click.version_option(__version__, prog_name="seqtext")
@click.pass_context
def cli(ctx):
    """seqtext: sequence modelling with recurrent networks.

    Train a next-word model on a sentence corpus, complete prompts with it;
    forecast numeric series, classify texts and tag words with the same
    recurrent core; export models to ONNX and serve them over HTTP; and step
    through the maths of an RNN by hand.
    """
    from seqtext.cli.common import first_process_only

    first_process_only(ctx)


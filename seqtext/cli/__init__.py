"""The ``seqtext`` command line: a thin layer over the importable API.

Only click is imported here; torch, tokenizers and datasets are imported by the
commands that need them, so ``seqtext --help`` stays fast.
"""

from __future__ import annotations

import click

from seqtext import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqtext")
def cli():
    """seqtext: sequence modelling with recurrent networks.

    Train a next-word model on a sentence corpus, complete prompts with it,
    forecast numeric series with the same recurrent core, and step through
    the maths of an RNN by hand.
    """


def _register() -> None:
    from seqtext.cli import text

    for command in text.COMMANDS:
        cli.add_command(command)
    from seqtext.cli import score

    cli.add_command(score.score)
    from seqtext.cli import suggest

    cli.add_command(suggest.suggest)
    from seqtext.cli import series

    cli.add_command(series.forecast)
    from seqtext.cli import classify, tag

    cli.add_command(classify.classify)
    cli.add_command(tag.tag)
    from seqtext.cli import theory

    cli.add_command(theory.theory)
    from seqtext.cli import export, serve

    cli.add_command(export.export)
    cli.add_command(serve.serve)


_register()

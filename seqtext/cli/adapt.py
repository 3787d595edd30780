"""The flags of test-time adaptation (``--dynamic``, ``--cache N`` and their hyper-parameters).

They are generated from the declarations in :mod:`seqtext.text.adaptation`,
as the training flags are from :mod:`seqtext.config`; a hyper-parameter left
at its default reaches the library as None, so that one given without its
method (``--cache-theta`` without ``--cache``) is refused there by name.
"""

from __future__ import annotations

import click

from seqtext.cli.fields import field_option, flag
from seqtext.text.adaptation import Adaptation

GENERATION = ("cache", "cache_theta", "cache_lambda")  # what applies to writing text


def adaptation_options(func=None, *, generation: bool = False):
    """Decorate a command with the adaptation flags (``generation``: the cache's only) and ``--dynamic-stats``."""
    if func is None:
        return lambda f: adaptation_options(f, generation=generation)
    fields = [f for f in Adaptation.fields() if not generation or f.name in GENERATION]
    if not generation:
        func = click.option("--dynamic-stats", "dynamic_stats", metavar="FILE",
                            type=click.Path(dir_okay=True),  # checked by the corpus reader (shipped names too)
                            help="Dynamic evaluation: training text for the gradient statistics (its first 50,000 "
                                 "tokens)  [default: the model's training corpus]")(func)
    for fld in reversed(fields):
        func = field_option(fld, fld.default)(func)
    return func


def adaptation_kwargs(options: dict) -> dict:
    """Pop the adaptation flags out of a command's ``options``: keyword arguments for the library.

    The methods (``dynamic``, ``cache``) pass as they are; a hyper-parameter
    passes only when given on the command line, else as None (the default).
    """
    ctx = click.get_current_context()
    out = {}
    for fld in Adaptation.fields():
        if fld.name not in options:
            continue
        value = options.pop(fld.name)
        given = ctx.get_parameter_source(fld.name) == click.core.ParameterSource.COMMANDLINE
        out[fld.name] = value if fld.name in ("dynamic", "cache") or given else None
    if "dynamic_stats" in options:
        out["dynamic_stats"] = options.pop("dynamic_stats")
    return out


def given(kwargs: dict) -> dict:
    """The adaptation arguments that ask for something (not None, not False)."""
    return {k: v for k, v in kwargs.items() if v is not None and v is not False}


def refuse_export(path, kwargs: dict) -> None:
    """An exported model (onnxruntime) cannot adapt: say so in one sentence."""
    from seqtext.export import is_export

    asked = given(kwargs)
    if asked and is_export(path):
        raise click.ClickException(f"{path} is an exported model, which runs without torch; "
                                   f"{flag(next(iter(asked)))} needs the model directory it was exported from.")


def describe(metrics: dict) -> str | None:
    """One line naming the adaptation used and its hyper-parameters, or None for plain reading."""
    if metrics.get("method", "plain") == "plain":
        return None
    parts = []
    if "dynamic" in metrics:
        d = metrics["dynamic"]
        parts.append(f"dynamic evaluation (lr {d['lr']:g}, decay {d['decay']:g}, segments of {d['bptt']})")
    if "cache" in metrics:
        c = metrics["cache"]
        parts.append(f"neural cache ({c['size']} states, theta {c['theta']:g}, lambda {c['lambda']:g})")
    return " + ".join(parts)

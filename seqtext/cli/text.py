"""Text commands: train, complete, evaluate."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from seqtext.cli.common import FRACTION, POSITIVE, IntList, default_option, echo_json, handle_errors, note
from seqtext.config import CELLS, OPTIMIZERS, TEXT_DEFAULTS

RUNS = Path("runs")


def _resolve_model(model: str | None) -> Path:
    from seqtext.checkpoint import latest_model

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


def _load_config(ctx, param, value):
    """``--config FILE``: a TOML or JSON table of train options; the command line still wins."""
    if value is None:
        return None
    from seqtext.config import read_options_file

    try:
        options = read_options_file(value)
    except Exception as exc:  # ConfigError / DataError with a one-sentence message
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    names = {p.name for p in ctx.command.params if p.name not in ("config",)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise click.BadParameter(f"{value} sets unknown option {unknown[0]!r}; see seqtext train --help.",
                                 ctx=ctx, param=param)
    if "corpus" in options and isinstance(options["corpus"], str):
        options["corpus"] = [options["corpus"]]
    ctx.default_map = {**(ctx.default_map or {}), **options}
    return value


def _opt(name, kind, help=None, **extra):
    return default_option(TEXT_DEFAULTS, name, kind, help, **extra)


@click.command()
@click.option("--config", "config", metavar="FILE", is_eager=True, expose_value=False, callback=_load_config,
              help="TOML or JSON file of train options (keys as below, e.g. hidden = 200); flags override it.")
@click.option("--corpus", "corpus", multiple=True, metavar="PATH",
              help="Training text: a file, or a directory of .txt files; repeat for several.  [required]")
@click.option("--valid", "valid", metavar="FILE", help="Validation text (default: a seeded held-out fraction).")
@click.option("--resume", "resume", metavar="DIR",
              help="Continue the training saved in DIR (after Ctrl-C or a crash); --epochs raises its limit.")
@_opt("--valid-fraction", FRACTION, "Share of lines held out when no --valid is given.")
@click.option("--out", metavar="DIR", help="Model directory to write  [default: runs/<corpus stem>]")
@_opt("--epochs", POSITIVE, "Upper bound on epochs; early stopping usually ends sooner.")
@_opt("--batch-size", POSITIVE, "Sentences per batch.")
@_opt("--optimizer", click.Choice(OPTIMIZERS), "adam, or plain SGD (give it a large --lr, e.g. 20).")
@_opt("--lr", click.FloatRange(min=0, min_open=True), "Learning rate.")
@_opt("--embed", POSITIVE, "Embedding size.")
@_opt("--hidden", POSITIVE, "Hidden units per layer.")
@_opt("--layers", POSITIVE, "Stacked recurrent layers.")
@_opt("--nonlinearity", click.Choice(["tanh", "relu"]), "Activation of the plain RNN cell.")
@_opt("--dropout", FRACTION, "Dropout between stacked layers.")
@_opt("--embed-dropout", FRACTION, "Dropout on the embeddings.")
@_opt("--output-dropout", FRACTION, "Dropout on the core's outputs.")
@click.option("--locked-dropout/--no-locked-dropout", default=TEXT_DEFAULTS["locked_dropout"], show_default=True,
              help="Embedding and output dropout with one mask per sequence (variational), not one per step.")
@_opt("--weight-drop", FRACTION, "DropConnect on the core's hidden-to-hidden weights while training.")
@_opt("--mode", click.Choice(["auto", "sentence", "stream"]),
      "sentence: one padded row per line; stream: running text in BPTT windows; auto: by corpus size.")
@_opt("--bptt", POSITIVE, "Stream mode: tokens per truncated-BPTT window.")
@_opt("--cell", click.Choice(CELLS), "Recurrent cell; rnn is nn.RNN.")
@_opt("--softmax", click.Choice(["full", "adaptive"]),
      "Output layer: full softmax, or adaptive (faster on large vocabularies; not with --tie-weights).")
@click.option("--cutoffs", type=IntList(), default=None,
              help="Adaptive softmax: first id of each tail cluster (default: 20 % and 60 % of the vocabulary).")
@click.option("--tie-weights/--no-tie-weights", default=TEXT_DEFAULTS["tie_weights"], show_default=True,
              help="Share embedding and output weights (a wider --hidden is projected to --embed).")
@_opt("--tokenizer", click.Choice(["word", "bpe"]), "Word-level vocabulary or BPE subwords.")
@click.option("--split-punctuation/--no-split-punctuation", default=TEXT_DEFAULTS["split_punctuation"],
              show_default=True, help="Split punctuation off words; off for text tokenised already (PTB).")
@_opt("--vocab-size", click.IntRange(min=8), "Largest vocabulary (the BPE target size).")
@_opt("--min-frequency", POSITIVE, "Words seen fewer times become <unk>.")
@_opt("--weight-decay", click.FloatRange(min=0), "L2 penalty on the weights.")
@_opt("--clip", click.FloatRange(min=0, min_open=True), "Gradient-norm clipping threshold.")
@_opt("--lr-decay", click.FloatRange(0, 1, min_open=True), "Learning-rate factor when validation loss stalls.")
@_opt("--schedule", click.Choice(["plateau", "cosine"]),
      "plateau: --lr-decay on a stall only; cosine: also to zero over --epochs, step by step.")
@_opt("--warmup", click.IntRange(min=0), "Optimizer steps of linear learning-rate warm-up.")
@_opt("--precision", click.Choice(["fp32", "bf16"]),
      "bf16: autocast the training steps (GPUs, and CPUs with bf16 units); evaluation stays fp32.")
@_opt("--patience", POSITIVE, "Epochs without validation improvement before stopping.")
@_opt("--seed", click.IntRange(min=0), "Seed for initialisation, data order and the split.")
@_opt("--device", str, "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
@_opt("--threads", POSITIVE, "CPU threads for training.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
@click.pass_context
def train(ctx, corpus, valid, resume, out, quiet, **options):
    """Train a next-word model on a sentence corpus (one sentence a line).

    Ctrl-C saves a resumable checkpoint; continue it with --resume DIR.
    """
    from seqtext import distributed
    from seqtext.checkpoint import OutputLock, check_output_dir
    from seqtext.data import corpus_files
    from seqtext.text import TextModel
    from seqtext.train import TrainingInterrupted

    if not corpus and not resume:
        raise click.UsageError("Missing option '--corpus': give the text to train on (or --resume DIR).")
    files = corpus_files(list(corpus)) if corpus else None
    valid_files = corpus_files(valid) if valid else None
    if resume:
        out = Path(resume)
    else:
        out = Path(out) if out else RUNS / Path(corpus[0]).stem
        check_output_dir(out)
    main = distributed.is_main()  # under torchrun only rank 0 locks, writes and prints
    with OutputLock(out) if main else contextlib.nullcontext():
        try:
            if resume:
                given = {name for name in options
                         if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
                ignored = sorted(given - {"epochs", "patience"})
                if ignored:
                    raise click.UsageError(
                        f"--resume continues with the saved settings; only --epochs and --patience may change "
                        f"(got --{ignored[0].replace('_', '-')})."
                    )
                model = TextModel.resume(out, files, valid_files, progress=not quiet, checkpoint_dir=out,
                                         epochs=options["epochs"] if "epochs" in given else None,
                                         patience=options["patience"] if "patience" in given else None)
            else:
                model = TextModel(progress=not quiet, **options)
                model.fit(files, valid=valid_files, checkpoint_dir=out)
        except TrainingInterrupted as exc:
            model = getattr(exc, "model", None) or model
            if main:
                model.save(out)
                state = model.trainer_state
                note(f"interrupted: saved a resumable checkpoint in {out} (epoch {state['epoch']}, "
                     f"{state['batches_done']} batches into it); resume with: seqtext train --resume {out}")
            ctx.exit(130)
        except RuntimeError as exc:
            if distributed.world_size() <= 1:
                raise
            # a collective failed: another rank died or timed out
            raise click.ClickException(
                f"rank {distributed.rank()} stopped because another training process failed "
                f"({str(exc).splitlines()[0][:120]}); the last model saved in {out} is intact."
            ) from None
        path = model.save(out) if main else out
    distributed.finish()
    if not main:
        return
    s = model.summary
    click.echo(f"model written to {path}")
    if "valid_last_word_accuracy" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, "
                   f"last-word accuracy {100 * s['valid_last_word_accuracy']:.1f}% "
                   f"({s['valid_sentences']} sentences, {s['epochs_run']} epochs, {s['seconds']:.1f} s)")
    elif "valid_perplexity" in s:
        click.echo(f"validation perplexity {s['valid_perplexity']:.3f}, next-word accuracy "
                   f"{100 * s['valid_accuracy']:.1f}% ({s['valid_tokens']} tokens, {s['epochs_run']} epochs, "
                   f"{s['seconds']:.1f} s)")
    else:
        click.echo("no validation text (none given and none held out); validation metrics were not computed")


@click.command()
@click.argument("prompt", required=False)
@click.option("--model", metavar="DIR", help="Model directory  [default: the newest under runs/]")
@click.option("--words", type=click.IntRange(min=1), default=20, show_default=True,
              help="Most words to generate; stops at the end of the sentence.")
@click.option("--temperature", type=click.FloatRange(min=0), help="Sample with this temperature (0 is greedy).")
@click.option("--top-k", type=click.IntRange(min=1), help="Sample among the k likeliest tokens.")
@click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), help="Sample from the top-p nucleus.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for sampling.")
@click.option("--stop/--no-stop", default=True, show_default=True,
              help="Stop at the end of the sentence, or go on across sentences for --words words.")
@click.option("--show", "show", type=click.IntRange(min=1), metavar="K",
              help="Also list the K likeliest words for the blank with their probabilities.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per prompt.")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), metavar="PATH",
              help="Complete every line of PATH (- for stdin), one output line each.")
@handle_errors
def complete(prompt, model, words, temperature, top_k, top_p, seed, stop, show, as_json, file):
    """Fill the ___ in PROMPT, or continue PROMPT.

    \b
      seqtext complete "Mary rides the bicycle, the bicycle is ___"
      Mary rides the bicycle, the bicycle is hers.
    """
    if prompt is None and file is None:
        raise click.UsageError("give a PROMPT, or --file PATH with one prompt a line.")
    if prompt is not None and file is not None:
        raise click.UsageError("give either a PROMPT or --file, not both.")
    import torch

    from seqtext.text import TextModel

    torch.set_num_threads(1)  # single prompts are latency-bound; threads only add overhead
    model_dir = _resolve_model(model)
    lm = TextModel.load(model_dir)
    options = dict(words=words, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, stop=stop)
    if file is None:
        _complete_one(lm, prompt, options, show, as_json, single=True)
        return
    try:
        prompts = [line.rstrip("\r\n") for line in file]
    except UnicodeDecodeError:
        raise click.ClickException(f"{file.name} is not UTF-8 text; convert it to UTF-8.") from None
    for line in prompts:
        _complete_one(lm, line, options, show, as_json, single=False)


def _complete_one(lm, prompt, options, show, as_json, single):
    from seqtext.errors import SeqtextError

    try:
        result = lm.complete(prompt, **options)
        candidates = lm.next_words(prompt, show) if show else None
    except SeqtextError as exc:
        if single:
            raise
        # in a batch, one bad line gets its own error line and the rest still run
        if as_json:
            echo_json({"prompt": prompt, "error": str(exc)})
        else:
            click.echo(f"error: {exc}")
        return
    if as_json:
        obj = result.to_dict()
        if candidates is not None:
            obj["candidates"] = [{"word": w, "probability": round(p, 6)} for w, p in candidates]
        echo_json(obj)
        return
    if result.unknown:
        note(f"unknown words (not in the model's vocabulary): {', '.join(result.unknown)}")
    click.echo(str(result))
    if candidates is not None:
        for word, prob in candidates:
            click.echo(f"  {word}\t{prob:.4f}")


@click.command()
@click.option("--model", metavar="DIR", help="Model directory  [default: the newest under runs/]")
@click.option("--corpus", "corpus", multiple=True, required=True, metavar="PATH",
              help="Text to evaluate on: a file, or a directory of .txt files.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@handle_errors
def evaluate(model, corpus, as_json):
    """Perplexity, next-word accuracy and last-word accuracy on a corpus."""
    from seqtext.data import corpus_files
    from seqtext.text import TextModel

    lm = TextModel.load(_resolve_model(model))
    metrics = lm.evaluate(corpus_files(list(corpus)))
    if as_json:
        echo_json(metrics)
        return
    labels = [("perplexity", "perplexity", "{:.3f}"), ("accuracy", "next-word accuracy", "{:.2%}"),
              ("last_word_accuracy", "last-word accuracy", "{:.2%}"), ("sentences", "sentences", "{}"),
              ("tokens", "tokens", "{}")]
    for key, label, fmt in labels:
        if key in metrics:
            click.echo(f"{label:<20}{fmt.format(metrics[key])}")


COMMANDS = [train, complete, evaluate]

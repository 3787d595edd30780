"""Classification commands: seqtext classify train | predict | evaluate.

The training helper :func:`train_model` is shared with ``seqtext tag``.
"""

from __future__ import annotations

from pathlib import Path

import click

from seqtext.cli.common import counted, echo_json, first_process_only, handle_errors, nonblank, run_training
from seqtext.cli.options import required_paths, resume_changes, resume_kind, training_command
from seqtext.errors import DataError
from seqtext.labelconfig import ClassifySettings



@click.group()
@click.pass_context
def classify(ctx):
    """Text classification (many-to-one): a whole text in, one label out.

    \b
      seqtext classify train --data train.tsv --dev dev.tsv --out runs/sst2
      seqtext classify predict --model runs/sst2 "a gorgeous , witty , seductive movie"
      seqtext classify evaluate --model runs/sst2 --data dev.tsv
    """
    first_process_only(ctx)


def train_model(ctx, model_class, settings_class, data, dev, out, resume, quiet, options, command):
    """The body of a training command: check --out (or --resume), train under the output lock, return the model."""
    from seqtext.modeldir import check_output_dir, open_model

    if resume:
        changes = resume_changes(ctx, options, {"out": out})  # --data and --dev: checked against the record
        resume_kind(resume, settings_class.kind)
        out = Path(resume)
        open_model(out, settings_class)  # its settings readable, before anything is locked
    else:
        required_paths(("--data", data, "the file to train on"), ("--out", out, "the model directory to write"))
        out = Path(out)
        check_output_dir(out)

    def work():
        if resume:
            return model_class.resume(out, Path(data) if data else None, Path(dev) if dev else None,
                                      progress=not quiet, checkpoint_dir=out, **changes)
        return model_class(progress=not quiet, **options).fit(Path(data), dev=Path(dev) if dev else None,
                                                              checkpoint_dir=out)

    return out, run_training(ctx, out, work, f"{command} --resume")


@classify.command()
@click.option("--data", metavar="FILE", help="Training file: TSV (text<TAB>label), CSV or JSON Lines  "
                                             "[required unless --resume]")
@click.option("--dev", "--valid", "dev", metavar="FILE",
              help="Validation file, same formats  [default: a seeded held-out share]")
@click.option("--out", metavar="DIR", help="Model directory to write  [required unless --resume]")
@training_command(ClassifySettings)
@handle_errors
@click.pass_context
def train(ctx, data, dev, out, resume, quiet, **options):
    """Train a classifier on labelled texts; Ctrl-C saves a resumable checkpoint (--resume DIR)."""
    from seqtext.classify import TextClassifier

    out, model = train_model(ctx, TextClassifier, ClassifySettings, data, dev, out, resume, quiet, options,
                             "seqtext classify train")
    if model is None:
        return
    s = model.summary
    click.echo(f"model written to {out}")
    line = f"{counted(s['train_texts'], 'training text')}, {len(model.labels)} labels, {counted(s['epochs_run'])}, " \
           f"{s['seconds']:.1f} s"
    if "valid_accuracy" in s and "valid_texts" in s:
        line += (f"; validation accuracy {100 * s['valid_accuracy']:.2f}% ({counted(s['valid_texts'], 'text')}, "
                 f"epoch {s['epoch']})")
    click.echo(line)


def read_input(texts, file) -> tuple[list[str], list[str] | None, str]:
    """Texts from the arguments, --file (one a line, - for stdin), or stdin when neither is given; for a file or
    stdin, the place of each ("FILE line N", None for arguments); and the name of where they came from."""
    from seqtext.classify.data import read_input_lines, read_texts

    if texts and file is not None:
        raise click.UsageError("give texts as arguments or --file, not both.")
    if texts:
        return read_texts(texts), None, "the arguments"
    path, lines = read_input_lines(file)
    kept = nonblank(lines, "there are no texts to classify; give them as arguments, --file or on stdin.")
    return read_texts(kept), [f"{path} line {n}" for n, line in enumerate(lines, 1) if line.strip()], str(path)


def refuse_labelled(lines: list[str], where: str, columns, labels) -> None:
    """Refuse a file of labelled examples given as texts to classify, in one sentence naming ``classify evaluate``.
    Labelled: text<TAB>label rows (every line as many tabs, after a header row perhaps, their last fields the
    model's ``labels`` in any case: all of them, or with 4 rows or more three in four, the others one word each,
    labels training never saw);
    JSON Lines whose every line is an object holding the text column; or a first line that is a header, comma- or
    tab-separated, naming both the text column and the label column (``columns``: the model's recorded ones,
    else text or sentence, and label).  Prose, a tab in a text and JSON of other shapes are classified."""
    import csv
    import json
    import re

    from seqtext.classify.data import LABEL_NAMES, TEXT_NAMES

    texts = {name.lower() for name in ([columns.text_column] if columns.text_column else TEXT_NAMES)}
    names = {name.lower() for name in ([columns.label_column] if columns.label_column else LABEL_NAMES)}
    known = {_label_form(label) for label in labels}

    def json_row(line: str) -> bool:
        try:
            row = json.loads(line) if line.lstrip().startswith("{") else None
        except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
            return False
        return isinstance(row, dict) and any(key.lower() in texts for key in row if isinstance(key, str))

    def header(cells: list[str]) -> bool:  # names only: "Sentence, label, and ..." is prose
        cells = [cell.strip().lower() for cell in cells]
        return bool(set(cells) & texts and set(cells) & names and
                    all(cell in texts | names or re.fullmatch(r"[\w.-]+", cell) for cell in cells))

    first = lines[0] if len(lines[0]) <= 1_000 else ""  # a header is short (and csv refuses fields over 128 KB)
    rows = lines[1:] if first and first.rsplit("\t", 1)[-1].strip().lower() in names else lines
    what = None
    if rows and len({line.count("\t") for line in lines}) == 1 and "\t" in lines[0] and \
            _mostly_labels([_label_form(row.rsplit("\t", 1)[1]) for row in rows], known):
        what = "tab-separated rows (text<TAB>label)"
    elif all(map(json_row, lines)):
        what = "JSON Lines (an object a line)"
    elif first and any(header(next(csv.reader([first], delimiter=d))) for d in ",\t"):
        what = f"a header naming its columns ({first.strip()[:60]})"
    if what:
        raise DataError(f"{where} holds {what}, a table of examples, not one text a line; give the texts alone, one "
                        "a line (seqtext classify evaluate scores labelled examples).")


def _mostly_labels(fields: list[str], known: set[str]) -> bool:
    """Whether the last fields of tab-separated rows are labels: all of them the model's, or with 4 rows or more,
    three in four of them, the others single words (labels training never saw, not text)."""
    seen = sum(field in known for field in fields)
    if seen == len(fields):
        return True
    others = [field for field in fields if field not in known]
    return len(fields) >= 4 and 4 * seen >= 3 * len(fields) and all(len(f.split()) == 1 for f in others)


def _label_form(value: str) -> str:
    """A label as training matches it (1.0, pandas' integer with a gap, is 1), lower-cased to compare."""
    from seqtext.classify.data import whole_label

    value = value.strip()
    return (whole_label(value) or value).lower()


@classify.command()
@click.argument("texts", nargs=-1)
@click.option("--model", required=True, metavar="DIR",
              help="Model directory written by classify train, or one written by `seqtext export`.")
@click.option("--file", "file", metavar="PATH",
              help="Classify every line of PATH (- for stdin).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per text: text, label, probability, probabilities.")
@handle_errors
def predict(texts, model, file, as_json):
    """Print the likeliest label of each text and its probability (tab-separated, then the text)."""
    from seqtext.export import open_model

    inputs, places, where = read_input(texts, file)
    clf = open_model(model, "classify")  # an exported directory runs on onnxruntime, without torch
    if places is not None:  # the file's lines against the model's columns
        refuse_labelled(inputs, where, clf.settings.classify, clf.labels)
    for text, probs in zip(inputs, clf.predict_proba(inputs, places=places)):
        label = max(probs, key=probs.get)
        if as_json:
            echo_json({"text": text, "label": label, "probability": probs[label], "probabilities": probs})
        else:
            shown = " ".join(text.replace("\t", " ").splitlines())  # one output line per text, whatever it holds
            click.echo(f"{label}\t{probs[label]:.4f}\t{shown}")


def print_report(report: dict, name: str) -> None:
    """Per-label precision / recall / F1 and the confusion matrix, as aligned text."""
    labels = report["labels"]
    width = max(8, *(len(label) for label in labels))
    click.echo(f"{name:<{width}}  precision  recall     F1  support")
    for label in labels:
        r = report["per_label"][label]
        click.echo(f"{label:<{width}}  {r['precision']:9.4f}  {r['recall']:6.4f}  {r['f1']:6.4f}  {r['support']:7d}")
    click.echo("confusion (rows: gold, columns: predicted)")
    click.echo(" " * width + "  " + "  ".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, report["confusion"]):
        click.echo(f"{label:<{width}}  " + "  ".join(f"{n:>{width}d}" for n in row))


@classify.command()
@click.option("--model", required=True, metavar="DIR", help="Model directory written by classify train.")
@click.option("--data", required=True, metavar="FILE", help="Labelled file: TSV, CSV or JSON Lines.")
@click.option("--text-column", metavar="COL", help="Column of the text  [default: the one training read, else text "
                                                   "or sentence]")
@click.option("--label-column", metavar="COL", help="Column of the label  [default: the one training read, else "
                                                    "label]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (accuracy as a fraction).")
@handle_errors
def evaluate(model, data, text_column, label_column, as_json):
    """Accuracy, macro F1, per-label precision / recall / F1 and the confusion matrix on labelled texts."""
    from seqtext.classify import TextClassifier

    report = TextClassifier.load(model).evaluate(Path(data), text_column=text_column, label_column=label_column)
    if as_json:
        echo_json(report)
        return
    click.echo(f"accuracy  {100 * report['accuracy']:.2f}%  ({report['count']} texts)")
    click.echo(f"macro F1  {100 * report['macro_f1']:.2f}")
    print_report(report, "label")



"""CLI tests for train / complete / evaluate, driven by click's CliRunner."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqtext import load
from seqtext.cli import cli

from conftest import CORPORA, TINY_LINES, assert_clean_failure, write_corpus

FAST = ["--epochs", "2", "--embed", "8", "--hidden", "8", "--quiet", "--device", "cpu"]


def run(args, input=None):
    return CliRunner().invoke(cli, args, input=input)


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "tiny.txt", TINY_LINES * 3)


def test_help_lists_commands():
    result = run(["--help"])
    assert result.exit_code == 0
    for name in ("train", "complete", "evaluate"):
        assert name in result.output
    summary = " ".join(result.output.split("Options:")[0].split())
    for task in ("forecast numeric series", "classify texts", "tag words", "export models to ONNX", "serve them"):
        assert task in summary


def test_train_then_complete_and_evaluate(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(["train", "--corpus", str(corpus), "--epochs", "40", "--lr", "0.01", "--embed", "16",
                  "--hidden", "32", "--batch-size", "8", "--quiet", "--device", "cpu", "--patience", "40"])
    assert result.exit_code == 0, result.output
    assert "model written to runs/tiny" in result.output and "validation perplexity" in result.output
    model_dir = tmp_path / "runs" / "tiny"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "config.json", "metrics.jsonl", "model.safetensors", "tokenizer.json", "trainer.pt"]
    model = load(model_dir)

    # complete without --model picks the newest model under runs/ and says which on stderr
    result = CliRunner().invoke(cli, ["complete", "Mary rides the bicycle, the bicycle is ___"])
    assert result.exit_code == 0, result.output
    assert "using model runs/tiny" in result.stderr
    assert result.stdout.strip() == model.complete("Mary rides the bicycle, the bicycle is ___")

    result = run(["evaluate", "--model", str(model_dir), "--corpus", str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    strict = json.loads(result.output, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert strict == pytest.approx(model.evaluate(corpus))


def test_complete_options(tiny_model_dir, tiny_model):
    prompt = "Mary rides the bicycle, the bicycle is ___"
    result = run(["complete", "--model", str(tiny_model_dir), prompt, "--show", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Mary rides the bicycle, the bicycle is hers."
    assert lines[1].split() == ["hers", f"{tiny_model.next_words(prompt, 1)[0][1]:.4f}"]
    assert len(lines) == 4

    result = run(["complete", "--model", str(tiny_model_dir), prompt, "--json", "--show", "2"])
    obj = json.loads(result.output)
    assert obj["completion"] == "Mary rides the bicycle, the bicycle is hers."
    assert obj["words"] == ["hers"] and obj["unknown"] == []
    assert [c["word"] for c in obj["candidates"]][0] == "hers" and len(obj["candidates"]) == 2

    result = run(["complete", "--model", str(tiny_model_dir), "We", "--temperature", "1.2", "--seed", "4",
                  "--top-k", "5", "--top-p", "0.9"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == tiny_model.complete("We", temperature=1.2, seed=4, top_k=5, top_p=0.9)
    assert "warning" not in result.output

    # a seed without a sampling option changes nothing (greedy): said once, and the completion is the greedy one
    result = run(["complete", "--model", str(tiny_model_dir), "We", "--seed", "4"])
    assert result.exit_code == 0, result.output
    warning, completion = result.output.splitlines()
    assert warning == "warning: --seed seeds sampling, but without --temperature, --top-k or --top-p each word is " \
                      "the likeliest one, so the seed changes nothing; sample with a --temperature above 0, --top-k " \
                      "or --top-p."
    assert completion == tiny_model.complete("We")
    result = run(["complete", "--model", str(tiny_model_dir), "We", "--seed", "4", "--temperature", "0", "--top-k",
                  "5"])  # top-k filters what is sampled, and nothing is: the advice is the temperature alone
    assert result.output.splitlines()[0] == "warning: --seed seeds sampling, but with --temperature 0 (greedy) each " \
                                            "word is the likeliest one, so the seed changes nothing; sample with a " \
                                            "--temperature above 0."

    # options that shape a continuation, given with a blank (filled with one word without them): said, once
    blank = "Mary rides the bicycle, the bicycle is ___"
    result = run(["complete", "--model", str(tiny_model_dir), blank, "--words", "3", "--no-stop", "--stop"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["warning: --words shapes a continuation, not a ___ blank, which is filled "
                                          "with one word without it.", str(tiny_model.complete(blank))]
    result = run(["complete", "--model", str(tiny_model_dir), blank, "--no-repeat-ngram", "2", "--no-stop"])
    assert "warning: --no-stop, --no-repeat-ngram shape a continuation" in result.output


def test_complete_file_batch_in_order(tiny_model_dir, tiny_model, tmp_path):
    prompts = ["Mary rides the bicycle, the bicycle is ___", "John drives the car, the car is ___",
               "___ and ___", "We drive"]
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(prompts) + "\n")
    result = run(["complete", "--model", str(tiny_model_dir), "--file", str(path)])
    assert result.exit_code == 1, result.output  # every line answered, and the status says one failed
    assert result.stderr.strip().splitlines() == [f"Error: 1 of 4 prompts of {path} could not be completed (each "
                                                  "error is in its place above); fix them or leave them out."]
    lines = result.stdout.splitlines()
    assert lines[0] == tiny_model.complete(prompts[0]) and lines[1] == tiny_model.complete(prompts[1])
    assert lines[2].startswith("error: the prompt has 2 blanks")
    assert lines[3] == tiny_model.complete(prompts[3])

    result = run(["complete", "--model", str(tiny_model_dir), "--file", "-", "--json"],
                 input="\n".join(prompts[:2]) + "\n")
    rows = [json.loads(l) for l in result.output.splitlines()]
    assert result.exit_code == 0 and [r["completion"] for r in rows] == [tiny_model.complete(p) for p in prompts[:2]]
    bad = tmp_path / "bad.txt"
    bad.write_text("___ and ___\n___ or ___\n")  # every line fails: the batch is a failure, each line still named
    result = run(["complete", "--model", str(tiny_model_dir), "--file", str(bad)])
    assert_clean_failure(result, "no prompt of", "bad.txt could be completed")
    assert result.output.count("error: the prompt has 2 blanks") == 2
    gaps = run(["complete", "--model", str(tiny_model_dir), "--file", "-"], input="\n" + prompts[0] + "\n\n")
    assert gaps.exit_code == 0 and gaps.stdout.splitlines() == [tiny_model.complete(prompts[0])]
    assert "note: 2 blank lines skipped" in gaps.stderr  # as score and classify skip them, not an error line each
    assert_clean_failure(run(["complete", "--model", str(tiny_model_dir), "--file", "-"], input=""),
                         "holds no prompts")
    spaces = run(["complete", "--model", str(tiny_model_dir), "   ", "--stream"])
    assert_clean_failure(spaces, "the prompt is empty")
    assert spaces.stdout == ""  # checked before the prompt is echoed


def test_unknown_words_are_named(tiny_model_dir):
    result = run(["complete", "--model", str(tiny_model_dir), "Zorblax quux ___"])
    assert result.exit_code == 0, result.output
    assert "unknown words (not in the model's vocabulary): Zorblax, quux" in result.stderr
    assert result.stdout.startswith("Zorblax quux ")
    scored = run(["score", "--model", str(tiny_model_dir), "quux Zorblax", "Mary zz", "--json"])
    assert "unknown words (not in the model's vocabulary): quux, Zorblax, zz" in scored.stderr  # in order, as JSON
    assert [json.loads(line)["unknown"] for line in scored.stdout.splitlines()] == [["quux", "Zorblax"], ["zz"]]


# ---------------------------------------------------------------- bad input


def test_train_missing_corpus(tmp_path):
    r = run(["train", "--corpus", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "m"), *FAST])
    assert_clean_failure(r, "does not exist")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("content, fragment", [
    (b"", "no text"),
    (b"   \n\t\n  \n", "no text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"caf\xe9 au lait\n", "not valid UTF-8"),
])
def test_train_bad_corpus_content(tmp_path, content, fragment):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    r = run(["train", "--corpus", str(path), "--out", str(tmp_path / "m"), *FAST])
    assert_clean_failure(r, fragment)
    assert not (tmp_path / "m").exists()


def test_train_directory_without_text(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "data.csv").write_text("a,b\n")
    r = run(["train", "--corpus", str(tmp_path / "d"), "--out", str(tmp_path / "m"), *FAST])
    assert_clean_failure(r, "no .txt files")


def test_train_directory_of_text_files(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("\n".join(TINY_LINES[:3]))
    (d / "b.txt").write_text("\n".join(TINY_LINES[3:]))
    r = run(["train", "--corpus", str(d), "--out", str(tmp_path / "m"), "--valid-fraction", "0.2", *FAST])
    assert r.exit_code == 0, r.output
    assert load(tmp_path / "m").summary["train_sentences"] + load(tmp_path / "m").summary["valid_sentences"] == 6


def test_train_refuses_foreign_out_dir(tmp_path, corpus):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    r = run(["train", "--corpus", str(corpus), "--out", str(out), *FAST])
    assert_clean_failure(r, "not a seqtext model directory")
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


@pytest.mark.parametrize("option", [
    ["--hidden", "0"], ["--embed", "-3"], ["--layers", "0"], ["--dropout", "1"], ["--dropout", "-0.1"],
    ["--epochs", "0"], ["--batch-size", "0"], ["--lr", "0"], ["--nonlinearity", "sigmoid"],
])
def test_train_bad_sizes_are_usage_errors(tmp_path, corpus, option):
    r = run(["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), *FAST, *option])
    assert_clean_failure(r)
    assert r.exit_code == 2
    assert not (tmp_path / "m").exists()


def test_complete_without_any_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_clean_failure(run(["complete", "hello"]), "no trained model found")


def _broken_copy(src, tmp_path, name):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: (d / "model.safetensors").unlink(), "missing model.safetensors"),
    (lambda d: (d / "tokenizer.json").unlink(), "missing tokenizer.json"),
    (lambda d: (d / "config.json").write_text("{broken"), "config.json is corrupted"),
    (lambda d: (d / "config.json").write_text("[1, 2]"), "not a seqtext model configuration"),
    (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 20), "model.safetensors is corrupted"),
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:-50]),
     "model.safetensors is corrupted"),
    (lambda d: (d / "tokenizer.json").write_text("nope"), "tokenizer.json"),
])
def test_complete_with_damaged_model(tiny_model_dir, tmp_path, damage, fragment):
    model = _broken_copy(tiny_model_dir, tmp_path, "broken")
    damage(model)
    assert_clean_failure(run(["complete", "--model", str(model), "Mary rides"]), fragment)


def test_complete_with_newer_format_and_mismatched_weights(tiny_model_dir, tmp_path):
    newer = _broken_copy(tiny_model_dir, tmp_path, "newer")
    cfg = json.loads((newer / "config.json").read_text())
    cfg["format_version"] = 99
    (newer / "config.json").write_text(json.dumps(cfg))
    assert_clean_failure(run(["complete", "--model", str(newer), "Mary"]), "newer seqtext")

    wrong = _broken_copy(tiny_model_dir, tmp_path, "wrong")
    cfg = json.loads((wrong / "config.json").read_text())
    cfg["core"]["hidden"] = 7
    (wrong / "config.json").write_text(json.dumps(cfg))
    assert_clean_failure(run(["complete", "--model", str(wrong), "Mary"]), "does not match config.json")

    for kind in ("char", "bpe"):  # the tokenizer's kind edited in config.json: refused, not read as another kind
        edited = _broken_copy(tiny_model_dir, tmp_path, f"edited-{kind}")
        cfg = json.loads((edited / "config.json").read_text())
        cfg["text"]["tokenizer"] = kind
        (edited / "config.json").write_text(json.dumps(cfg))
        assert_clean_failure(run(["complete", "--model", str(edited), "Mary"]),
                             f"tokenizer.json is a word tokenizer but config.json says \"tokenizer\": \"{kind}\"; "
                             "set it back to \"word\", or retrain the model.")


def test_complete_missing_model_dir(tmp_path):
    assert_clean_failure(run(["complete", "--model", str(tmp_path / "none"), "Mary"]), "does not exist")


@pytest.mark.parametrize("prompt, fragment", [("", "empty"), ("  ", "empty"), ("___ x ___", "2 blanks")])
def test_complete_bad_prompt(tiny_model_dir, prompt, fragment):
    assert_clean_failure(run(["complete", "--model", str(tiny_model_dir), prompt]), fragment)


def test_complete_needs_prompt_or_file(tiny_model_dir):
    assert_clean_failure(run(["complete", "--model", str(tiny_model_dir)]), "PROMPT")


def test_config_file_sets_options_and_flags_override(tmp_path, corpus):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'corpus = "{corpus}"\nout = "{tmp_path / "m"}"\nhidden = 12\nembed = 6\n'
                   'batch-size = 4\nepochs = 1\nnonlinearity = "relu"\nquiet = true\ndevice = "cpu"\n')
    r = run(["train", "--config", str(cfg), "--embed", "5"])
    assert r.exit_code == 0, r.output
    model = load(tmp_path / "m")
    assert model.settings.core.hidden == 12 and model.settings.core.nonlinearity == "relu"
    assert model.settings.text.embed == 5  # the flag wins over the file
    assert model.settings.train.batch_size == 4
    as_json = tmp_path / "run.json"
    as_json.write_text(json.dumps({"corpus": [str(corpus)], "out": str(tmp_path / "j"), "hidden": 7, "epochs": 1,
                                   "quiet": True, "device": "cpu"}))
    assert run(["train", "--config", str(as_json)]).exit_code == 0
    assert load(tmp_path / "j").settings.core.hidden == 7


@pytest.mark.parametrize("content, fragment", [("hiden = 3", "unknown option 'hiden'"), ("x = [", "not valid TOML"),
                                               ("hidden = 0", "hidden must be a whole number of at least 1, got 0")])
def test_bad_config_files(tmp_path, corpus, content, fragment):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    r = run(["train", "--config", str(cfg), "--corpus", str(corpus), "--out", str(tmp_path / "m")])
    assert_clean_failure(r, fragment)
    assert r.exit_code == 2 and not (tmp_path / "m").exists()
    assert_clean_failure(run(["train", "--config", str(tmp_path / "none.toml")]), "does not exist")


def test_shipped_ptb_configs_are_valid():
    from pathlib import Path

    from seqtext.config import TextSettings
    from seqtext.optionfiles import read_options_file

    root = Path(__file__).resolve().parents[1] / "configs"
    for path in sorted(root.glob("*.toml")):
        options = read_options_file(path)
        assert set(options) - set(TextSettings.names()) <= {"corpus", "valid", "out"}, path
        kwargs = {k: v for k, v in options.items() if k in TextSettings.names()}
        from seqtext import TextModel

        TextModel(**kwargs)  # validates every value


def test_complete_without_model_picks_the_newest_text_model(tmp_path, tiny_model_dir, monkeypatch):
    import os
    import time

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    shutil.copytree(tiny_model_dir, tmp_path / "runs" / "text")
    series = tmp_path / "runs" / "series"
    series.mkdir()
    (series / "config.json").write_text(json.dumps({"format_version": 1, "kind": "series"}))
    later = time.time() + 10
    os.utime(series / "config.json", (later, later))
    result = CliRunner().invoke(cli, ["complete", "Mary rides the bicycle, the bicycle is ___"])
    assert result.exit_code == 0, result.output
    assert "using model runs/text" in result.stderr


def test_out_inside_a_file_is_a_clean_error(tmp_path, corpus):
    r = run(["train", "--corpus", str(corpus), "--out", str(corpus / "model"), *FAST])
    assert_clean_failure(r, "which is a file")


def test_diverging_training_is_an_error_not_a_nan_model(tmp_path, corpus):
    r = run(["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--lr", "1e6", "--nonlinearity",
             "relu", "--clip", "1e30", *FAST])
    assert_clean_failure(r, "training diverged")
    assert not (tmp_path / "m").exists()


def test_a_resume_refuses_a_corpus_changed_since_its_training_began(tmp_path):
    """A line cut or appended moves every batch after it (a checkpoint inside an epoch would resume at another
    place): the recorded SHA-256 of each file read says the text changed."""
    folder = tmp_path / "texts"
    folder.mkdir()
    write_corpus(folder / "a.txt", TINY_LINES * 2)
    valid = write_corpus(tmp_path / "valid.txt", TINY_LINES)
    out = tmp_path / "m"
    r = run(["train", "--corpus", str(folder), "--valid", str(valid), "--out", str(out), *FAST])
    assert r.exit_code == 0, r.output
    before = (out / "model.safetensors").read_bytes()
    resume = ["train", "--resume", str(out), "--epochs", "4", "--quiet"]
    for path, changed in ((folder / "a.txt", TINY_LINES * 2 + ["one more ."]), (valid, TINY_LINES[:3])):
        saved = path.read_bytes()
        write_corpus(path, changed)  # a line appended to the corpus, lines cut from the validation text
        assert_clean_failure(run(resume), f"{path.resolve()} has changed since this training started on it; "
                                          "restore it to resume, or train afresh")
        assert (out / "model.safetensors").read_bytes() == before
        path.write_bytes(saved)
    # moved: the validation text left out is named (never replaced by a held-out share); files standing in for
    # the corpus must hold what it held
    moved = valid.rename(tmp_path / "moved.txt")
    assert_clean_failure(run(resume), f"the validation text of this training, {valid.resolve()}, is gone")
    assert_clean_failure(run([*resume, "--corpus", str(folder / "a.txt")]),
                         f"the validation text of this training, {valid.resolve()}, is gone; give its new path with "
                         "--valid to resume.")
    other = write_corpus(tmp_path / "other.txt", TINY_LINES[:2])
    assert_clean_failure(run([*resume, "--corpus", str(folder / "a.txt"), "--valid", str(other)]),
                         f"{other.resolve()} does not hold the validation text this training started on")
    r = run([*resume, "--corpus", str(folder / "a.txt"), "--valid", str(moved)])
    assert r.exit_code == 0, r.output
    assert load(out).summary["epochs_run"] == 4
    assert json.loads((out / "config.json").read_text())["data"]["valid"] == [str(moved.resolve())]


def test_resume_continues_an_early_stopped_run_with_more_patience(tmp_path, corpus):
    out = tmp_path / "m"
    r = run(["train", "--corpus", str(corpus), "--out", str(out), "--patience", "1", "--epochs", "60", "--lr", "0.05",
             *FAST[2:]])
    assert r.exit_code == 0, r.output
    done = load(out).summary["epochs_run"]
    assert done < 60  # early stopping ended it
    r = run(["train", "--resume", str(out), "--epochs", str(done + 2), "--patience", "50", "--quiet"])
    assert r.exit_code == 0, r.output
    assert load(out).summary["epochs_run"] == done + 2
    r = run(["train", "--resume", str(out), "--epochs", "99", "--hidden", "7"])
    assert_clean_failure(r, "only --epochs, --patience and --device may change")
    # where it runs may change (a torchrun line passes --device to every command)
    r = run(["train", "--resume", str(out), "--epochs", str(done + 3), "--device", "cpu", "--quiet"])
    assert r.exit_code == 0, r.output
    assert load(out).summary["epochs_run"] == done + 3
    before = (out / "model.safetensors").read_bytes()
    r = run(["train", "--resume", str(out), "--epochs", "99", "--out", str(tmp_path / "elsewhere")])
    assert_clean_failure(r, "only --epochs, --patience and --device may change (got --out)")
    other = write_corpus(tmp_path / "other.txt", ["a different text entirely"] * 20)
    r = run(["train", "--resume", str(out), "--epochs", "99", "--corpus", str(other)])
    assert_clean_failure(r, "this training started on", "as its corpus, not", "other.txt",
                         "resume it on the same data")
    r = run(["train", "--resume", str(out), "--epochs", "99", "--valid", str(other)])
    assert_clean_failure(r, "--valid without --corpus would be ignored")
    assert (out / "model.safetensors").read_bytes() == before and not (tmp_path / "elsewhere").exists()
    # the same text named again is taken (the library checks, so resume() in Python is held to it too)
    r = run(["train", "--resume", str(out), "--epochs", str(done + 4), "--corpus", str(corpus), "--quiet"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("args,message", [
    (["--softmax", "adaptive", "--cutoffs", "a,b"], "not a comma-separated list of whole numbers"),
    (["--softmax", "adaptive", "--cutoffs", "5000"], "below the vocabulary size"),
    (["--softmax", "adaptive", "--tie-weights"], "drop --tie-weights"),
    (["--schedule", "linear"], "'linear' is not one of"),
    (["--warmup", "-3"], "warmup"),
    (["--precision", "fp8"], "'fp8' is not one of"),
    (["--optimizer", "rmsprop"], "'rmsprop' is not one of"),
])
def test_bad_softmax_and_schedule_options_fail_cleanly(tmp_path, corpus, args, message):
    out = tmp_path / "m"
    r = run(["train", "--corpus", str(corpus), "--out", str(out), *FAST, *args])
    assert_clean_failure(r, message)
    assert not out.exists()


def test_sgd_from_the_command_line_trains_and_resumes(tmp_path, corpus):
    out = tmp_path / "m"
    r = run(["train", "--corpus", str(corpus), "--out", str(out), *FAST, "--hidden", "16", "--optimizer", "sgd",
             "--lr", "2", "--patience", "5"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "config.json").read_text())["train"]["optimizer"] == "sgd"
    r = run(["train", "--resume", str(out), "--epochs", "3"])
    assert r.exit_code == 0, r.output
    import torch

    group = torch.load(out / "trainer.pt", weights_only=True)["optimizer"]["param_groups"][0]
    assert group["momentum"] == 0 and "betas" not in group  # the resumed epoch stepped with SGD, not Adam
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]


def test_adaptive_softmax_and_cosine_from_the_command_line(tmp_path, corpus):
    out = tmp_path / "m"
    r = run(["train", "--corpus", str(corpus), "--out", str(out), *FAST, "--hidden", "16", "--softmax", "adaptive",
             "--cutoffs", "10,20", "--schedule", "cosine", "--warmup", "5", "--precision", "bf16"])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert config["text"]["softmax"] == "adaptive" and config["text"]["cutoffs"] == [10, 20]
    assert config["train"]["schedule"] == "cosine" and config["train"]["warmup"] == 5
    assert config["train"]["precision"] == "bf16"
    lrs = [json.loads(line)["lr"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lrs[-1] < lrs[0]  # the cosine has come down by the last epoch


def test_locked_dropout_and_weight_drop_from_the_command_line(tmp_path, corpus):
    out = tmp_path / "m"
    r = run(["train", "--corpus", str(corpus), "--out", str(out), *FAST, "--cell", "lstm", "--layers", "2",
             "--locked-dropout", "--weight-drop", "0.3"])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert config["text"]["locked_dropout"] is True and config["core"]["weight_drop"] == 0.3
    model = load(out)
    assert model.settings.core.weight_drop == 0.3 and model.settings.text.locked_dropout
    assert not model.net.training  # a loaded model answers with the weights as trained, no masks
    assert model.complete("Mary rides the bicycle, the bicycle is ___") == model.complete(
        "Mary rides the bicycle, the bicycle is ___")
    assert_clean_failure(run(["train", "--corpus", str(corpus), "--out", str(tmp_path / "bad"), *FAST,
                              "--weight-drop", "1.5"]), "weight-drop")


@pytest.mark.parametrize("name", ["ptb-rnn.toml", "ptb-lstm.toml", "ptb-lstm-bf16-20.toml", "ptb-lstm-40.toml"])
def test_shipped_configs_train_as_written(tmp_path, name):
    """Every key of the configs behind the README's PTB figures is read; only size and data are overridden here."""
    from seqtext.optionfiles import read_options_file

    root = Path(__file__).resolve().parents[1]
    options = read_options_file(root / "configs" / name)
    out = tmp_path / "m"
    r = run(["train", "--config", str(root / "configs" / name), "--corpus", str(CORPORA / "pronouns.txt"),
             "--valid", str(CORPORA / "pronouns.txt"), "--out", str(out), "--epochs", "1",
             "--embed", "8", "--hidden", "8", "--batch-size", "4", "--quiet", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    model = load(out)
    settings = model.settings.flat()
    for key, value in options.items():
        if key in ("corpus", "valid", "out", "embed", "hidden", "epochs", "batch_size"):
            continue
        assert settings[key] == value, key


def test_a_reader_that_stops_early_gets_no_error(tiny_model_dir, tmp_path):
    """`seqtext complete --file ... | head -1`: the closed pipe ends the command quietly, as for any Unix tool."""
    import subprocess
    import sys

    prompts = tmp_path / "many.txt"
    prompts.write_text("We drive the car , the car is ___\n" * 4000)  # far more output than a pipe buffers
    proc = subprocess.Popen([sys.executable, "-m", "seqtext", "complete", "--model", str(tiny_model_dir),
                             "--file", str(prompts), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `head -1` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert json.loads(first)["completion"].startswith("We drive the car")
    assert stderr == ""  # no "Broken pipe" message, no traceback


def test_arguments_and_stdin_that_are_not_utf8_are_one_sentence(tiny_model_dir):
    """Bytes that are not UTF-8 reach Python as lone surrogates (a Latin-1 terminal's 'é'): refused, no traceback."""
    latin = "caf\udce9"
    for args in (["complete", "--model", str(tiny_model_dir), f"{latin} ___"],
                 ["score", "--model", str(tiny_model_dir), latin]):
        result = CliRunner().invoke(cli, args)
        assert_clean_failure(result, "an argument is not UTF-8 text ('caf?", "give it as UTF-8")
    result = CliRunner().invoke(cli, ["suggest", "--model", str(tiny_model_dir)], input=b"caf\xe9 \n")
    assert_clean_failure(result, "stdin is not UTF-8 text")


def test_a_blank_is_not_streamed(tiny_model_dir):
    result = CliRunner().invoke(cli, ["complete", "--model", str(tiny_model_dir), "Mary ___", "--stream"])
    assert_clean_failure(result, "a ___ blank is filled in place, not streamed; drop --stream.")


def test_ctrl_c_before_training_begins_exits_130_leaving_nothing(tmp_path, corpus, monkeypatch):
    from seqtext.text.model import TextModel

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt  # as a Ctrl-C while the corpus is still being read

    monkeypatch.setattr(TextModel, "fit", interrupted)
    result = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--quiet"])
    assert result.exit_code == 130, result.output
    assert "interrupted before training began; nothing was saved" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()


def test_a_vocabulary_that_leaves_much_of_the_text_unknown_is_warned_of(tmp_path, corpus):
    """--vocab-size 8 keeps 4 words: about half of the training tokens become <unk>, which the model would learn to
    predict (and score as right); training goes on, with one warning naming the options that fix it."""
    result = run(["train", "--corpus", str(corpus), "--vocab-size", "8", "--out", str(tmp_path / "small"), *FAST])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "% of the training tokens are outside the vocabulary of 8 entries" in warning[0]
    assert "raise --vocab-size or lower --min-frequency" in warning[0]
    share = int(warning[0].split("warning: ")[1].split(" %")[0])
    assert 30 <= share <= 70, warning
    result = run(["train", "--corpus", str(corpus), "--out", str(tmp_path / "full"), *FAST])
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    # a character vocabulary has no size to raise (--vocab-size is refused there): only --min-frequency is named
    result = run(["train", "--corpus", str(corpus), "--tokenizer", "char", "--min-frequency", "30",
                  "--out", str(tmp_path / "chars"), *FAST])
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and warning[0].endswith("; lower --min-frequency to keep more of them."), warning
    result = run(["train", "--corpus", str(corpus), "--min-frequency", "99", "--out", str(tmp_path / "none"), *FAST])
    assert_clean_failure(result, "seen 99 times or more (--min-frequency)", "lower --min-frequency", code=1)
    assert not (tmp_path / "none").exists()


def test_evaluate_counts_unknown_words_and_warns_when_they_dominate(tmp_path, corpus):
    model = tmp_path / "m"
    assert run(["train", "--corpus", str(corpus), "--out", str(model), *FAST]).exit_code == 0
    foreign = write_corpus(tmp_path / "foreign.txt", ["zyx wvu tsr the", "qpo nml"])  # 5 of 7 targets unknown
    result = run(["evaluate", "--model", str(model), "--corpus", str(foreign), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["unknown_tokens"] == 5 and figures["tokens"] == 8  # 6 words and 2 closing </s>
    assert f"warning: 62 % of the tokens of {foreign} are outside the model's vocabulary" in result.output
    same = run(["evaluate", "--model", str(model), "--corpus", str(corpus), "--json"])
    assert json.loads(same.stdout)["unknown_tokens"] == 0 and "warning" not in same.output


def test_ctrl_c_in_any_command_exits_130_in_one_line(tiny_model_dir, corpus, monkeypatch):
    """Outside a training (which reports what it saved), Ctrl-C is one line and 130, as a shell expects, not
    click's "Aborted!" and 1."""
    from seqtext.text.model import TextModel

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # as a Ctrl-C while the text is scored

    monkeypatch.setattr(TextModel, "evaluate", interrupted)
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny_model_dir), "--corpus", str(corpus)])
    assert result.exit_code == 130 and result.output.strip() == "interrupted", result.output


def test_inputs_of_score_and_dynamic_evaluation_take_the_shipped_names_from_any_directory(tiny_model_dir, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # no corpora/ here: the names are the shipped files'
    scored = run(["score", "--model", str(tiny_model_dir), "--file", "corpora/pronouns_test.txt", "--json"])
    assert scored.exit_code == 0, scored.output
    assert len(scored.stdout.splitlines()) == len(CORPORA.joinpath("pronouns_test.txt").read_text().splitlines())
    adapted = run(["evaluate", "--model", str(tiny_model_dir), "--corpus", "corpora/pronouns_test.txt", "--dynamic",
                   "--dynamic-stats", "corpora/pronouns.txt", "--json"])
    assert adapted.exit_code == 0, adapted.output
    assert json.loads(adapted.stdout)["tokens"] > 10_000
    assert_clean_failure(run(["evaluate", "--model", str(tiny_model_dir), "--corpus", "corpora/pronouns_test.txt",
                              "--dynamic", "--dynamic-stats", "corpora/nothing.txt"]),
                         "the corpus corpora/nothing.txt does not exist")


def test_a_missing_validation_file_is_named_as_the_validation_text(corpus, tmp_path):
    out = tmp_path / "m"
    for mode in ("sentence", "stream"):
        assert_clean_failure(run(["train", "--corpus", str(corpus), "--valid", str(tmp_path / "v.txt"), "--mode", mode,
                                  "--epochs", "1", "--out", str(out)]),
                             f"the validation text {tmp_path / 'v.txt'} does not exist; check the path.", code=1)
        assert not out.exists()


@pytest.mark.parametrize("args, flag", [
    (["train", "--corpus", "corpora/pronouns.txt", "--out", ""], "--out"),  # not runs/pronouns, the default
    (["classify", "train", "--data", "corpora/pronouns.txt", "--out", ""], "--out"),
    (["tag", "train", "--data", "", "--out", "x"], "--data"),
    (["forecast", "train", "--csv", "corpora/series/airline.csv", "--out", ""], "--out"),
    (["forecast", "train", "--csv", "", "--out", "x"], "--csv"),  # not called a missing option
    (["forecast", "predict", "--model", "m", "--csv", "c.csv", "--out", ""], "--out"),
    (["forecast", "backtest", "--model", "m", "--csv", "c.csv", "--plot", ""], "--plot"),
])
def test_an_empty_path_option_is_a_usage_error_naming_it(args, flag, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_clean_failure(run(args), f"Error: {flag} is empty; give ", code=2)
    assert list(tmp_path.iterdir()) == []  # nothing written, runs/ not made

"""``seqtext forecast train``: Ctrl-C, --resume, --config replay, and model directories of the other kind."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from seqtext.cli import cli
from seqtext.errors import SeqtextWarning
from seqtext.modeldir import load, load_trainer_state

from conftest import assert_clean_failure

FIXTURES = Path(__file__).parent / "fixtures"
# enough windows (about 190 batches) that an epoch takes a while and Ctrl-C lands inside one
LONG = ["--target", "v", "--window", "12", "--hidden", "8", "--dropout", "0.1", "--layers", "2", "--seed", "2",
        "--patience", "1000", "--device", "cpu", "--quiet"]


def write_series(path, n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 0.1 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    months = [f"{1900 + k // 12:04d}-{k % 12 + 1:02d}" for k in range(n)]
    path.write_text("month,v,heat\n" + "\n".join(f"{m},{x:.4f},{np.cos(k):.4f}" for k, (m, x) in
                                                 enumerate(zip(months, values))) + "\n")
    return path


def run(*args):
    return CliRunner().invoke(cli, [*map(str, args)])


def seqtext_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "seqtext", *map(str, args)]


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def snapshot(directory: Path) -> dict:
    """Every file under a directory's parent with its bytes: to show that nothing was written."""
    return {p: p.read_bytes() for p in sorted(directory.parent.rglob("*")) if p.is_file()}


def wait_for(predicate, timeout=120.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def short_model(tmp_path_factory):
    """A finished series model trained by the CLI, with its CSV."""
    tmp = tmp_path_factory.mktemp("short")
    csv = write_series(tmp / "s.csv", 80)
    out = tmp / "model"
    result = run("forecast", "train", "--csv", csv, "--out", out, "--epochs", "3", *LONG)
    assert result.exit_code == 0, result.output
    return csv, out


def test_ctrl_c_leaves_a_resumable_model_and_resume_is_bit_identical(tmp_path):
    csv = write_series(tmp_path / "long.csv", 1500)
    part = tmp_path / "part"
    proc = subprocess.Popen(seqtext_cmd("forecast", "train", "--csv", csv, "--out", part, "--epochs", "1000", *LONG),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: (part / "trainer.pt").exists()), "the first epoch was never saved"
    time.sleep(0.1)  # somewhere inside a later epoch
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"resume with: seqtext forecast train --resume {part}" in err and "Traceback" not in err
    assert "model written" not in out
    state = load_trainer_state(part)
    assert not state["finished"]
    with pytest.warns(SeqtextWarning, match="was interrupted after"):
        load(part).predict(3)  # the interrupted directory is a usable model
    used = run("forecast", "predict", "--model", part, "--steps", "3")  # used, it says what it is
    assert used.exit_code == 0 and f"warning: the training of {part} was interrupted after " in used.stderr
    assert "so its weights are the best of those epochs; resume it with seqtext forecast train --resume to finish " \
        "it." in used.stderr
    epochs = state["epoch"] + 1  # finish the interrupted epoch, then one more

    resumed = subprocess.run(seqtext_cmd("forecast", "train", "--resume", part, "--epochs", epochs, "--quiet"),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"model written to {part}" in resumed.stdout
    assert "interrupted" not in run("forecast", "predict", "--model", part, "--steps", "3").stderr  # finished now
    full = tmp_path / "full"
    subprocess.run(seqtext_cmd("forecast", "train", "--csv", csv, "--out", full, "--epochs", epochs, *LONG),
                   check=True, capture_output=True)
    assert same_weights(load_file(str(part / "model.safetensors")), load_file(str(full / "model.safetensors")))
    part_state, full_state = load_trainer_state(part), load_trainer_state(full)
    assert same_weights(part_state["net"], full_state["net"])
    assert json.loads(part_state["history"])[-1]["train_loss"] == json.loads(full_state["history"])[-1]["train_loss"]
    assert json.loads((part / "config.json").read_text())["train"]["epochs"] == epochs


def test_resume_takes_more_epochs_and_patience(short_model, tmp_path):
    csv, model = short_model
    copy = tmp_path / "copy"
    shutil.copytree(model, copy)
    result = run("forecast", "train", "--resume", copy)
    assert_clean_failure(result, "already finished after 3 epochs; raise --epochs (and --patience)", code=2)
    result = run("forecast", "train", "--resume", copy, "--epochs", "5", "--patience", "1001", "--quiet")
    assert result.exit_code == 0, result.output
    assert "model written to" in result.output and "5 epochs" in result.output
    config = json.loads((copy / "config.json").read_text())
    assert config["train"]["epochs"] == 5 and config["train"]["patience"] == 1001


@pytest.mark.parametrize("flag,value", [("--window", "6"), ("--holdout", "3"), ("--lr", "0.1"), ("--out", "x"),
                                        ("--no-skip", None)])
def test_resume_refuses_other_options(short_model, flag, value):
    _, model = short_model
    before = snapshot(model)
    result = run("forecast", "train", "--resume", model, flag, *([value] if value else []))
    assert_clean_failure(result, f"only --epochs, --patience and --device may change (got {flag.replace('no-', '')})",
                         code=2)
    assert snapshot(model) == before


def test_resume_of_a_text_model_names_the_kind(tmp_path, short_model):
    text = tmp_path / "text"
    shutil.copytree(FIXTURES / "text-v1", text)
    before = snapshot(text)
    result = run("forecast", "train", "--resume", text)
    assert_clean_failure(result, "holds a text model, not a series model", code=1)
    assert snapshot(text) == before
    # and the other way round: a series directory given to the text command
    series = tmp_path / "series"
    shutil.copytree(short_model[1], series)
    before = snapshot(series)
    result = run("train", "--resume", series)
    assert_clean_failure(result, "holds a series model, not a text model")
    assert snapshot(series) == before


def test_resume_of_a_format_1_model_has_nothing_to_resume(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(FIXTURES / "series-v1", old)
    result = run("forecast", "train", "--resume", old, "--epochs", "30")
    assert_clean_failure(result, "has no trainer.pt to resume from", code=1)


def test_config_replay_reproduces_the_settings(tmp_path):
    csv = write_series(tmp_path / "s.csv", 90)
    first = tmp_path / "first"
    result = run("forecast", "train", "--csv", csv, "--out", first, "--target", "v", "--features", "heat",
                 "--date", "month", "--window", "6", "--horizon", "2", "--log", "--no-skip", "--hidden", "8",
                 "--cell", "gru", "--epochs", "3", "--lr", "0.01", "--seed", "3", "--schedule", "cosine",
                 "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    second = tmp_path / "second"
    result = run("forecast", "train", "--config", first / "config.json", "--csv", csv, "--out", second, "--quiet")
    assert result.exit_code == 0, result.output
    a, b = (json.loads((d / "config.json").read_text()) for d in (first, second))
    for section in ("core", "series", "train"):
        assert a[section] == b[section], section
    assert a["series"]["features"] == ["heat"] and a["core"]["cell"] == "gru"
    future = {"heat": [0.5, 0.4, 0.45, 0.5]}
    np.testing.assert_array_equal(load(first).predict(4, history=csv, future=future),
                                  load(second).predict(4, history=csv, future=future))  # same seed, same model
    # the command line still wins over the replayed file
    third = tmp_path / "third"
    result = run("forecast", "train", "--config", first, "--csv", csv, "--out", third, "--window", "5", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((third / "config.json").read_text())["series"]["window"] == 5


def test_config_of_a_text_model_is_refused(tmp_path):
    csv = write_series(tmp_path / "s.csv", 60)
    out = tmp_path / "m"
    result = run("forecast", "train", "--config", FIXTURES / "text-v1" / "config.json", "--csv", csv, "--out", out)
    assert_clean_failure(result, "holds the settings of a text model, not a series model; give it to seqtext train.",
                         code=2)
    assert not out.exists()


def test_train_needs_csv_and_out_unless_resuming(tmp_path):
    csv = write_series(tmp_path / "s.csv", 60)
    assert_clean_failure(run("forecast", "train", "--out", tmp_path / "m"), "Missing option '--csv'", code=2)
    assert_clean_failure(run("forecast", "train", "--csv", csv), "Missing option '--out'", code=2)
    assert_clean_failure(run("forecast", "train", "--resume", tmp_path / "none"), "does not exist", code=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]

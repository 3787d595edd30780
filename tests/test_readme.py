"""The README's quick start and Python API example, run as written.

The quick start and the Python API example train on the full pronoun corpus
with the default settings (about 90 s each on one core); the quick start's
training runs in the background while the API example trains beside it, so
the two take the time of one on 2 cores.  They are marked slow; they still
run in CI.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from seqtext.errors import DataError

from conftest import CORPORA

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def quick_start() -> tuple[str, str]:
    install_run, install_test = [b.strip() for b in code_blocks("sh")[:2]]
    return install_run, install_test


def test_quick_start_commands_are_the_documented_ones():
    install_run, install_test = quick_start()
    assert install_run.startswith("pip install -e . && seqtext train --corpus corpora/pronouns.txt && ")
    assert install_test == 'pip install -e ".[test]" && pytest'
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_test in ci  # CI runs the README's test command


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty directory outside the checkout: the README's ``corpora/...`` paths name the data shipped in the
    package, as they do for a user who installed seqtext without cloning it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def quick_start_training(tmp_path_factory):
    """The quick start's ``seqtext train``, started in the background in its own empty directory, so that the
    Python API example (the same training, in this process) runs beside it on the other core."""
    workdir = tmp_path_factory.mktemp("quick-start")
    install_run, _ = quick_start()
    commands = [shlex.split(command) for command in install_run.split(" && ")[1:]]  # the package is installed
    assert all(args[0] == "seqtext" for args in commands) and commands[0][1] == "train"
    with open(workdir / "train.out", "w") as out, open(workdir / "train.err", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "seqtext", *commands[0][1:], "--quiet"], stdout=out,
                                stderr=err, text=True, cwd=workdir, env={**os.environ, "PYTHONUTF8": "1"})
    yield workdir, proc, commands[1:]
    if proc.poll() is None:  # the quick start test did not run
        proc.kill()
    proc.wait()


@pytest.mark.slow
def test_python_api_example_runs(workdir, quick_start_training):
    example = code_blocks("python")[0]
    assert "TextModel" in example
    exec(compile(example, "README.md", "exec"), {})
    assert (workdir / "runs" / "pronouns-api" / "model.safetensors").is_file()


@pytest.mark.slow
def test_quick_start_trains_and_completes_mary(quick_start_training):
    workdir, train, commands = quick_start_training
    assert train.wait() == 0, (workdir / "train.err").read_text()
    outputs = [(workdir / "train.out").read_text()]
    for args in commands:
        proc = subprocess.run([sys.executable, "-m", "seqtext", *args[1:]], capture_output=True, text=True,
                              cwd=workdir, env={**os.environ, "PYTHONUTF8": "1"})
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert "model written to runs/pronouns" in outputs[0]
    assert outputs[-1].strip() == "Mary rides the bicycle, the bicycle is hers."

    # held-out (subject, verb, object) combinations: the model must carry the subject across the clause
    from seqtext import load

    metrics = load(workdir / "runs" / "pronouns").evaluate(CORPORA / "pronouns_test.txt")
    assert metrics["last_word_accuracy"] >= 0.99, metrics


def test_series_examples_run(workdir):
    toy, table = code_blocks("python")[1:3]
    scope: dict = {}
    exec(compile(toy, "README.md", "exec"), scope)
    forecast = scope["f"].predict(history=[70, 80, 90])
    assert abs(float(forecast[0]) - 100) <= 2  # the seed's toy: [70, 80, 90] -> about 100
    assert (workdir / "runs" / "toy" / "scaler.json").is_file()
    exec(compile(table, "README.md", "exec"), scope)
    df = scope["df"]
    assert len(scope["f"].predict(future=df[-24:-12])) == 12
    with pytest.raises(DataError, match="known ahead"):  # the covariates of the steps forecast are needed
        scope["f"].predict()

"""Under torchrun, N processes take the steps of one, and Ctrl-C stops them together: real 2-process gloo runs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pytest
import torch

from seqtext import SequenceTagger, TextModel, load

from conftest import write_corpus
from test_distributed import TORCHRUN, env
from test_tag import next_is_verb, write_wordtag


def sentences(n: int, seed: int) -> list[str]:
    """Sentences of 2 to 14 words: the processes' shares of a batch hold different numbers of tokens."""
    rng = random.Random(seed)
    words = "mary john rides drives the a bicycle car is hers his mine ours red old".split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(2, 14))) for _ in range(n)]


def torchrun(args: list[str], cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", *args], capture_output=True, text=True, env=env(),
                          timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def flags(options: dict) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]


# no dropout: each process's masks would differ from one process's; batches of 9 share out 5 + 4 rows
TEXT = dict(embed=8, hidden=16, batch_size=9, epochs=2, patience=2, lr=0.01, seed=1, device="cpu",
            embed_dropout=0.0, output_dropout=0.0)
TAG = dict(embed=8, chars=8, hidden=8, batch_size=9, epochs=2, patience=2, lr=0.01, seed=1, device="cpu",
           word_dropout=0.0, embed_dropout=0.0, output_dropout=0.0)


@pytest.mark.parametrize("kind", ["text", "tag"])
def test_two_processes_take_the_steps_of_one_on_sentences_of_different_lengths(tmp_path, kind):
    """Each process's mean loss weighs by its share of the batch's tokens (tags), as one process's mean does."""
    if kind == "text":  # 63 sentences: 7 batches of 9
        train = write_corpus(tmp_path / "train.txt", sentences(63, 1))
        dev = write_corpus(tmp_path / "dev.txt", sentences(10, 2))
        args, options, model_class = ["train", "--corpus", str(train), "--valid", str(dev)], TEXT, TextModel
    else:
        train = write_wordtag(tmp_path / "train.txt", next_is_verb(63, 1))  # 3 to 10 words a sentence
        dev = write_wordtag(tmp_path / "dev.txt", next_is_verb(10, 2))
        args, options, model_class = ["tag", "train", "--data", str(train), "--dev", str(dev)], TAG, SequenceTagger
    torchrun([*args, "--out", str(tmp_path / "ddp"), "--quiet", *flags(options)], tmp_path)
    ddp = load(tmp_path / "ddp")
    single = model_class(**options).fit(train, **({"valid": dev} if kind == "text" else {"dev": dev}))
    for key, value in single.net.state_dict().items():
        torch.testing.assert_close(ddp.net.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert ddp.history[-1]["train_loss"] == pytest.approx(single.history[-1]["train_loss"], rel=1e-5)


def interrupted(args: list[str], out, cwd) -> subprocess.CompletedProcess:
    """Start a 2-process training, press Ctrl-C a moment after its first epoch is saved (SIGINT to the whole process
    group, as a terminal sends it: some batches into the second epoch), and wait for every process to end."""
    proc = subprocess.Popen([*TORCHRUN, "-m", "seqtext", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(), cwd=cwd, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "trainer.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.parametrize("kind", ["tag", "stream"])
def test_ctrl_c_stops_every_process_at_one_step_and_the_resume_is_bit_identical(tmp_path, kind):
    """Tags: each process's own dropout draws are saved and set back.  Stream mode: the hidden state each process
    carries for its streams is saved and handed back to it."""
    if kind == "tag":
        train, dev = write_wordtag(tmp_path / "t.txt", next_is_verb(800, 1)), write_wordtag(tmp_path / "d.txt",
                                                                                             next_is_verb(20, 2))
        command, data = ["tag", "train"], ["--data", str(train), "--dev", str(dev)]
        options = dict(embed=8, chars=8, hidden=8, batch_size=8, epochs=3, patience=3, seed=1, device="cpu",
                       word_dropout=0.2)  # the default dropouts too
    else:
        train = write_corpus(tmp_path / "c.txt", sentences(1500, 1))
        command, data = ["train"], ["--corpus", str(train)]
        options = dict(mode="stream", bptt=8, embed=8, hidden=16, batch_size=8, epochs=3, patience=3, seed=1,
                       device="cpu", output_dropout=0.3)
    torchrun([*command, *data, "--out", str(tmp_path / "whole"), "--quiet", *flags(options)], tmp_path)
    out = tmp_path / "resumed"
    stopped = interrupted([*command, *data, "--out", str(out), "--quiet", *flags(options)], out, tmp_path)
    assert stopped.stderr.count("interrupted: saved a resumable checkpoint") == 1, stopped.stderr[-3000:]
    assert f"--resume {out} under torchrun on 2 processes" in stopped.stderr  # where it resumes bit-identically
    assert "another training process failed" not in stopped.stderr  # every process stopped at the same step
    state = torch.load(out / "trainer.pt", weights_only=True)
    assert not state["finished"] and state["epoch"] == 2 and state["batches_done"] and len(state["ranks"]) == 2
    if kind == "tag":  # each process padded its own share, so their dropout draws went apart
        assert not torch.equal(state["ranks"][0]["torch_rng"], state["ranks"][1]["torch_rng"])
    else:  # every process's streams' state: the batch's 8 rows
        assert state["carried"].shape[1] == 8
    torchrun([*command, "--resume", str(out), "--device", "cpu", "--quiet"], tmp_path)
    whole, resumed = load(tmp_path / "whole"), load(out)
    for key, value in whole.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[key], value), key
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole.history]
    assert json.loads((out / "config.json").read_text())["summary"]["finished"]


def test_training_data_too_small_to_share_is_refused_not_saved_untrained(tmp_path):
    """One sentence on two processes: its one batch is too short to share, so no process trains; said in one
    sentence (once a process), the exit status is not 0 and no model directory is written (it was saved with a
    training loss of 0)."""
    train = write_corpus(tmp_path / "one.txt", ["mary rides the bicycle"])
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "train", "--corpus", str(train), "--valid", str(train),
                           "--out", str(tmp_path / "m"), "--quiet", *flags({**TEXT, "epochs": 1})],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    ours = proc.stderr.split("torch/distributed/elastic")[0]  # torchrun's own report of a failed process follows
    assert proc.returncode != 0 and "Traceback" not in ours, proc.stderr[-3000:]
    errors = {line for line in proc.stderr.splitlines() if line.startswith("Error:")}
    assert errors == {"Error: the epoch held no batch to train on: the training data is too small for 2 processes, "
                      "each of which takes a share of every batch (a batch too short to share is dropped); give "
                      "more training data or run fewer processes."}, proc.stderr[-3000:]
    assert not (tmp_path / "m").exists()

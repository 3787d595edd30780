"""Data-parallel training with torchrun: a real 2-process gloo run on CPU."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import load_file

from seqtext import load

from conftest import TINY_LINES, write_corpus

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]

RUNNER = textwrap.dedent(
    """
    # Train through the public API under torchrun, then let every rank dump its weights.
    import os, sys, time
    from safetensors.torch import save_file
    from seqtext import TextModel, distributed
    import json
    corpus, out, dump, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    print(f"rank {os.environ['RANK']} pid {os.getpid()}", flush=True)
    first_only = extra.pop("first_only", False)  # the directory and a callback given to rank 0 alone
    model = TextModel(embed=16, hidden=32, batch_size=16, epochs=epochs, patience=epochs, device="cpu",
                      embed_dropout=0.0, output_dropout=0.0, seed=1, **extra)
    mine = os.environ["RANK"] == "0" or not first_only
    model.fit(corpus, checkpoint_dir=out if mine else None, callback=(lambda m, metrics: None) if mine else None)
    save_file({k: v.contiguous() for k, v in model.net.state_dict().items()},
              f"{dump}/rank{os.environ['RANK']}.safetensors")
    distributed.finish()
    """
)


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "c.txt", TINY_LINES * 60)


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "SEQTEXT_DIST_TIMEOUT": "30"}


@pytest.mark.parametrize("extra", [{}, {"softmax": "adaptive", "cutoffs": [6, 20]},
                                   {"mode": "stream", "bptt": 8},  # stream validation: the tail read on one rank
                                   {"first_only": True}])  # no collective waits on what rank 0 alone does
def test_two_process_gloo_training(tmp_path, corpus, extra):
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    out = tmp_path / "model"
    proc = subprocess.run([*TORCHRUN, str(runner), str(corpus), str(out), str(tmp_path), "4", json.dumps(extra)],
                          capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = load_file(str(tmp_path / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "rank1.safetensors"))
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # DDP kept the replicas identical
    # exactly one model directory, an ordinary one
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["model"]
    model = load(out)
    history = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["valid_loss"] < history[0]["valid_loss"]
    for key, value in model.net.state_dict().items():
        assert torch.equal(value, rank0[key])


def test_cli_under_torchrun_writes_one_model(tmp_path, corpus):
    out = tmp_path / "cli-model"
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "train", "--corpus", str(corpus), "--out", str(out),
                           "--epochs", "2", "--hidden", "16", "--embed", "8", "--quiet", "--device", "cpu"],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("model written to") == 1  # only rank 0 prints
    load(out).complete("Mary rides the bicycle, the bicycle is ___")
    assert not list(tmp_path.glob(".cli-model*"))  # no lock or temporary left behind
    # a command that does not train runs in the first process alone: one report, not one per process
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "evaluate", "--model", str(out), "--corpus", str(corpus)],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("perplexity") == 1 and proc.stdout.count("last-word accuracy") == 1, proc.stdout
    assert "seqtext evaluate runs in one process; the other process that torchrun started has nothing to do" in \
        proc.stderr


def test_a_dead_rank_stops_the_others(tmp_path, corpus):
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    out = tmp_path / "model"
    start = time.monotonic()
    proc = subprocess.Popen([*TORCHRUN, str(runner), str(corpus), str(out), str(tmp_path), "500"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env())
    pids = {}
    for line in proc.stdout:
        found = re.fullmatch(r"rank (\d+) pid (\d+)", line.strip())  # the runner's own lines, nothing else
        if found:
            pids[int(found[1])] = int(found[2])
        if len(pids) == 2:
            break
    deadline = time.monotonic() + 120
    while not (out / "model.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (out / "model.safetensors").exists(), "no epoch finished"
    os.kill(pids[1], signal.SIGKILL)
    killed = time.monotonic()
    try:
        code = proc.wait(timeout=90)
    finally:
        proc.kill()
        proc.stdout.close()
    assert code != 0
    assert time.monotonic() - killed < 90
    load(out)  # the last good model directory is intact
    assert time.monotonic() - start < 300


def test_a_batch_smaller_than_the_processes_is_refused_before_training(tmp_path, corpus):
    """Each process would skip every batch: a model of untrained weights used to be saved as finished."""
    out = tmp_path / "small-batch"
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "classify", "train", "--data", str(corpus), "--out", str(out),
                           "--epochs", "1", "--batch-size", "1", "--quiet", "--device", "cpu"],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    assert proc.returncode != 0 and not out.exists()
    assert "--batch-size 1 is smaller than the 2 training processes; give each process at least one row" in \
        proc.stderr, proc.stderr[-2000:]

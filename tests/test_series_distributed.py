"""``seqtext forecast train`` under torchrun: a real 2-process gloo run on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from seqtext.modeldir import load
from seqtext.series import Forecaster

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
OPTIONS = dict(window=8, hidden=8, batch_size=8, epochs=3, patience=3, lr=0.01, seed=1, device="cpu")


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "SEQTEXT_DIST_TIMEOUT": "30"}


def test_two_process_gloo_training_matches_one_process(tmp_path):
    # 72 values, window 8: 64 windows, 8 full batches of 8, each shared 4 + 4 between the ranks
    t = np.arange(72)
    values = 20 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12)
    csv = tmp_path / "s.csv"
    csv.write_text("v\n" + "\n".join(f"{x:.5f}" for x in values) + "\n")
    out = tmp_path / "model"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in OPTIONS.items()]
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "forecast", "train", "--csv", str(csv), "--target", "v",
                           "--out", str(out), "--quiet", *flags],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("model written to") == 1  # only rank 0 prints
    assert "trained on 72 values (64 windows), 3 epochs" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "s.csv"]  # no lock or temporary left
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 3 and history[-1]["train_loss"] < history[0]["train_loss"]
    # each rank took half of every global batch and DDP averaged the gradients: the same steps as one process
    ddp = load(out)
    single = Forecaster(**OPTIONS).fit(csv, target="v")
    for key, value in single.net.state_dict().items():
        np.testing.assert_allclose(ddp.net.state_dict()[key].numpy(), value.numpy(), atol=1e-5, err_msg=key)
    np.testing.assert_allclose(ddp.predict(3), single.predict(3), rtol=1e-5)

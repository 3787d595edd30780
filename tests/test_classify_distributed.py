"""``seqtext classify train`` under torchrun: a real 2-process gloo run on CPU."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch

from seqtext import TextClassifier, load

from test_classify import not_examples, write_tsv
from test_series_distributed import TORCHRUN, env

# no dropout anywhere: each rank's masks would differ from one process's, the only randomness left is the data order
OPTIONS = dict(embed=8, hidden=8, batch_size=8, epochs=2, patience=2, lr=0.01, seed=1, device="cpu",
               embed_dropout=0.0, output_dropout=0.0, word_dropout=0.0)


@pytest.mark.parametrize("extra", [{}, {"adversarial": 0.1}], ids=["plain", "adversarial"])
def test_two_process_gloo_training_matches_one_process(tmp_path, extra):
    # 64 texts in batches of 8: every global batch is shared 4 + 4 between the ranks; adversarial training's move
    # is scaled per text, so each rank's share of a batch moves its texts as one process moves them
    options = {**OPTIONS, **extra}
    train, dev = write_tsv(tmp_path / "train.tsv", not_examples(64, 1)), write_tsv(tmp_path / "dev.tsv", not_examples(16, 2))
    out = tmp_path / "model"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "classify", "train", "--data", str(train), "--dev", str(dev),
                           "--out", str(out), "--quiet", *flags],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("model written to") == 1  # only rank 0 prints
    assert "64 training texts, 2 labels, 2 epochs" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.tsv", "model", "train.tsv"]  # nothing else left
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    # each rank took half of every global batch and DDP averaged the gradients: the same steps as one process
    ddp = load(out)
    single = TextClassifier(**options).fit(train, dev=dev)
    for key, value in single.net.state_dict().items():
        torch.testing.assert_close(ddp.net.state_dict()[key], value, rtol=1e-4, atol=1e-5, msg=key)
    texts = ["the film was not good", "a funny story"]
    for mine, theirs in zip(ddp.predict_proba(texts), single.predict_proba(texts)):
        assert mine == pytest.approx(theirs, abs=1e-5)
    assert json.loads((out / "config.json").read_text())["kind"] == "classify"


def test_gradual_unfreezing_under_torchrun(tmp_path):
    """Layers frozen for the first epochs leave DDP weights without gradients: it is told to expect them."""
    from test_classify_transfer import SENTENCES, language_model

    language_model(tmp_path / "lm", bidirectional_stack=1)
    train = write_tsv(tmp_path / "train.tsv", [(s, str(int("good" in s))) for s in SENTENCES * 2])
    out = tmp_path / "model"
    proc = subprocess.run([*TORCHRUN, "-m", "seqtext", "classify", "train", "--data", str(train), "--out", str(out),
                           "--init-from", str(tmp_path / "lm"), "--unfreeze", "1", "--epochs", "3", "--batch-size",
                           "8", "--device", "cpu", "--quiet"],
                          capture_output=True, text=True, env=env(), timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(load(out).history) == 3

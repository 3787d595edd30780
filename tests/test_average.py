"""Weight averaging ({average_from}): the mean of the weights after every step, validated and saved."""

from __future__ import annotations

import pytest
import torch

from seqtext import TextModel
from seqtext.update import Average

from conftest import TINY_LINES

LINES = [f"{s[:-1]} number {i % 7}." for i, s in enumerate(TINY_LINES * 20)]
OPTIONS = dict(embed=8, hidden=16, batch_size=8, epochs=3, patience=10, device="cpu", seed=2, lr=1e-2)


def test_the_average_is_the_mean_of_the_weights_it_was_given():
    w = torch.nn.Parameter(torch.zeros(3))
    average = Average([w], start=2)
    seen = []
    for step in range(1, 8):
        with torch.no_grad():
            w.copy_(torch.randn(3))
        average.add(epoch=1 if step < 3 else 2)  # the first two steps fall before the start
        if step >= 3:
            seen.append(w.detach().clone())
    trained = w.detach().clone()
    expected = torch.stack(seen).double().mean(0)
    with average.applied():
        assert torch.allclose(w.detach().double(), expected, atol=1e-6)
    assert torch.equal(w.detach(), trained)  # the trained weights come back exactly
    assert average.count == len(seen) == 5


def test_off_or_not_started_leaves_the_weights_alone():
    w = torch.nn.Parameter(torch.ones(2))
    for average in (Average([w], start=0), Average([w], start=5)):
        average.add(epoch=3)
        with torch.no_grad():
            w.add_(1)  # a later step
        with average.applied():
            assert torch.equal(w.detach(), torch.full((2,), 2.0))  # nothing averaged: the live weights are read
        assert not average.active and average.state() == {"average": None, "average_count": 0}
        with torch.no_grad():
            w.fill_(1.0)
    restored = Average([w], start=2)
    restored.restore({})  # a training saved before averaging existed
    assert not restored.active


def test_the_saved_model_holds_the_average_of_every_step_up_to_the_best_epoch(monkeypatch):
    recorded = []
    add = Average.add

    def recording_add(self, epoch):
        add(self, epoch)
        recorded.append((epoch, [p.detach().double().clone() for p in self.params]))

    monkeypatch.setattr(Average, "add", recording_add)
    model = TextModel(**OPTIONS, average_from=2).fit(LINES)
    best = model.summary["epoch"]  # the epoch whose (averaged) weights validated best
    assert best >= 2, "the averaged epochs should validate best on this corpus"
    steps = [weights for epoch, weights in recorded if 2 <= epoch <= best]
    expected = [torch.stack(ws).mean(0) for ws in zip(*steps)]
    for param, mean in zip(model.net.parameters(), expected):
        assert torch.allclose(param.detach().double(), mean, atol=1e-5)
    last = recorded[-1][1]
    assert any(not torch.allclose(p.detach().double(), w) for p, w in zip(model.net.parameters(), last))


def test_averaging_that_never_starts_changes_nothing():
    plain = TextModel(**OPTIONS).fit(LINES)
    late = TextModel(**OPTIONS, average_from=OPTIONS["epochs"] + 1).fit(LINES)
    for key, value in plain.net.state_dict().items():
        assert torch.equal(value, late.net.state_dict()[key]), key


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_bad_average_from_is_refused(value):
    from click.testing import CliRunner

    from seqtext.cli import cli

    from conftest import assert_clean_failure

    result = CliRunner().invoke(cli, ["train", "--corpus", "x.txt", "--average-from", value])
    assert_clean_failure(result, "--average-from")

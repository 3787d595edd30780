"""The shared training session's optimizers and learning-rate schedules: plateau decay, warm-up, cosine."""

import json
import math
from types import SimpleNamespace

import pytest
import torch

from seqtext.config import TrainConfig
from seqtext.errors import ConfigError
from seqtext.session import Session


class _Task:
    """The session's side of the task protocol, from plain functions."""

    headline = "loss"

    def __init__(self, batches, step_loss, evaluate, steps):
        self._batches, self._loss, self._evaluate, self._steps = batches, step_loss, evaluate, steps

    def batches(self, epoch, generator):
        return self._batches(epoch)

    def loss(self, runner, batch):
        return self._loss(runner, batch)

    def evaluate(self, net):
        return self._evaluate(net) if self._evaluate is not None else None

    def steps_per_epoch(self):
        return self._steps


def fit(net, batches, step_loss, evaluate, config, progress=False, steps_per_epoch=None):
    """Train ``net`` through the shared Session; the history of evaluations."""
    session = Session(_Task(batches, step_loss, evaluate, steps_per_epoch), net, config,
                      generator=torch.Generator(), progress=progress)
    state = session.run()
    return SimpleNamespace(history=json.loads(state["history"]))


@pytest.fixture
def run(monkeypatch):
    """Fit a one-weight model; return the learning rate of every optimizer step and the history."""
    made = []

    class Recording(torch.optim.Adam):  # remember the loop's optimizer so each step can read its lr
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(torch.optim, "Adam", Recording)

    def _run(config: TrainConfig, n_batches: int = 4, steps_per_epoch=True, valid_losses=None):
        torch.manual_seed(0)
        net = torch.nn.Linear(1, 1)
        data = [(torch.ones(2, 1), torch.zeros(2, 1))] * n_batches
        lrs = []

        def step_loss(net, batch):
            lrs.append(made[-1].param_groups[0]["lr"])
            x, y = batch
            return torch.nn.functional.mse_loss(net(x), y)

        losses = iter(valid_losses or [])
        evaluate = (lambda net: {"loss": next(losses)}) if valid_losses else None
        result = fit(net, lambda epoch: iter(data), step_loss, evaluate, config, progress=False,
                     steps_per_epoch=n_batches if steps_per_epoch else None)
        return lrs, result.history

    return _run


def test_plateau_is_a_constant_rate_until_validation_stalls(run):
    lrs, history = run(TrainConfig(epochs=3, lr=0.1, lr_decay=0.5, patience=5), valid_losses=[1.0, 2.0, 0.5])
    assert lrs == pytest.approx([0.1] * 8 + [0.05] * 4)  # epoch 2 did not improve: halved for epoch 3
    assert [h["lr"] for h in history] == pytest.approx([0.1, 0.05, 0.05])


def test_warmup_rises_linearly_then_holds(run):
    lrs, _ = run(TrainConfig(epochs=2, lr=0.1, warmup=4))
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1])


def test_cosine_falls_to_zero_over_all_steps(run):
    lrs, _ = run(TrainConfig(epochs=2, lr=0.1, schedule="cosine"))
    want = [0.1 * 0.5 * (1 + math.cos(math.pi * t / 8)) for t in range(8)]
    assert lrs == pytest.approx(want)
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] < 0.01


def test_cosine_warmup_and_plateau_multiply(run):
    lrs, _ = run(TrainConfig(epochs=3, lr=0.1, schedule="cosine", warmup=2, lr_decay=0.5, patience=5),
                 valid_losses=[1.0, 2.0, 0.5])
    cos = [0.5 * (1 + math.cos(math.pi * t / 12)) for t in range(12)]
    warm = [0.5, 1.0] + [1.0] * 10
    plateau = [1.0] * 8 + [0.5] * 4  # epoch 2 did not improve
    assert lrs == pytest.approx([0.1 * c * w * p for c, w, p in zip(cos, warm, plateau)])


def test_cosine_without_steps_per_epoch_moves_once_an_epoch(run):
    lrs, _ = run(TrainConfig(epochs=2, lr=0.1, schedule="cosine"), steps_per_epoch=False)
    assert lrs == pytest.approx([0.1] * 4 + [0.05] * 4)


@pytest.mark.parametrize("bad", [dict(schedule="linear"), dict(warmup=-1), dict(warmup=1.5),
                                 dict(optimizer="rmsprop"), dict(optimizer=None)])
def test_bad_schedule_and_optimizer_options_are_refused(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad).validate()


@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_sgd_takes_plain_gradient_steps(weight_decay):
    """optimizer="sgd": w <- w - lr * (grad + weight_decay * w), no momentum, no Adam moments."""
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 1)
    x, y = torch.tensor([[1.0, 2.0], [3.0, -1.0]]), torch.tensor([[0.5], [-0.5]])
    seen = []

    def step_loss(net, batch):
        seen.append([p.detach().clone() for p in net.parameters()])
        return torch.nn.functional.mse_loss(net(batch[0]), batch[1])

    config = TrainConfig(epochs=1, optimizer="sgd", lr=0.05, clip=1e6, weight_decay=weight_decay)
    fit(net, lambda epoch: iter([(x, y)] * 3), step_loss, None, config, progress=False)
    assert len(seen) == 3
    for before, after in zip(seen, seen[1:]):
        w, b = (p.clone().requires_grad_() for p in before)
        loss = torch.nn.functional.mse_loss(x @ w.T + b, y)
        gw, gb = torch.autograd.grad(loss, (w, b))
        assert torch.allclose(after[0], w - 0.05 * (gw + weight_decay * w), atol=1e-6)
        assert torch.allclose(after[1], b - 0.05 * (gb + weight_decay * b), atol=1e-6)
    # Adam's first step moves every weight by about lr, whatever its gradient: a different rule
    torch.manual_seed(0)
    adam = torch.nn.Linear(2, 1)
    first = [p.detach().clone() for p in adam.parameters()]
    fit(adam, lambda epoch: iter([(x, y)]), lambda n, b: torch.nn.functional.mse_loss(n(b[0]), b[1]), None,
        TrainConfig(epochs=1, lr=0.05, clip=1e6), progress=False)
    assert torch.allclose((adam.weight - first[0]).abs(), torch.full((1, 2), 0.05), atol=1e-4)


def test_bf16_precision_autocasts_the_training_steps_and_not_the_evaluation(monkeypatch):
    from seqtext import machine

    monkeypatch.setattr(machine, "bf16_missing", lambda device, flags=None: None)  # emulated where not in hardware
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 1)
    x = torch.randn(32, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    train_dtypes, eval_dtypes = [], []

    def step_loss(net, batch):
        out = net(batch[0])
        train_dtypes.append(out.dtype)
        return torch.nn.functional.mse_loss(out.float(), batch[1])

    def evaluate(net):
        out = net(x)
        eval_dtypes.append(out.dtype)
        return {"loss": torch.nn.functional.mse_loss(out, y).item()}

    result = fit(net, lambda epoch: [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)], step_loss, evaluate,
                 TrainConfig(epochs=30, lr=0.05, precision="bf16", patience=30), progress=False)
    assert set(train_dtypes) == {torch.bfloat16} and set(eval_dtypes) == {torch.float32}
    assert net.weight.dtype == torch.float32  # the weights themselves stay fp32
    assert result.history[-1]["valid_loss"] < 0.1 * result.history[0]["valid_loss"]


@pytest.mark.parametrize("mode", ["sentence", "stream"])
def test_a_validation_text_mostly_outside_the_vocabulary_is_warned_of(tmp_path, mode):
    """Its <unk> tokens are easy to predict, so the validation perplexity would flatter the model, silently."""
    from seqtext import TextModel
    from seqtext.errors import SeqtextWarning
    from conftest import TINY_LINES, write_corpus

    corpus = write_corpus(tmp_path / "train.txt", TINY_LINES * 10)
    valid = write_corpus(tmp_path / "valid.txt", ["Zorblax quux fnord blah.", "Quibble zanzibar the car."])
    with pytest.warns(SeqtextWarning, match=r"of the tokens of .*valid.txt are outside the vocabulary .* so the "
                                            r"validation figures will flatter the model; give valid text like"):
        TextModel(embed=8, hidden=8, epochs=1, device="cpu", mode=mode, **({"bptt": 4} if mode == "stream" else {})
                  ).fit(str(corpus), valid=str(valid))

"""The task seam: a new task is a settings class, a Task with five methods and a two-line Model.

The toy task below (predict the sum of a window of numbers) is trained,
saved, opened by kind, interrupted and resumed through the shared session and
model-directory code alone, so the protocol is all a new task needs.
"""

import json
import os
import signal

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqtext import modeldir
from seqtext.config import CoreConfig, Settings, TrainConfig
from seqtext.core import RecurrentCore
from seqtext.errors import ConfigError
from seqtext.model import Model, Task
from seqtext.session import TrainingInterrupted


class SumSettings(Settings):
    kind = "toy-sum"
    SECTIONS = {"core": CoreConfig.variant(hidden=16),
                "train": TrainConfig.variant(epochs=25, batch_size=16, lr=0.01, valid_fraction=0.25, patience=25)}


class SumNet(nn.Module):
    def __init__(self, core: CoreConfig):
        super().__init__()
        self.core = RecurrentCore(core, input_size=1)
        self.head = nn.Linear(core.hidden, 1)

    def forward(self, x):  # (B, W) -> (B,)
        out, _ = self.core(x.unsqueeze(-1))  # (B, W, H)
        return self.head(out[:, -1]).squeeze(-1)


class SumTask(Task):
    settings_class = SumSettings
    kind = "toy-sum"

    def prepare(self, data, fresh):
        x = torch.as_tensor(data["windows"], dtype=torch.float32)  # (N, W)
        cut = int(len(x) * (1 - self.settings.train.valid_fraction))
        self.train, self.valid = x[:cut], x[cut:]

    def build(self):
        return SumNet(self.settings.core)

    def batches(self, epoch, generator):
        order = torch.randperm(len(self.train), generator=generator)
        for s in range(0, len(order), self.settings.train.batch_size):
            yield self.train[order[s:s + self.settings.train.batch_size]]

    def loss(self, runner, batch):
        return F.mse_loss(runner(batch), batch.sum(1))

    def evaluate(self, net):
        return {"loss": F.mse_loss(net(self.valid), self.valid.sum(1)).item()}


class SumModel(Model):
    task_class = SumTask


modeldir.register("toy-sum", SumModel, SumTask.files)


def windows(n=256, width=5, seed=0):
    return torch.rand(n, width, generator=torch.Generator().manual_seed(seed)).tolist()


def test_a_toy_task_trains_through_the_shared_session():
    model = SumModel(seed=0)._fit({"windows": windows()})
    history = model.history
    assert history[-1]["valid_loss"] < 0.05 * history[0]["valid_loss"]
    probe = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5]])
    assert model.net(probe).item() == pytest.approx(1.5, abs=0.25)
    assert model.summary["epochs_run"] == 25 and "valid_loss" in model.summary


def test_a_toy_model_saves_and_opens_by_its_kind(tmp_path):
    model = SumModel(seed=0, epochs=3, hidden=8)._fit({"windows": windows()})
    path = model.save(tmp_path / "sum")
    config = json.loads((path / "config.json").read_text())
    assert config["kind"] == "toy-sum" and config["core"]["hidden"] == 8 and config["train"]["epochs"] == 3
    again = modeldir.load(path)
    assert type(again) is SumModel
    probe = torch.rand(4, 5)
    assert torch.equal(again.net(probe), model.net(probe))
    assert [h["epoch"] for h in again.history] == [1, 2, 3]  # metrics.jsonl


def test_a_toy_training_interrupted_and_resumed_is_bit_identical(tmp_path, monkeypatch):
    reference = SumModel(seed=3, epochs=4)._fit({"windows": windows()})
    calls = {"n": 0}
    original = SumTask.loss

    def interrupting(self, runner, batch):
        calls["n"] += 1
        if calls["n"] == 17:  # epoch 2, batch 5 (12 batches an epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, runner, batch)

    monkeypatch.setattr(SumTask, "loss", interrupting)
    model = SumModel(seed=3, epochs=4)
    with pytest.raises(TrainingInterrupted) as caught:
        model._fit({"windows": windows()}, checkpoint_dir=tmp_path / "sum")
    assert caught.value.model is model
    state = modeldir.load_trainer_state(tmp_path / "sum")  # saved by the session on Ctrl-C
    assert (state["epoch"], state["batches_done"]) == (2, 5)
    monkeypatch.setattr(SumTask, "loss", original)
    with pytest.raises(ConfigError, match="is in epoch 2, so epochs 1 would end it before that epoch is done"):
        SumModel.resume(tmp_path / "sum", {"windows": windows()}, epochs=1)  # nothing changed by the refusal
    resumed = SumModel.resume(tmp_path / "sum", {"windows": windows()})
    for key, value in reference.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert [h["valid_loss"] for h in resumed.history] == [h["valid_loss"] for h in reference.history]


def test_a_finished_toy_training_resumes_only_with_more_epochs(tmp_path):
    SumModel(seed=0, epochs=2)._fit({"windows": windows()}, checkpoint_dir=tmp_path / "sum")
    with pytest.raises(Exception, match="already finished after 2 epochs"):
        SumModel.resume(tmp_path / "sum", {"windows": windows()})
    longer = SumModel.resume(tmp_path / "sum", {"windows": windows()}, epochs=3)
    assert len(longer.history) == 3


def test_a_finished_training_resumed_for_more_epochs_goes_on_from_its_last_weights(tmp_path, monkeypatch):
    """When the best epoch is not the last, the model keeps the best weights, but a resume with more epochs
    goes on from the last ones (and their optimizer state), as a longer run does: bit-identically."""
    scripted = iter([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])  # epoch 1 is the best in both runs
    monkeypatch.setattr(SumTask, "evaluate", lambda self, net: {"loss": next(scripted)})
    SumModel(seed=0, epochs=2)._fit({"windows": windows()}, checkpoint_dir=tmp_path / "sum")
    longer = SumModel.resume(tmp_path / "sum", {"windows": windows()}, epochs=3)
    straight = SumModel(seed=0, epochs=3)._fit({"windows": windows()})
    assert [h["train_loss"] for h in longer.history] == [h["train_loss"] for h in straight.history]
    for key, value in straight.trainer_state["net"].items():  # the last weights, kept for a resume
        assert torch.equal(value, longer.trainer_state["net"][key]), key
    for key, value in straight.net.state_dict().items():  # the best, in the model
        assert torch.equal(value, longer.net.state_dict()[key]), key


def test_resume_without_data_says_what_to_pass(tmp_path):
    SumModel(seed=0, epochs=1)._fit({"windows": windows()}, checkpoint_dir=tmp_path / "sum")
    with pytest.raises(Exception, match="pass the data to resume"):
        SumModel.resume(tmp_path / "sum", epochs=2)

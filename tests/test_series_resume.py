"""The forecaster on the shared session: resume (bit-identical), the cosine schedule, the recorded data."""

from __future__ import annotations

import json
import math
import os
import signal
import warnings

import numpy as np
import pytest
import torch

from seqtext.errors import ConfigError, DataError, SeqtextWarning
from seqtext.modeldir import load_trainer_state
from seqtext.series import ForecastTask, Forecaster
from seqtext.session import TrainingInterrupted

# two stacked layers with dropout and weight drop: a resume must also restore the dropout RNG
OPTIONS = dict(window=8, hidden=8, layers=2, dropout=0.2, weight_drop=0.2, batch_size=8, epochs=3, patience=10,
               device="cpu", seed=5)


def write_series(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 0.3 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    months = [f"{1990 + k // 12:04d}-{k % 12 + 1:02d}" for k in range(n)]
    path.write_text("month,v\n" + "\n".join(f"{m},{x:.4f}" for m, x in zip(months, values)) + "\n")
    return path


@pytest.fixture
def csv(tmp_path):
    return write_series(tmp_path / "s.csv")


def interrupt_at(monkeypatch, batch: int):
    """Send SIGINT during training batch number ``batch`` (1-based); the session stops after that batch."""
    original = ForecastTask.loss
    calls = {"n": 0}

    def loss(self, runner, data):
        calls["n"] += 1
        if calls["n"] == batch:
            os.kill(os.getpid(), signal.SIGINT)  # handled as a flag: the batch still completes
        return original(self, runner, data)

    monkeypatch.setattr(ForecastTask, "loss", loss)
    return lambda: monkeypatch.setattr(ForecastTask, "loss", original)


@pytest.mark.parametrize("schedule", [dict(lr_decay=0.5), dict(schedule="cosine", warmup=5)])
def test_interrupted_and_resumed_is_bit_identical(tmp_path, csv, monkeypatch, schedule):
    options = {**OPTIONS, **schedule}
    reference = Forecaster(**options).fit(csv, target="v", date="month", holdout=12)

    restore = interrupt_at(monkeypatch, 30)  # 23 batches an epoch: inside the second epoch
    model = Forecaster(**options)
    with pytest.raises(TrainingInterrupted):
        model.fit(csv, target="v", date="month", holdout=12, checkpoint_dir=tmp_path / "m")
    restore()
    state = load_trainer_state(tmp_path / "m")  # saved as the training stopped
    assert (state["epoch"], state["batches_done"], state["finished"]) == (2, 7, False)
    with pytest.warns(SeqtextWarning, match=r"^the training of .* was interrupted after 1 epoch of 3, so its weights "
                                            r"are the best of those epochs; resume it with seqtext.Forecaster.resume"):
        Forecaster.load(tmp_path / "m")

    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqtextWarning)  # resuming it is what the warning asks for: none
        resumed = Forecaster.resume(tmp_path / "m")  # re-reads the recorded CSV, holding out the same 12 values
    for key, value in reference.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in reference.history]
    assert np.array_equal(resumed.predict(6), reference.predict(6))
    assert resumed.summary["values"] == reference.summary["values"] == 188


def test_resume_with_more_epochs_continues_a_finished_training(tmp_path, csv):
    short = Forecaster(**OPTIONS).fit(csv, target="v", checkpoint_dir=tmp_path / "m")
    with pytest.raises(ConfigError, match="already finished after 3 epochs; raise epochs"):
        Forecaster.resume(tmp_path / "m")
    longer = Forecaster.resume(tmp_path / "m", epochs=5, checkpoint_dir=tmp_path / "m")
    straight = Forecaster(**{**OPTIONS, "epochs": 5}).fit(csv, target="v")
    assert len(longer.history) == 5 and longer.settings.train.epochs == 5
    assert np.array_equal(longer.predict(3), straight.predict(3))
    assert not np.array_equal(short.predict(3), longer.predict(3))
    assert json.loads((tmp_path / "m" / "config.json").read_text())["train"]["epochs"] == 5
    # calibrated again, on a copy trained for 5 epochs too: the intervals of the straight 5-epoch fit
    assert longer.task.intervals.to_dict() == straight.task.intervals.to_dict() != short.task.intervals.to_dict()
    assert Forecaster.load(tmp_path / "m").task.intervals.to_dict() == straight.task.intervals.to_dict()


def test_the_training_data_is_recorded(tmp_path, csv):
    Forecaster(**OPTIONS).fit(csv, target="v", holdout=4, checkpoint_dir=tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["data"] == {"source": str(csv.resolve()), "holdout": 4, "values": 196,
                              "sha256": config["data"]["sha256"], "left_out": []}
    # the digest of the values trained on: the same for the same values, another for other ones
    digests = [Forecaster(**OPTIONS).fit(csv, target="v", holdout=h).task.data["sha256"] for h in (4, 4, 5)]
    assert digests[0] == digests[1] == config["data"]["sha256"] != digests[2] and len(digests[0]) == 64
    assert config["inputs"] == 1 and len(config["tail"]["target"]) == 8


def test_resume_refuses_a_changed_csv(tmp_path, csv):
    Forecaster(**OPTIONS).fit(csv, target="v", checkpoint_dir=tmp_path / "m")
    write_series(csv, n=210)
    with pytest.raises(DataError, match="gives 210 values to train on, not the 200"):
        Forecaster.resume(tmp_path / "m", epochs=4)


def test_resume_refuses_values_changed_since_even_as_many(tmp_path, csv):
    Forecaster(**OPTIONS).fit(csv, target="v", checkpoint_dir=tmp_path / "m")
    resumed = Forecaster.resume(tmp_path / "m", epochs=4)  # the same file: trains on
    assert len(resumed.history) == 4
    write_series(csv, seed=1)  # 200 values again, other ones
    with pytest.raises(DataError) as info:
        Forecaster.resume(tmp_path / "m", epochs=5)
    assert str(info.value) == (f"{csv} holds other values than the ones this training started with (as many, 200, "
                               "but not the same); resume on the same data or train afresh.")
    values = [float(10 + 3 * i + 5 * math.sin(i)) for i in range(60)]
    Forecaster(**OPTIONS).fit(values, checkpoint_dir=tmp_path / "p")
    with pytest.raises(DataError, match="^the series given holds other values"):
        Forecaster.resume(tmp_path / "p", [v + 1 for v in values], epochs=4)


def test_resume_of_data_given_in_python_needs_the_data(tmp_path):
    values = [float(10 + 3 * i + 5 * math.sin(i)) for i in range(60)]
    Forecaster(**OPTIONS).fit(values, checkpoint_dir=tmp_path / "m")
    with pytest.raises(ConfigError) as info:
        Forecaster.resume(tmp_path / "m", epochs=4)
    assert "given in Python" in str(info.value) and str(info.value).endswith("pass it again as data.")
    resumed = Forecaster.resume(tmp_path / "m", values, epochs=4)
    straight = Forecaster(**{**OPTIONS, "epochs": 4}).fit(values)
    assert np.array_equal(resumed.predict(3), straight.predict(3))


def test_cosine_schedule_moves_the_rate_at_every_step(monkeypatch, csv):
    made = []

    class Recording(torch.optim.Adam):  # the session's optimizer, so each step can read its rate
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(torch.optim, "Adam", Recording)
    rates = []
    original = ForecastTask.loss

    def loss(self, runner, batch):
        rates.append(made[-1].param_groups[0]["lr"])
        return original(self, runner, batch)

    monkeypatch.setattr(ForecastTask, "loss", loss)
    model = Forecaster(**{**OPTIONS, "epochs": 4, "patience": 10, "lr": 0.01, "schedule": "cosine",
                          "calibrate": 0})  # one fit: the calibration copy would train too
    model.fit(csv, target="v")
    steps = math.ceil(192 / 8)  # 192 windows of 8 + 1 in 200 values
    assert model.task.steps_per_epoch() == steps and len(rates) == 4 * steps
    want = [0.01 * 0.5 * (1 + math.cos(math.pi * t / (4 * steps))) for t in range(4 * steps)]
    assert rates == pytest.approx(want)
    assert [h["lr"] for h in model.history] == pytest.approx([0.01 * 0.5 * (1 + math.cos(math.pi * e / 4))
                                                              for e in (1, 2, 3, 4)])


def test_the_warning_of_an_interrupted_model_says_what_its_weights_are():
    from pathlib import Path

    from seqtext.modeldir import warn_unfinished

    with pytest.warns(SeqtextWarning, match=r"^the training of m was interrupted in its first epoch, so its weights "
                                            r"are those it stopped at; resume it with seqtext.TextModel.resume"):
        warn_unfinished(Path("m"), "text", {"finished": False, "epochs_run": 0}, 3)
    with pytest.warns(SeqtextWarning, match=r"interrupted after 2 epochs of 5, so its weights are the best of those"):
        warn_unfinished(Path("m"), "tag", {"finished": False, "epochs_run": 2}, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqtextWarning)
        for summary in ({}, {"finished": True, "epochs_run": 5}):  # an older directory's, a finished one's: silent
            warn_unfinished(Path("m"), "series", summary, 5)


def test_a_resumed_training_saves_no_intervals_until_it_calibrates_them_again(tmp_path, csv, monkeypatch):
    """The intervals of a training taken further were calibrated for the weights before it: none is saved while
    it trains (Ctrl-C there keeps none), and the training finished calibrates anew."""
    options = {**OPTIONS, "calibrate": 12}
    Forecaster(**options).fit(csv, target="v", checkpoint_dir=tmp_path / "m")
    assert Forecaster.load(tmp_path / "m").task.intervals is not None
    restore = interrupt_at(monkeypatch, 5)  # inside epoch 4
    with pytest.raises(TrainingInterrupted):
        Forecaster.resume(tmp_path / "m", epochs=5, checkpoint_dir=tmp_path / "m")
    restore()
    with pytest.warns(SeqtextWarning, match="was interrupted after 3 epochs of 5"):
        stopped = Forecaster.load(tmp_path / "m")
    assert stopped.task.intervals is None
    with pytest.raises(DataError, match="intervals are not calibrated yet"):
        stopped.predict(3, levels=[80])
    done = Forecaster.resume(tmp_path / "m", checkpoint_dir=tmp_path / "m")
    straight = Forecaster(**{**options, "epochs": 5}).fit(csv, target="v")
    assert done.task.intervals.to_dict() == straight.task.intervals.to_dict()
    assert np.array_equal(done.predict(3), straight.predict(3))

import pytest
import torch

from seqtext.config import CoreConfig, TextConfig, TrainConfig
from seqtext.core import LockedDropout, RecurrentCore, detach_hidden
from seqtext.errors import ConfigError


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes(cell, bidirectional):
    core = RecurrentCore(input_size=5, config=CoreConfig(hidden=7, layers=2, cell=cell,
                                    bidirectional=bidirectional, dropout=0.1))
    x = torch.randn(3, 4, 5)  # (B, T, I)
    out, hidden = core(x)
    d = 2 if bidirectional else 1
    assert out.shape == (3, 4, 7 * d)
    assert core.output_size == 7 * d
    h = hidden[0] if cell == "lstm" else hidden
    assert h.shape == (2 * d, 3, 7)
    init = core.init_hidden(3)
    assert (init[0] if cell == "lstm" else init).shape == h.shape


def test_default_core_is_plain_tanh_rnn():
    core = RecurrentCore(CoreConfig(), input_size=8)
    assert isinstance(core.rnn, torch.nn.RNN) and core.rnn.nonlinearity == "tanh"
    relu = RecurrentCore(CoreConfig(nonlinearity="relu"), input_size=8)
    assert relu.rnn.nonlinearity == "relu"


def test_hidden_carries_state_and_detaches():
    core = RecurrentCore(input_size=3, config=CoreConfig(hidden=4))
    x = torch.randn(2, 6, 3)
    full, _ = core(x)
    first, h = core(x[:, :3])
    second, _ = core(x[:, 3:], detach_hidden(h))
    torch.testing.assert_close(torch.cat([first, second], 1), full)
    assert not detach_hidden(h).requires_grad


@pytest.mark.parametrize(
    "cfg",
    [
        CoreConfig(hidden=0),
        CoreConfig(layers=-1),
        CoreConfig(dropout=1.0),
        CoreConfig(nonlinearity="sigmoid"),
        CoreConfig(cell="transformer"),
        TextConfig(embed=0),
        TrainConfig(epochs=0),
        TrainConfig(lr=-1.0),
    ],
)
def test_invalid_configs_raise(cfg):
    with pytest.raises(ConfigError):
        cfg.validate()


def test_config_round_trip():
    cfg = CoreConfig(hidden=9, layers=3, nonlinearity="relu")
    assert CoreConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="no option 'hidden_size'"):
        CoreConfig.from_dict({"hidden_size": 3})


@pytest.mark.parametrize("cell,nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("gru", "tanh"), ("lstm", "tanh")])
def test_step_equals_forward_one_token_at_a_time(cell, nonlinearity):
    torch.manual_seed(0)
    core = RecurrentCore(input_size=5, config=CoreConfig(hidden=7, layers=2, cell=cell,
                                    nonlinearity=nonlinearity, dropout=0.5)).eval()
    x = torch.randn(3, 6, 5)
    with torch.no_grad():
        full, full_hidden = core(x)
        hidden = None
        for t in range(x.shape[1]):
            out, hidden = core.step(x[:, t], hidden)
            torch.testing.assert_close(out, full[:, t])
    for mine, theirs in zip(hidden if cell == "lstm" else (hidden,), full_hidden if cell == "lstm" else (full_hidden,)):
        torch.testing.assert_close(mine, theirs)


def test_locked_dropout_keeps_one_mask_along_each_sequence():
    torch.manual_seed(0)
    drop = LockedDropout(0.5)
    x = torch.ones(64, 9, 16)  # (B, T, D)
    y = drop(x)
    assert torch.equal(y, y[:, :1].expand_as(y))  # the same units dropped at every step
    assert set(y.unique().tolist()) == {0.0, 2.0}  # kept units scaled by 1 / (1 - p)
    assert 0.4 < (y == 0).float().mean().item() < 0.6
    assert not torch.equal(y[0, 0], y[1, 0])  # but a mask of its own per sequence
    assert torch.equal(drop.eval()(x), x)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_weight_drop_masks_the_recurrent_weights_while_training_only(cell):
    torch.manual_seed(0)
    config = CoreConfig(hidden=7, layers=2, cell=cell, weight_drop=0.5)
    core = RecurrentCore(config, input_size=5)
    plain = RecurrentCore(input_size=5, config=CoreConfig(hidden=7, layers=2, cell=cell))
    plain.load_state_dict(core.state_dict())  # weight drop adds no parameters: the same files load
    x = torch.randn(3, 6, 5)
    torch.testing.assert_close(core.eval()(x)[0], plain.eval()(x)[0])  # evaluation: the weights as they are
    core.train()
    first, second = core(x)[0], core(x)[0]
    assert not torch.allclose(first, plain(x)[0]) and not torch.allclose(first, second)  # a fresh mask per call
    # what the masked call computes: the same core with each W_hh dropped connection by connection
    torch.manual_seed(1)
    out = core(x)[0]
    torch.manual_seed(1)
    with torch.no_grad():
        for name, weight in plain.rnn.named_parameters():
            if name.startswith("weight_hh"):
                weight.copy_(torch.nn.functional.dropout(weight, 0.5))
    torch.testing.assert_close(out, plain(x)[0])
    out.sum().backward()
    hh = core.rnn.weight_hh_l0.grad
    assert hh is not None and (hh == 0).any() and (hh != 0).any()  # dropped connections get no gradient
    assert core.rnn.weight_ih_l0.grad.abs().sum() > 0


def test_weight_drop_is_validated():
    with pytest.raises(ConfigError, match="weight_drop"):
        CoreConfig(weight_drop=1.0).validate()
    for field, value, name in [("locked_dropout", "yes", "locked_dropout"), ("tie_weights", 1, "tie_weights"),
                               ("split_punctuation", None, "split_punctuation")]:
        with pytest.raises(ConfigError, match=f"{name} must be true or false"):
            TextConfig(**{field: value}).validate()
    with pytest.raises(ConfigError, match="bidirectional must be true or false"):
        CoreConfig(bidirectional="no").validate()

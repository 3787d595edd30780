import pytest
import torch

from seqtext.config import CoreConfig, TextConfig, TrainConfig
from seqtext.core import RecurrentCore, detach_hidden
from seqtext.errors import ConfigError


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes(cell, bidirectional):
    core = RecurrentCore(CoreConfig(input_size=5, hidden_size=7, num_layers=2, cell=cell,
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
    core = RecurrentCore(CoreConfig())
    assert isinstance(core.rnn, torch.nn.RNN) and core.rnn.nonlinearity == "tanh"
    relu = RecurrentCore(CoreConfig(nonlinearity="relu"))
    assert relu.rnn.nonlinearity == "relu"


def test_hidden_carries_state_and_detaches():
    core = RecurrentCore(CoreConfig(input_size=3, hidden_size=4))
    x = torch.randn(2, 6, 3)
    full, _ = core(x)
    first, h = core(x[:, :3])
    second, _ = core(x[:, 3:], detach_hidden(h))
    torch.testing.assert_close(torch.cat([first, second], 1), full)
    assert not detach_hidden(h).requires_grad


@pytest.mark.parametrize(
    "cfg",
    [
        CoreConfig(hidden_size=0),
        CoreConfig(num_layers=-1),
        CoreConfig(dropout=1.0),
        CoreConfig(nonlinearity="sigmoid"),
        CoreConfig(cell="transformer"),
        TextConfig(embed_size=0),
        TrainConfig(epochs=0),
        TrainConfig(lr=-1.0),
    ],
)
def test_invalid_configs_raise(cfg):
    with pytest.raises(ConfigError):
        cfg.validate()


def test_config_round_trip():
    cfg = CoreConfig(hidden_size=9, num_layers=3, nonlinearity="relu")
    assert CoreConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="no field"):
        CoreConfig.from_dict({"hidden": 3})


@pytest.mark.parametrize("cell,nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("gru", "tanh"), ("lstm", "tanh")])
def test_step_equals_forward_one_token_at_a_time(cell, nonlinearity):
    torch.manual_seed(0)
    core = RecurrentCore(CoreConfig(input_size=5, hidden_size=7, num_layers=2, cell=cell,
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

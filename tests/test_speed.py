"""What was fused or rewritten for training speed computes what the plain path does; bf16 and threads options.

The fused output layer (seqtext.text.fused), the written-out plain RNN (seqtext.elman) and SGD with
clipping folded into its fused step (seqtext.update) are compared with the plain torch expressions they
replace: the same loss and gradients to 1e-6 in float32.  bf16 training stays within a stated tolerance
of fp32; --threads auto and the bad values of --threads and --precision behave as documented.  No timing.
"""

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from seqtext import TextModel, machine
from seqtext.cli import cli
from seqtext.config import CoreConfig, TextConfig, TrainConfig
from seqtext.core import RecurrentCore, dropout
from seqtext.errors import ConfigError, SeqtextWarning
from seqtext.text.fused import linear_cross_entropy
from seqtext.text.net import TextNet
from seqtext.update import Update, make_optimizer

from conftest import CORPORA, assert_clean_failure

TOL = dict(rtol=1e-6, atol=1e-6)
BF16_TOLERANCE = 1e-3  # bf16 training loss over 20 steps: within 0.1 % of fp32's (measured: 2.4e-5 rnn,
# 1.5e-5 lstm; halving the learning rate moves it 6 %, no learning 12 to 15 %)


def grads(module, *extra):
    return [p.grad.clone() for p in module.parameters()] + [t.grad.clone() for t in extra]


@pytest.mark.parametrize("chunk_rows", [None, 8])  # one chunk; several, with underflowing rows in two of them
def test_fused_output_layer_gives_the_plain_loss_and_gradients(chunk_rows, monkeypatch):
    from seqtext.text import fused

    torch.manual_seed(0)
    vocab, width, rows = 300, 24, 70
    if chunk_rows:
        monkeypatch.setattr(fused, "CHUNK_BYTES", 4 * vocab * chunk_rows)
    weight = (torch.randn(vocab, width) * 0.3).requires_grad_()
    bias = torch.randn(vocab).requires_grad_()
    feats0 = torch.randn(rows, width)
    feats0[[3, 4, 41]] *= 80  # rows whose target probability underflows float32: their loss through logsumexp
    targets = torch.randint(0, vocab, (rows,))
    targets[::7] = 0  # ignored, as padding is
    results = []
    for fused in (False, True):
        feats = feats0.clone().requires_grad_()
        weight.grad = bias.grad = None
        if fused:
            loss = linear_cross_entropy(feats, weight, bias, targets, ignore_index=0)
        else:
            loss = F.cross_entropy(F.linear(feats, weight, bias), targets, ignore_index=0)
        (2.5 * loss).backward()  # a scale on the loss reaches every gradient
        results.append([loss.detach(), feats.grad, weight.grad.clone(), bias.grad.clone()])
    assert torch.isfinite(results[1][0])
    for plain, fused in zip(*results):
        torch.testing.assert_close(fused, plain, **TOL)


@pytest.mark.parametrize("tied", [False, True])  # tied: the shared (V, E) matrix behind a projection H -> E
def test_textnet_loss_only_matches_its_logits_path_with_dropout_on(tied):
    text = TextConfig(embed=12, embed_dropout=0.2, output_dropout=0.3, tie_weights=tied)
    net = TextNet(50, text, CoreConfig(hidden=16, layers=2, dropout=0.25), pad_id=0).train()
    assert (net.project is not None) == tied
    x = torch.randint(1, 50, (3, 9))
    y = torch.randint(0, 50, (3, 9))
    results = []
    for loss_only in (False, True):
        net.zero_grad()
        torch.manual_seed(5)  # the same dropout masks on both paths
        logits, loss, _ = net(x, y, loss_only=loss_only)
        assert (logits is None) == loss_only
        loss.backward()
        results.append([loss.detach(), *grads(net)])
    for plain, fused in zip(*results):
        torch.testing.assert_close(fused, plain, **TOL)


@pytest.mark.parametrize("nonlinearity, weight_drop", [("tanh", 0.0), ("relu", 0.0), ("tanh", 0.3)])
def test_written_out_rnn_matches_nn_rnn(nonlinearity, weight_drop):
    torch.manual_seed(0)
    config = CoreConfig(hidden=16, layers=2, cell="rnn", nonlinearity=nonlinearity, weight_drop=weight_drop)
    core = RecurrentCore(config, input_size=8).train()
    assert core._elman  # the plain RNN trains through seqtext.elman on a CPU
    x0, h00 = torch.randn(4, 7, 8), torch.randn(2, 4, 16)
    results = []
    for written_out in (False, True):
        core._elman = written_out
        core.zero_grad()
        x, h0 = x0.clone().requires_grad_(), h00.clone().requires_grad_()
        torch.manual_seed(7)  # the same weight-drop masks on both paths
        out, hidden = core(x, h0)
        ((out * torch.linspace(-1, 1, 16)).mean() + hidden.pow(2).mean()).backward()
        results.append([out.detach(), hidden.detach(), x.grad, h0.grad, *grads(core)])
    for plain, fast in zip(*results):
        torch.testing.assert_close(fast, plain, **TOL)


def test_written_out_rnn_with_dropout_between_layers_matches_two_nn_rnn_layers():
    torch.manual_seed(0)
    core = RecurrentCore(CoreConfig(hidden=16, layers=2, cell="rnn", dropout=0.4), input_size=8).train()
    params = dict(core.rnn.named_parameters())
    layers = [torch.nn.RNN(8 if i == 0 else 16, 16, batch_first=True) for i in range(2)]
    for i, layer in enumerate(layers):  # the same weights, one layer each
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").data.copy_(params[f"{name}_l{i}"].data)
    x = torch.randn(3, 6, 8)
    torch.manual_seed(9)
    out, _ = core(x)
    torch.manual_seed(9)
    middle, _ = layers[0](x)
    # the core's dropout between layers, drawn over (T, B, H) as the core lays the steps out: the same masks
    plain, _ = layers[1](dropout(middle.transpose(0, 1).contiguous(), 0.4).transpose(0, 1))
    out.mean().backward()  # a mean, as training losses are: gradients of their usual size
    plain.mean().backward()
    torch.testing.assert_close(out, plain, **TOL)
    for i, layer in enumerate(layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            torch.testing.assert_close(params[f"{name}_l{i}"].grad, getattr(layer, f"{name}_l0").grad, **TOL)


def test_cheap_dropout_keeps_the_rate_and_the_mean():
    torch.manual_seed(0)
    x = torch.ones(400, 500)
    y = dropout(x, 0.2)
    kept = (y != 0).float().mean().item()
    assert abs(kept - 0.8) < 0.005
    values = torch.unique(y)
    assert values[0] == 0 and len(values) == 2 and values[1] == torch.tensor(65536 / (65536 - 13107))
    assert abs(y.mean().item() - 1.0) < 0.01
    assert dropout(x, 0.2, training=False) is x and dropout(x, 0.0) is x


@pytest.mark.parametrize("clip", [0.05, 100.0])  # clipping on, and a threshold the norm never reaches
def test_fused_sgd_with_folded_clipping_matches_clip_then_plain_step(clip):
    config = TrainConfig(optimizer="sgd", lr=2.0, clip=clip, weight_decay=0.01)
    torch.manual_seed(0)
    nets = [TextNet(40, TextConfig(embed=8), CoreConfig(hidden=12)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    x, y = torch.randint(1, 40, (2, 5)), torch.randint(1, 40, (2, 5))
    updates = []
    for net, fused in zip(nets, (False, True)):
        optimizer = make_optimizer(net, config, fused=fused)
        assert bool(optimizer.param_groups[0].get("fused")) == fused
        updates.append(Update(optimizer, net.parameters(), clip))
    for _ in range(3):
        for net, update in zip(nets, updates):
            net.zero_grad(set_to_none=True)
            net.eval()(x, y)[1].backward()
            update()
    for plain, fused in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(fused, plain, **TOL)


# ------------------------------------------------------------------ bf16 and threads through the session


def nine_word_corpus(path: Path) -> Path:
    """80 lines of 9 words: 800 tokens with </s>, so batch 4 x bptt 10 makes exactly 20 steps an epoch."""
    lines = [" ".join(line.split()[:9]) for line in (CORPORA / "pronouns.txt").read_text().splitlines()
             if len(line.split()) >= 9][:80]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def small_stream_model(**options):
    return TextModel(mode="stream", embed=32, hidden=48, layers=2, batch_size=4, bptt=10, epochs=1, seed=3,
                     optimizer="sgd", lr=1.0, clip=0.25, dropout=0.2, embed_dropout=0.2, output_dropout=0.2,
                     split_punctuation=False, device="cpu", **options)


# an AVX2-only CPU's oneDNN has no bf16 LSTM at all ("could not create a primitive descriptor"): there bf16 cannot
# even be emulated, and seqtext never asks it to (it trains such a CPU in fp32, the test below)
NO_BF16_LSTM = pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(),
                                  reason="this CPU's oneDNN has no bf16 LSTM to compare (AVX2 only)")


@pytest.mark.parametrize("cell", ["rnn", pytest.param("lstm", marks=NO_BF16_LSTM)])
def test_bf16_training_loss_is_within_a_tenth_of_a_percent_of_fp32_over_20_steps(cell, tmp_path, monkeypatch):
    corpus = nine_word_corpus(tmp_path / "nine.txt")
    monkeypatch.setattr(machine, "bf16_missing", lambda device, flags=None: None)  # bf16 even where emulated
    losses = {}
    for precision in ("fp32", "bf16"):
        model = small_stream_model(cell=cell, precision=precision).fit(corpus, valid=corpus)
        assert model.task.plan.steps == 20 and model.summary["precision"] == precision
        losses[precision] = model.history[-1]["train_loss"]
    assert losses["bf16"] != losses["fp32"]  # bf16 did run
    assert abs(losses["bf16"] - losses["fp32"]) <= BF16_TOLERANCE * losses["fp32"], losses


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_bf16_on_a_cpu_without_bf16_units_trains_in_fp32_with_a_warning(cell, tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"fpu", "sse2", "avx2", "avx512f"})
    assert machine.bf16_missing("cpu") == "AVX-512 BF16 (avx512_bf16) or AMX (amx_bf16)"
    corpus = nine_word_corpus(tmp_path / "nine.txt")
    with pytest.warns(SeqtextWarning, match=r"precision bf16 needs AVX-512 BF16 .* training in fp32"):
        model = small_stream_model(cell=cell, precision="bf16").fit(corpus, valid=corpus)
    assert model.summary["precision"] == "fp32"
    reference = small_stream_model(cell=cell, precision="fp32").fit(corpus, valid=corpus)
    assert model.history[-1]["train_loss"] == reference.history[-1]["train_loss"]
    with pytest.warns(SeqtextWarning, match=r"precision bf16 needs AVX-512 BF16 .* scoring in fp32"):  # not training
        model.evaluate(corpus, precision="bf16")
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"fp", "asimd"})
    assert "Arm BF16" in machine.bf16_missing("cpu")
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx512f", "amx_bf16"})
    assert machine.bf16_missing("cpu") is None


def test_bf16_fallback_is_one_warning_line_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2"})
    corpus = nine_word_corpus(tmp_path / "nine.txt")
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--quiet",
                                 "--epochs", "1", "--hidden", "8", "--embed", "8", "--precision", "bf16"])
    assert r.exit_code == 0, r.output
    assert "warning: --precision bf16 needs AVX-512 BF16" in r.output and "Traceback" not in r.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["summary"]["precision"] == "fp32"


def test_threads_auto_picks_a_valid_count_and_records_it(tmp_path):
    corpus = nine_word_corpus(tmp_path / "nine.txt")
    out = tmp_path / "auto"
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(out), "--quiet", "--epochs", "1",
                                 "--hidden", "8", "--embed", "8", "--threads", "auto"])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["threads"] == "auto"  # replaying the config measures again
    assert config["summary"]["threads"] in {1, 2} and config["summary"]["threads"] <= machine.cpu_count()
    old = json.loads(json.dumps(config))
    old["train"]["threads"] = 1  # a config.json written before "auto" existed
    (out / "config.json").write_text(json.dumps(old))
    assert TextModel.load(out).settings.train.threads == 1


def test_threads_auto_rule_keeps_two_only_when_clearly_faster(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(machine, "time", SimpleNamespace(perf_counter=lambda: clock["now"]))  # a step's cost
    for one, two, chosen in ((1.0, 0.5, 2), (1.0, 0.95, 1), (1.0, 40.0, 1)):
        cost = {1: one, 2: two}

        def step():
            clock["now"] += cost[torch.get_num_threads()]

        before = torch.get_num_threads()
        count, seconds = machine.pick_threads(step, (1, 2))
        torch.set_num_threads(before)
        assert count == chosen and seconds == pytest.approx({1: one, 2: two})


def test_threads_zero_is_refused_and_too_many_are_capped(tmp_path, monkeypatch):
    corpus = nine_word_corpus(tmp_path / "nine.txt")
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "z"), "--threads", "0"])
    assert_clean_failure(r, "--threads", "at least 1, or auto", code=2)
    assert not (tmp_path / "z").exists()
    monkeypatch.setattr(machine, "cpu_count", lambda: 1)
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--quiet",
                                 "--epochs", "1", "--hidden", "8", "--embed", "8", "--threads", "3"])
    assert r.exit_code == 0, r.output
    assert "warning: --threads 3 is more than the 1 CPU cores this process may use; training with 1." in r.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["summary"]["threads"] == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = small_stream_model(threads=3).fit(corpus, valid=corpus)
    assert model.summary["threads"] == 1
    assert any(isinstance(w.message, SeqtextWarning) and "threads 3" in str(w.message) for w in caught)
    with pytest.raises(ConfigError, match="threads must be a whole number of at least 1, or auto"):
        TextModel(threads=0)


@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_evaluation_window_scores_as_the_plain_cross_entropy(softmax):
    torch.manual_seed(0)
    text = TextConfig(embed=12, softmax=softmax, cutoffs=[20, 40] if softmax == "adaptive" else [])
    net = TextNet(60, text, CoreConfig(hidden=16, layers=2), pad_id=0).eval()
    x, y = torch.randint(1, 60, (3, 9)), torch.randint(1, 60, (3, 9))
    nll, hits, hidden = net.score_window(x, y)
    logits, _, plain_hidden = net(x)  # (B, T, V): logits, or log-probabilities (adaptive)
    flat = logits.flatten(0, 1)
    plain = F.cross_entropy(flat, y.flatten(), reduction="sum")
    torch.testing.assert_close(nll.float(), plain, **TOL)
    assert int(hits) == int((flat.argmax(-1) == y.flatten()).sum())
    torch.testing.assert_close(hidden, plain_hidden)

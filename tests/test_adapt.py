"""Test-time adaptation: dynamic evaluation and the neural cache (API, CLI, bad input)."""

from __future__ import annotations

import hashlib
import json
import math
import random

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import TINY_LINES, assert_clean_failure, write_corpus
from seqtext import TextModel, load
from seqtext.cli import cli
from seqtext.errors import ConfigError, SeqtextWarning
from seqtext.text import running
from seqtext.text.adaptation import DEFAULT_CACHE_LAMBDA, DEFAULT_CACHE_THETA, Adaptation

# A text the tiny models never saw: their words in a fixed random order, the same line five times.
_rng = random.Random(1)
_WORDS = "Mary John rides drives the bicycle car is hers his mine ours I We ride drive".split()
REPEATED = [" ".join(_rng.choice(_WORDS) for _ in range(14)) + "."] * 5


def state_bytes(net) -> dict:
    return {name: t.detach().cpu().numpy().tobytes() for name, t in net.state_dict().items()}


def dir_digest(path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir()) if p.is_file()}


def plain_reading(model, lines):
    """The same running-stream reading with no adaptation: the baseline the methods must reproduce."""
    text = running.from_lines(model.tokenizer, lines, model.settings.text.mode == "stream")
    return text, running.read(model.net, text, Adaptation(), model.device)


@pytest.fixture(scope="module")
def stream_model(tmp_path_factory):
    """A stream-mode model that records its training corpus (so dynamic evaluation finds its statistics)."""
    folder = tmp_path_factory.mktemp("stream")
    rng = random.Random(0)
    corpus = write_corpus(folder / "running.txt", [rng.choice(TINY_LINES) for _ in range(300)])
    model = TextModel(mode="stream", embed=16, hidden=32, batch_size=4, bptt=12, epochs=3, lr=1e-2,
                      embed_dropout=0.0, output_dropout=0.0, device="cpu", seed=0)
    model.fit(corpus)
    return model.save(folder / "model")


@pytest.fixture(scope="module")
def adaptive_model():
    model = TextModel(softmax="adaptive", cutoffs=[8, 16], embed=16, hidden=32, batch_size=4, epochs=30, lr=1e-2,
                      embed_dropout=0.0, output_dropout=0.0, device="cpu", seed=0, valid_fraction=0.0)
    return model.fit(TINY_LINES * 4)


# ------------------------------------------------------------------ dynamic evaluation


@pytest.mark.parametrize("kind", ["sentence", "stream", "adaptive"])
def test_dynamic_evaluation_restores_the_weights_bit_for_bit(kind, tiny_model, stream_model, adaptive_model,
                                                             tmp_path):
    model = {"sentence": tiny_model, "stream": load(stream_model), "adaptive": adaptive_model}[kind]
    corpus = write_corpus(tmp_path / "text.txt", REPEATED + TINY_LINES)
    before = state_bytes(model.net)
    grads = [None if p.grad is None else p.grad.clone() for p in model.net.parameters()]
    result = model.evaluate(corpus, dynamic=True, dynamic_lr=1e-3, dynamic_stats=TINY_LINES, cache=30)
    assert result["method"] == "dynamic+cache" and math.isfinite(result["perplexity"])
    assert state_bytes(model.net) == before
    # the weights did move while reading (the same reading without dynamic evaluation scores otherwise)
    # (measured 0.05 to 1.75 across models and CPUs; float rounding alone moves it by less than 1e-5)
    assert abs(model.evaluate(corpus, cache=30)["loss"] - result["loss"]) > 1e-3
    assert all(p.requires_grad for p in model.net.parameters()) and not model.net.training
    for p, grad in zip(model.net.parameters(), grads):  # the parameters' .grad are not touched either
        assert (p.grad is None and grad is None) or torch.equal(p.grad, grad)


def test_dynamic_evaluation_interrupted_mid_text_restores_the_weights(tiny_model, monkeypatch):
    from seqtext.text.dynamic import DynamicEval

    before, steps = state_bytes(tiny_model.net), []
    step = DynamicEval.step

    def failing_step(self, loss):
        step(self, loss)
        steps.append(1)
        if len(steps) == 3:  # the weights have moved three times: stop as Ctrl-C would
            raise KeyboardInterrupt

    monkeypatch.setattr(DynamicEval, "step", failing_step)
    with pytest.raises(KeyboardInterrupt):
        tiny_model.evaluate(REPEATED, dynamic=True, dynamic_lr=1e-3, dynamic_bptt=5, dynamic_stats=TINY_LINES)
    assert len(steps) == 3 and state_bytes(tiny_model.net) == before
    assert all(p.requires_grad for p in tiny_model.net.parameters()) and not tiny_model.net.training


def test_dynamic_evaluation_lowers_the_loss_on_a_repeated_text(tiny_model):
    text, plain = plain_reading(tiny_model, REPEATED)
    rms = running.statistics(tiny_model, 5, TINY_LINES)[0]
    adapted = running.read(tiny_model.net, text, Adaptation(dynamic=True, dynamic_lr=3e-4, dynamic_bptt=5),
                           tiny_model.device, rms)
    plain_loss, adapted_loss = -plain.logp[text.scored].mean(), -adapted.logp[text.scored].mean()
    assert adapted_loss < 0.8 * plain_loss, (plain_loss, adapted_loss)
    # it is the reading that learns: the last repetition gains more than the first
    first, last = text.spans[0], text.spans[-1]
    gain = plain.logp - adapted.logp
    assert -gain[last[0]:last[1]].sum() > -gain[first[0]:first[1]].sum()
    # the public API gives the same figure
    result = tiny_model.evaluate(REPEATED, dynamic=True, dynamic_lr=3e-4, dynamic_bptt=5, dynamic_stats=TINY_LINES)
    assert result["loss"] == pytest.approx(adapted_loss, rel=1e-9)
    assert result["dynamic"]["statistics"].startswith("first ") and result["tokens"] == int(text.scored.sum())


def test_a_diverging_dynamic_evaluation_starts_again_from_the_trained_weights(tiny_model, tmp_path):
    """Too large a learning rate sends a weight to infinity: that step is undone, counted and warned of, so the
    perplexity stays finite instead of turning nan."""
    text, plain = plain_reading(tiny_model, REPEATED)
    rms = running.statistics(tiny_model, 5, TINY_LINES)[0]
    before = state_bytes(tiny_model.net)
    huge = Adaptation(dynamic=True, dynamic_lr=1e36, dynamic_bptt=5)
    reading = running.read(tiny_model.net, text, huge, tiny_model.device, rms)
    assert reading.resets > 0 and np.isfinite(reading.logp).all()
    # after a reset the next segment is read with the trained weights: the first segment's scores are plain (to
    # float32 rounding: read with gradients on, some CPUs' kernels round the same sums differently)
    np.testing.assert_allclose(reading.logp[:5], plain.logp[:5], rtol=1e-6, atol=1e-6)
    assert state_bytes(tiny_model.net) == before
    diverged = r"dynamic evaluation diverged \d+ time\(s\) .* lower dynamic_lr \(now 1e\+36\)"
    with pytest.warns(SeqtextWarning, match=diverged):
        result = tiny_model.evaluate(REPEATED, dynamic=True, dynamic_lr=1e36, dynamic_bptt=5,
                                     dynamic_stats=TINY_LINES)
    assert math.isfinite(result["perplexity"]) and result["dynamic"]["resets"] == reading.resets
    gentle = tiny_model.evaluate(REPEATED, dynamic=True, dynamic_lr=3e-4, dynamic_bptt=5, dynamic_stats=TINY_LINES)
    assert gentle["dynamic"]["resets"] == 0


@pytest.mark.parametrize("kind", ["sentence", "stream"])
def test_dynamic_evaluation_with_learning_rate_zero_is_plain_reading_exactly(kind, tiny_model, stream_model):
    model = tiny_model if kind == "sentence" else load(stream_model)
    text, plain = plain_reading(model, REPEATED + TINY_LINES)
    rms = running.statistics(model, 4, TINY_LINES)[0]
    zero = running.read(model.net, text, Adaptation(dynamic=True, dynamic_lr=0.0, dynamic_bptt=4), model.device, rms)
    if kind == "stream":
        assert np.array_equal(zero.logp, plain.logp) and zero.correct == plain.correct
    else:  # segments cut at each line's start have other lengths, so float32 sums may round apart (1e-7)
        np.testing.assert_allclose(zero.logp, plain.logp, rtol=0, atol=1e-5)
        assert zero.correct == plain.correct


def test_dynamic_statistics_come_from_the_recorded_training_corpus(stream_model, tiny_model):
    model = load(stream_model)
    result = model.evaluate(TINY_LINES, dynamic=True)
    assert "running.txt" in result["dynamic"]["statistics"]
    with pytest.raises(ConfigError, match="does not record its corpus; give it with dynamic_stats"):
        tiny_model.evaluate(TINY_LINES, dynamic=True)


# ------------------------------------------------------------------ the neural cache


def test_the_cache_distribution_is_the_formula_computed_by_hand():
    from seqtext.text.cache import NeuralCache

    cache = NeuralCache(size=2, theta=1.0, lam=0.5)
    cache.push(torch.tensor([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 3, 5]))  # the oldest drops out
    uniform = torch.full((1, 1, 6), -math.log(6))
    mixed = cache.mix(uniform, torch.tensor([[[1.0, 0.0]]]), torch.tensor([[0]]))[0, 0].exp()
    e = math.e
    expected = [0.5 / 6 + 0.5 * p for p in (0, 0, 0, e / (e + 1), 0, 1 / (e + 1))]
    assert mixed.tolist() == pytest.approx(expected, rel=1e-6)
    # within a segment, a step sees the steps before it (and the cache), never itself or later ones
    rng = torch.Generator().manual_seed(0)
    logp = torch.log_softmax(torch.randn(2, 9, 12, generator=rng), -1)
    queries, values = torch.randn(2, 9, 2, generator=rng), torch.randint(0, 12, (2, 9), generator=rng)
    dense = cache.mix(logp, queries, values)
    scored, best = cache.score(logp, queries, values)
    assert torch.allclose(dense.gather(2, values[..., None])[..., 0], scored, atol=1e-6)
    assert torch.equal(dense.argmax(-1), best)
    changed = values.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 12
    assert torch.equal(cache.mix(logp, queries, changed)[:, :6], dense[:, :6])  # step 5's token only counts after it


@pytest.mark.parametrize("kind", ["sentence", "stream", "adaptive"])
def test_the_cache_with_lambda_zero_is_plain_reading_exactly(kind, tiny_model, stream_model, adaptive_model,
                                                            tmp_path):
    model = {"sentence": tiny_model, "stream": load(stream_model), "adaptive": adaptive_model}[kind]
    lines = REPEATED + TINY_LINES
    text, plain = plain_reading(model, lines)
    cached = running.read(model.net, text, Adaptation(cache=50, cache_theta=0.5, cache_lambda=0.0), model.device)
    assert np.array_equal(cached.logp, plain.logp) and cached.correct == plain.correct
    records = model.score(lines, cache=50, cache_lambda=0.0)
    for record, (a, b) in zip(records, text.spans):
        assert record["logprob"] == float(plain.logp[a:b].sum())
    loss = -float(plain.logp[text.scored].mean())
    metrics = model.evaluate(lines, cache=50, cache_lambda=0.0)
    assert metrics["loss"] == loss and metrics["accuracy"] == plain.correct / int(text.scored.sum())
    # the running reading is the model's own scoring: one line read alone gives what plain score gives it
    for line in (REPEATED[0], TINY_LINES[0]):
        assert model.score([line], cache=50, cache_lambda=0.0)[0]["logprob"] == model.score([line])[0]["logprob"]
    if kind == "stream":  # a corpus file is read as the same stream as its lines
        corpus = write_corpus(tmp_path / "text.txt", lines)
        assert model.evaluate(corpus, cache=50, cache_lambda=0.0) == metrics


def test_the_cache_raises_the_probability_of_a_repeated_rare_token(tiny_model):
    from seqtext.text import tokenizer as tk

    line = "Mary rides the zebra, the zebra is hers."  # "zebra" is <unk>, which training never showed
    lines = [line] * 4
    plain = tiny_model.score(lines, tokens=True, cache=100, cache_lambda=0.0)
    cached = tiny_model.score(lines, tokens=True, cache=100, cache_lambda=0.2)
    tokens = tiny_model.tokenizer.encode(line, add_special_tokens=False).tokens
    rare = [i for i, token in enumerate(tokens) if token == tk.UNK]
    assert len(rare) == 2
    assert all(plain[k]["surprisal_bits"][i] > 5 for k in range(4) for i in rare)
    assert cached[0]["surprisal_bits"][rare[0]] == pytest.approx(plain[0]["surprisal_bits"][rare[0]], abs=0.5)
    for k in range(4):  # from its second occurrence on, the cache holds it
        seen = rare[1:] if k == 0 else rare
        for i in seen:
            assert cached[k]["surprisal_bits"][i] < plain[k]["surprisal_bits"][i] - 2
    assert cached.summary["perplexity"] < plain.summary["perplexity"]
    assert cached.summary["method"] == "cache" and cached.summary["cache"] == {"size": 100, "theta": 0.8,
                                                                               "lambda": 0.2}
    assert "method" not in tiny_model.score(lines).summary  # plain reading: nothing to name


def test_a_cache_longer_than_the_text_holds_all_of_it(stream_model):
    model = load(stream_model)
    lines = REPEATED + TINY_LINES
    tokens = len(running.from_lines(model.tokenizer, lines, True))
    exact = model.evaluate(lines, cache=tokens)["perplexity"]
    assert model.evaluate(lines, cache=10**7)["perplexity"] == exact
    assert model.evaluate(lines, cache=5)["perplexity"] != exact


def test_generation_with_the_cache(tiny_model, adaptive_model):
    prompt = "ours ours ours ours ours I ride the"
    for model in (tiny_model, adaptive_model):
        plain = dict(model.next_words(prompt, 30))
        same = dict(model.next_words(prompt, 30, cache=50, cache_lambda=0.0))
        assert same.keys() == plain.keys() and all(same[w] == pytest.approx(plain[w], rel=1e-5) for w in plain)
        cached = dict(model.next_words(prompt, 30, cache=50, cache_lambda=0.5, cache_theta=0.0))
        assert cached.get("ours", 0.0) > plain.get("ours", 0.0) + 0.05
        text = model.complete("Mary rides the bicycle, the bicycle is ___", cache=50)
        assert text.startswith("Mary rides the bicycle, the bicycle is ")
        full = model.complete("Mary rides the", words=8, cache=50, stop=False, no_repeat_ngram=None,
                              repetition_penalty=None)
        assert "".join(model.stream("Mary rides the", words=8, cache=50, stop=False, no_repeat_ngram=None,
                                    repetition_penalty=None)) == full[len("Mary rides the"):]
        assert model.complete("Mary rides the ___ , the bicycle is hers.", cache=50).words


# ------------------------------------------------------------------ bad input, API


@pytest.mark.parametrize("options, fragment", [
    ({"dynamic": True, "dynamic_lr": 0.0}, "dynamic_lr must be a positive number"),
    ({"dynamic": True, "dynamic_lr": -1e-3}, "dynamic_lr must be a positive number"),
    ({"cache": 0}, "cache must be a whole number in [1, 1000000000], got 0."),
    ({"cache": -5}, "cache must be a whole number in [1, 1000000000], got -5."),
    ({"cache": 10, "cache_lambda": 1.0}, "cache_lambda must be a number in [0, 1)"),
    ({"cache": 10, "cache_theta": -0.5}, "cache_theta must be a number in [0, 1000], got -0.5."),
    ({"dynamic_lr": 1e-3}, "dynamic_lr applies to dynamic evaluation; turn it on with dynamic"),
    ({"cache_theta": 0.5}, "cache_theta applies to the neural cache; give its size with cache"),
    ({"cache": 10, "per_sentence": True}, "per_sentence reads each line alone"),
    ({"cache": 10, "dynamic_stats": TINY_LINES}, "dynamic_stats applies to dynamic evaluation"),
    ({"cache": 10, "cache_size": 3}, "there is no adaptation option 'cache_size'"),
])
def test_bad_adaptation_options_are_one_sentence(tiny_model, options, fragment):
    with pytest.raises(ConfigError) as caught:
        tiny_model.evaluate(TINY_LINES, **options)
    assert fragment in str(caught.value)


# ------------------------------------------------------------------ CLI


def test_cli_evaluate_with_dynamic_and_cache_leaves_the_model_directory_alone(stream_model, tmp_path):
    corpus = write_corpus(tmp_path / "text.txt", REPEATED)
    before = dir_digest(stream_model)
    out = CliRunner().invoke(cli, ["evaluate", "--model", str(stream_model), "--corpus", str(corpus), "--json",
                                   "--dynamic", "--dynamic-lr", "0.002", "--dynamic-decay", "0.01",
                                   "--cache", "40", "--cache-theta", "0.4", "--cache-lambda", "0.2"])
    assert out.exit_code == 0, out.output
    metrics = json.loads(out.output)
    assert metrics["method"] == "dynamic+cache" and metrics["perplexity"] > 1
    assert metrics["dynamic"]["lr"] == 0.002 and metrics["dynamic"]["decay"] == 0.01
    assert metrics["cache"] == {"size": 40, "theta": 0.4, "lambda": 0.2}
    assert dir_digest(stream_model) == before
    api = load(stream_model).evaluate(corpus, dynamic=True, dynamic_lr=0.002, dynamic_decay=0.01, cache=40,
                                      cache_theta=0.4, cache_lambda=0.2)
    assert api["perplexity"] == pytest.approx(metrics["perplexity"], rel=1e-12)
    text = CliRunner().invoke(cli, ["evaluate", "--model", str(stream_model), "--corpus", str(corpus), "--cache",
                                    "40"])
    shown = f"neural cache (40 states, theta {DEFAULT_CACHE_THETA:g}, lambda {DEFAULT_CACHE_LAMBDA:g})"
    assert text.exit_code == 0 and shown in text.output, text.output


def test_cli_evaluate_says_when_dynamic_evaluation_diverged(stream_model, tmp_path):
    corpus = write_corpus(tmp_path / "text.txt", REPEATED)
    out = CliRunner().invoke(cli, ["evaluate", "--model", str(stream_model), "--corpus", str(corpus), "--json",
                                   "--dynamic", "--dynamic-lr", "1e36"])
    assert out.exit_code == 0, out.output
    assert "warning: dynamic evaluation diverged" in out.stderr and "lower --dynamic-lr" in out.stderr
    metrics = json.loads(out.stdout)
    assert metrics["dynamic"]["resets"] > 0 and math.isfinite(metrics["perplexity"])


def test_cli_score_and_complete_with_adaptation(tiny_model_dir, tiny_model, tmp_path):
    corpus = write_corpus(tmp_path / "s.txt", REPEATED)
    stats = write_corpus(tmp_path / "train.txt", TINY_LINES)
    out = CliRunner().invoke(cli, ["score", "--model", str(tiny_model_dir), "--file", str(corpus), "--json",
                                   "--dynamic", "--dynamic-stats", str(stats), "--cache", "30"])
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in out.output.splitlines() if line.startswith("{")]
    expected = tiny_model.score(REPEATED, dynamic=True, dynamic_stats=stats, cache=30)
    assert [r["logprob"] for r in records] == pytest.approx([r["logprob"] for r in expected], rel=1e-9)
    assert records[-1]["logprob"] > records[0]["logprob"]
    out = CliRunner().invoke(cli, ["complete", "--model", str(tiny_model_dir), "--cache", "20", "--show", "3",
                                   "Mary rides the bicycle, the bicycle is ___"])
    assert out.exit_code == 0 and out.output.startswith("Mary rides the bicycle, the bicycle is "), out.output


@pytest.mark.parametrize("flags, fragment", [
    (["--dynamic", "--dynamic-lr", "0"], "--dynamic-lr"),
    (["--dynamic", "--dynamic-lr", "-0.01"], "--dynamic-lr"),
    (["--cache", "0"], "--cache"),
    (["--cache", "-2"], "--cache"),
    (["--cache", "10", "--cache-theta", "-1"], "--cache-theta"),
    (["--cache", "10", "--cache-lambda", "1"], "--cache-lambda"),
    (["--cache", "10", "--cache-lambda", "1.5"], "--cache-lambda"),
    (["--dynamic-lr", "0.001"], "--dynamic-lr applies to dynamic evaluation; turn it on with --dynamic."),
    (["--cache-lambda", "0.2"], "--cache-lambda applies to the neural cache; give its size with --cache."),
    (["--per-sentence", "--cache", "5"], "--per-sentence reads each line alone"),
    (["--dynamic"], "does not record its corpus; give it with --dynamic-stats."),
])
def test_cli_bad_adaptation_flags(tiny_model_dir, tmp_path, flags, fragment):
    corpus = write_corpus(tmp_path / "c.txt", TINY_LINES)
    out = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny_model_dir), "--corpus", str(corpus), *flags])
    assert_clean_failure(out, fragment)


@pytest.mark.parametrize("command", ["score", "complete"])
def test_cli_bad_cache_for_score_and_complete(tiny_model_dir, command):
    bad = [["--cache", "0"], ["--cache", "-3"], ["--cache", "5", "--cache-lambda", "-0.1"]]
    if command == "score":  # score adapts by dynamic evaluation too
        bad += [["--dynamic", "--dynamic-lr", "0"], ["--dynamic", "--dynamic-lr", "-0.01"]]
    for flags in bad:
        out = CliRunner().invoke(cli, [command, "--model", str(tiny_model_dir), *flags, "Mary rides the"])
        assert_clean_failure(out, flags[-2])


@pytest.mark.parametrize("args, fragment", [
    (["--cache", "99999999999999999999999"], "--cache': 99999999999999999999999 is not in the range 1<=x<=1000000000"),
    (["--cache", "5", "--cache-theta", "1e308"], "--cache-theta': 1e+308 is not in the range 0<=x<=1000"),
])
def test_cache_settings_beyond_any_use_are_refused_by_name(tiny_model_dir, args, fragment):
    """A cache larger than a position can count, or a theta whose exp(theta h.h) is no number, used to end in an
    OverflowError traceback or a perplexity of null."""
    for command in (["score", "Mary rides."], ["complete", "Mary rides"]):
        result = CliRunner().invoke(cli, [command[0], "--model", str(tiny_model_dir), *args, command[1]])
        assert_clean_failure(result, fragment, code=2)


def test_adapted_evaluation_counts_and_warns_of_unknown_words_as_plain_evaluation(tiny_model):
    text = ["Zorblax quux fnord the car.", "Mary rides the car, the car is hers."]
    plain = tiny_model.evaluate(text)
    with pytest.warns(SeqtextWarning, match="of the tokens of the text are outside the model's vocabulary"):
        cached = tiny_model.evaluate(text, cache=5)
    assert cached["unknown_tokens"] == plain["unknown_tokens"] == 3 and cached["tokens"] == plain["tokens"]


def test_a_sentence_model_adapting_with_nothing_to_add_reads_as_plain_evaluation(tiny_model):
    """Each line of a sentence-mode model is read from a fresh state, as in training, while the adaptation carries
    across lines: a cache that mixes in nothing (lambda 0) gives plain evaluation's figures, last word included."""
    lines = [f"{line[:-1]} again." for line in TINY_LINES] + TINY_LINES
    plain = tiny_model.evaluate(lines)
    nothing = tiny_model.evaluate(lines, cache=20, cache_lambda=0.0)
    assert nothing["perplexity"] == pytest.approx(plain["perplexity"], rel=1e-6)
    assert nothing["accuracy"] == plain["accuracy"] and nothing["last_word_accuracy"] == plain["last_word_accuracy"]
    assert nothing["tokens"] == plain["tokens"] and nothing["sentences"] == plain["sentences"]

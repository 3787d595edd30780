import math

import pytest
import torch

from seqtext.text.decoding import check_sampling, choose, filter_logits, is_sampling
from seqtext.errors import ConfigError

LOGITS = torch.tensor([1.0, 3.0, 2.0, 0.0, -1.0])


def test_greedy_is_argmax_and_default():
    assert not is_sampling(None, None, None)
    assert not is_sampling(0.0, None, None)
    assert choose(LOGITS) == 1
    assert choose(LOGITS, temperature=0.0) == 1


def test_top_k_keeps_k():
    out = filter_logits(LOGITS, top_k=2)
    assert torch.isfinite(out).tolist() == [False, True, True, False, False]
    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        assert choose(LOGITS, top_k=2, generator=g) in (1, 2)


def test_top_p_keeps_smallest_nucleus():
    probs = torch.softmax(LOGITS, 0)
    out = filter_logits(LOGITS, top_p=float(probs[1]) - 1e-4)
    assert torch.isfinite(out).tolist() == [False, True, False, False, False]
    out = filter_logits(LOGITS, top_p=float(probs[1] + probs[2]) - 1e-4)
    assert torch.isfinite(out).tolist() == [False, True, True, False, False]
    assert torch.equal(filter_logits(LOGITS, top_p=1.0), LOGITS)


def test_sampling_is_seeded_and_follows_temperature():
    draws = lambda seed, t: [choose(LOGITS, temperature=t, generator=torch.Generator().manual_seed(seed + i))
                             for i in range(300)]
    assert draws(0, 1.0) == draws(0, 1.0)
    cold = draws(1, 0.05)
    hot = draws(1, 5.0)
    assert cold.count(1) > 290
    assert len(set(hot)) == 5


def test_banned_tokens_never_chosen():
    logits = LOGITS.clone()
    logits[1] = -math.inf
    for seed in range(50):
        assert choose(logits, temperature=2.0, generator=torch.Generator().manual_seed(seed)) != 1


@pytest.mark.parametrize("args", [(-1, None, None), (None, 0, None), (None, None, 0.0), (None, None, 1.5),
                                  (float("nan"), None, None)])
def test_bad_sampling_options(args):
    with pytest.raises(ConfigError):
        check_sampling(*args)


@pytest.mark.parametrize("temperature", [1e-300, 5e-324, 1e300, 1e-8])
def test_extreme_temperatures_never_produce_nan(temperature):
    g = torch.Generator().manual_seed(0)
    tid = choose(LOGITS, temperature=temperature, generator=g)
    assert 0 <= tid < LOGITS.numel()
    if temperature < 1e-6:
        assert tid == 1  # the cold limit is greedy


def test_sampling_follows_the_distribution():
    logits = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4, 0.0]))
    g = torch.Generator().manual_seed(0)
    draws = [choose(logits, temperature=1.0, generator=g) for _ in range(4000)]
    freq = [draws.count(i) / len(draws) for i in range(5)]
    assert freq[4] == 0.0
    for got, want in zip(freq, [0.1, 0.2, 0.3, 0.4]):
        assert abs(got - want) < 0.03


def test_the_end_of_a_sentence_is_never_banned_or_penalised_as_a_repeat():
    """Under --no-stop every sentence ends with </s>: banning it as the end of a repeated n-gram wrote ``his..``."""
    import numpy as np

    from seqtext.text.decoding import Repetition

    eos, his, dot = 0, 5, 6
    text = [his, dot, eos, 7, his, dot]  # "his . </s> ... his ." : the 3-gram "his . </s>" seen once
    plain = Repetition(3, 2.0, text)
    freed = Repetition(3, 2.0, text, free=[eos])
    assert eos in plain.banned() and freed.banned() == []
    logits = np.ones(8)
    assert freed.apply(logits)[eos] == 1.0 and plain.apply(logits)[eos] == -np.inf
    assert freed.apply(logits)[his] == 0.5  # the words themselves are still penalised
    freed.push(7)
    freed.push(his)
    assert freed.banned() == [dot]  # "7 his ." is still a repeated n-gram of words

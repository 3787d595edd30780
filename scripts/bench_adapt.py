"""Test-time adaptation: dynamic evaluation and the neural cache, tuned on validation text only.

    python scripts/bench_adapt.py --model runs/ptb-lstm --valid ptb.valid.txt --test ptb.test.txt \
        [--tune-tokens 20000] [--threads 1]

1. Tunes on the first --tune-tokens tokens of the validation file (never the test file):
   - the cache: every (N, theta, lambda) of the grid, from one plain reading's hidden states
     (the formula of seqtext.text.cache, computed for the targets only, so the grid costs
     seconds); the chosen point is then read again through the library and both figures printed;
   - dynamic evaluation: a coordinate search through the library (``seqtext.text.running.read``):
     the learning rates at one decay, then the decays at the best learning rate, until neither moves.
   - both: the cache's theta and lambda searched again with dynamic evaluation on (a coordinate search from
     the cache-alone choice; N kept), since the two methods' gains overlap.
2. Reads the test file once each way with the chosen hyper-parameters: plain, cache, dynamic and
   both, each as one running stream, and prints the table: test perplexity, the validation
   figure it was chosen on, and the seconds to read the test file (dynamic evaluation's gradient
   statistics, once per model, reported apart).  ``evaluate``'s own plain figure (parallel streams)
   is printed for reference.
"""

from __future__ import annotations

import argparse
import math
import time


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def perplexity(logp, text) -> float:
    logp = logp if text.scored is None else logp[text.scored]
    return math.exp(-float(logp.mean()))


def plain_states(net, text, segment: int = 64):
    """One plain reading: the head's inputs at every step (N, E) and each target's log-probability (N,)."""
    import torch

    from seqtext.core import detach_hidden

    ids = torch.from_numpy(text.ids)
    feats, logps, hidden = [], [], None
    with torch.no_grad():
        for start in range(0, len(text), segment):
            end = min(start + segment, len(text))
            x, y = ids[None, start:end], ids[None, start + 1:end + 1]
            f, hidden = net.read(x, hidden)
            feats.append(f[0])
            logps.append(net.log_probs(f).gather(2, y[..., None])[0, :, 0])
            hidden = detach_hidden(hidden)
    return torch.cat(feats), torch.cat(logps).double(), ids[1:]


def cache_logprobs(feats, targets, size: int, theta: float, chunk: int = 512):
    """log p_cache of each target: the last ``size`` states before it, weighted by exp(theta h_t . h_i)."""
    import torch

    n = feats.shape[0]
    out = torch.full((n,), -math.inf, dtype=torch.float64)
    for s in range(0, n, chunk):
        e, lo = min(n, s + chunk), max(0, s - size)
        scores = theta * feats[s:e] @ feats[lo:e].T  # (C, K)
        keys = torch.arange(lo, e)
        steps = torch.arange(s, e)[:, None]
        seen = (keys >= steps - size) & (keys <= steps - 1)
        weights = torch.softmax(scores.masked_fill(~seen, -math.inf), dim=1).nan_to_num(0.0)
        hit = (targets[lo:e][None, :] == targets[s:e, None]) & seen
        out[s:e] = (weights * hit).sum(1).double().log()
    return out


def mixture(model_lp, cache_lp, lam: float):
    import torch

    mixed = torch.logaddexp(model_lp + math.log1p(-lam), cache_lp + math.log(lam))
    mixed[0] = model_lp[0]  # nothing in the cache before the first target
    return mixed.numpy()


def tune_cache(net, tune, args):
    feats, model_lp, targets = plain_states(net, tune)
    rows = []
    for size in args.sizes:
        for theta in args.thetas:
            cache_lp = cache_logprobs(feats, targets, size, theta)
            for lam in args.lambdas:
                rows.append((perplexity(mixture(model_lp, cache_lp, lam), tune), size, theta, lam))
    rows.sort()
    print("cache grid on validation (perplexity, N, theta, lambda), best 5:")
    for row in rows[:5]:
        print(f"  {row[0]:9.3f}  N={row[1]:<5d} theta={row[2]:<5g} lambda={row[3]:g}")
    return rows[0]


def coordinate_search(score, names: tuple, grids: tuple, b):
    """Minimise ``score(a, b)`` over two grids: the best a at the current b, then the best b at that a, until b
    stays (the two interact).  Returns (the best figure, a, b, every figure tried by (a, b))."""
    tried = {}

    def run(a, b):
        if (a, b) not in tried:
            start = time.perf_counter()
            tried[a, b] = score(a, b)
            print(f"  {names[0]}={a:<8g} {names[1]}={b:<7g} {tried[a, b]:9.3f}  ({time.perf_counter() - start:.0f} s)",
                  flush=True)
        return tried[a, b]

    while True:
        a = min(grids[0], key=lambda v: run(v, b))
        new_b = min(grids[1], key=lambda v: run(a, v))
        if tried[a, new_b] >= tried[a, b]:
            return tried[a, b], a, b, tried
        b = new_b


def tune_dynamic(model, tune, rms, args, read):
    from seqtext.text.adaptation import Adaptation

    def score(lr, decay):
        a = Adaptation(dynamic=True, dynamic_lr=lr, dynamic_decay=decay, dynamic_bptt=args.dynamic_bptt)
        return perplexity(read(model.net, tune, a, model.device, rms).logp, tune)

    print(f"dynamic evaluation on validation, segments of {args.dynamic_bptt} (lr, decay, perplexity):")
    return coordinate_search(score, ("lr", "decay"), (args.lrs, args.decays), args.decays[len(args.decays) // 2])[:3]


def tune_both(model, tune, rms, args, read, dynamic: dict, size: int, theta: float, lam: float):
    """The cache's lambda and theta again with dynamic evaluation on (the two methods' gains overlap, so the
    cache's best weight changes); a coordinate search from the cache-alone theta, on validation text only.
    Returns (the figure with the cache-alone choice, the best figure, its theta, its lambda)."""
    from seqtext.text.adaptation import Adaptation

    def score(lam, theta):
        a = Adaptation(**dynamic, cache=size, cache_theta=theta, cache_lambda=lam)
        return perplexity(read(model.net, tune, a, model.device, rms).logp, tune)

    print(f"both on validation, the cache's N={size} kept (lambda, theta, perplexity):")
    best, best_lam, best_theta, tried = coordinate_search(score, ("lambda", "theta"), (args.lambdas, args.thetas),
                                                          theta)
    return tried[lam, theta], best, best_theta, best_lam


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--valid", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--tune-tokens", type=int, default=20000, help="validation tokens the grid reads")
    parser.add_argument("--test-tokens", type=int, default=None, help="read only this many test tokens (a trial)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=ints, default=[250, 500, 1000, 2000])
    parser.add_argument("--thetas", type=floats, default=[0.1, 0.2, 0.3, 0.5, 0.8, 1.2])
    parser.add_argument("--lambdas", type=floats, default=[0.05, 0.1, 0.15, 0.2, 0.3])
    parser.add_argument("--lrs", type=floats, default=[5e-5, 1e-4, 1.5e-4, 2.5e-4, 4e-4])
    parser.add_argument("--decays", type=floats, default=[0.003, 0.01, 0.03, 0.1])
    parser.add_argument("--dynamic-bptt", type=int, default=None, help="segment length [default: the library's]")
    args = parser.parse_args(argv)

    import torch

    import seqtext
    from seqtext.text import running
    from seqtext.text.adaptation import DEFAULT_DYNAMIC_BPTT, Adaptation

    torch.set_num_threads(args.threads)
    args.dynamic_bptt = args.dynamic_bptt or DEFAULT_DYNAMIC_BPTT
    model = seqtext.load(args.model)
    stream_mode = model.settings.text.mode == "stream"
    tune = running.from_corpus(model.tokenizer, args.valid, stream_mode).head(args.tune_tokens)
    test = running.from_corpus(model.tokenizer, args.test, stream_mode)
    test = test.head(args.test_tokens) if args.test_tokens else test
    print(f"{args.model}: tuning on the first {len(tune):,} tokens of {args.valid}; test {len(test):,} tokens; "
          f"{args.threads} thread(s)")
    read = running.read
    valid = {"plain": perplexity(read(model.net, tune, Adaptation(), model.device).logp, tune)}

    grid_ppl, size, theta, lam = tune_cache(model.net, tune, args)
    cache = Adaptation(cache=size, cache_theta=theta, cache_lambda=lam)
    valid["cache"] = perplexity(read(model.net, tune, cache, model.device).logp, tune)
    print(f"cache chosen: N={size} theta={theta:g} lambda={lam:g}: grid {grid_ppl:.3f}, library {valid['cache']:.3f}")

    start = time.perf_counter()
    rms, origin = running.statistics(model, args.dynamic_bptt)
    stats_seconds = time.perf_counter() - start
    print(f"gradient statistics: {origin} ({stats_seconds:.0f} s)")
    valid["dynamic"], lr, decay = tune_dynamic(model, tune, rms, args, read)
    dynamic_options = {"dynamic": True, "dynamic_lr": lr, "dynamic_decay": decay, "dynamic_bptt": args.dynamic_bptt}
    dynamic = Adaptation(**dynamic_options)
    print(f"dynamic chosen: lr={lr:g} decay={decay:g}", flush=True)
    separate, valid["both"], both_theta, both_lam = tune_both(model, tune, rms, args, read, dynamic_options, size,
                                                              theta, lam)
    both = Adaptation(**dynamic_options, cache=size, cache_theta=both_theta, cache_lambda=both_lam)
    print(f"both chosen: theta={both_theta:g} lambda={both_lam:g}: {valid['both']:.3f} (with the cache-alone "
          f"theta {theta:g} and lambda {lam:g}: {separate:.3f})", flush=True)

    rows = []
    for name, a in (("plain", Adaptation()), ("cache", cache), ("dynamic", dynamic), ("both", both)):
        start = time.perf_counter()
        ppl = perplexity(read(model.net, test, a, model.device, rms).logp, test)
        rows.append((name, ppl, valid[name], time.perf_counter() - start))
        print(f"  test {name}: {ppl:.3f}", flush=True)
    base = rows[0][1]
    print()
    print(f"{'method':<9}{'test ppl':>10}{'vs plain':>10}{'valid ppl':>11}{'test s':>9}")
    for name, ppl, v, seconds in rows:
        print(f"{name:<9}{ppl:10.3f}{100 * (ppl / base - 1):+9.1f}%{v:11.3f}{seconds:9.1f}")
    print(f"hyper-parameters: cache N={size} theta={theta:g} lambda={lam:g}; dynamic lr={lr:g} decay={decay:g} "
          f"segments of {args.dynamic_bptt}; both: the cache's theta {both_theta:g} and lambda {both_lam:g}; "
          f"gradient statistics {stats_seconds:.0f} s more ({origin})")
    print(f"(valid ppl: the first {len(tune):,} validation tokens; evaluate's own plain test figure, "
          f"{model.settings.text.mode} mode: {model.evaluate(args.test)['perplexity']:.3f})")


if __name__ == "__main__":
    main()

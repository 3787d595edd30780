"""Export parity and per-call latency, torch against onnxruntime, for every model kind.

    python scripts/bench_parity.py [--text DIR] [--series DIR] [--classify DIR] [--tag DIR] [--n 200] [--calls 300]

Each model is exported to a temporary directory.  Parity: the largest
absolute difference over N inputs between the torch model and the exported
one, for text the log-probabilities of the prefix graph (N prompts, every
position) and of the step graph; for series the forecasts of N histories
(a roll-out of twice the horizon, and the interval bounds when the model is
calibrated); for classify every label's probability of N texts; for tag
every tag's probability of every word of N sentences.  Latency: the median
of one call each way, the two sides interleaved call by call on 1 thread
(text: one generation step, and next_words of a prompt; series: the
network on one window, and predict on one history; classify: one text;
tag: one sentence).

Without a directory for a kind, a model of that kind's default sizes is
trained for one epoch on shipped data (corpora/) or, for classify and tag,
on SST-2 and EWT dev under ../shared/data when present (else generated
examples); that takes about a minute in all on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"  # --data replaces it


def interleaved(torch_call, onnx_call, calls: int) -> tuple[float, float]:
    """Median ms of one call each way, alternating which side goes first."""
    times = {0: [], 1: []}
    for i in range(calls):
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            (torch_call if side == 0 else onnx_call)()
            times[side].append((time.perf_counter() - start) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# ------------------------------------------------------------------------------------- models

def text_model(path):
    from seqtext import TextModel

    if path:
        return TextModel.load(path)
    lines = (ROOT / "seqtext" / "corpora" / "pronouns.txt").read_text(encoding="utf-8").splitlines()[:2000]
    return TextModel(epochs=1, seed=0, device="cpu").fit(lines)


def series_model(path):
    from seqtext import Forecaster

    if path:
        return Forecaster.load(path), None
    csv = ROOT / "seqtext" / "corpora" / "series" / "airline.csv"
    f = Forecaster(window=24, horizon=12, log=True, epochs=3, calibrate=24, seed=0, device="cpu")
    return f.fit(csv, target="passengers", date="month"), csv


def classify_model(path):
    from seqtext import TextClassifier

    if path:
        return TextClassifier.load(path)
    dev = SHARED / "sst2" / "dev.tsv"
    data = dev if dev.is_file() else [(f"{w} film number {i}", w) for i in range(200) for w in ("good", "bad")]
    return TextClassifier(epochs=1, seed=0, device="cpu").fit(data)


def tag_model(path):
    from seqtext import SequenceTagger

    if path:
        return SequenceTagger.load(path)
    dev = SHARED / "ud-ewt" / "dev.conllu"
    if dev.is_file():
        from seqtext.tag.data import read_tagged

        data = read_tagged(dev)[0][:600]
    else:
        data = [(["The", "cat", "sat", "."], ["DET", "NOUN", "VERB", "PUNCT"])] * 50
    return SequenceTagger(epochs=1, seed=0, device="cpu").fit(data)


# ------------------------------------------------------------------------------------- kinds

def bench_text(model, runtime, n: int, calls: int) -> dict:
    import torch

    from seqtext.export.npdecode import log_softmax

    from seqtext.text import tokenizer as tk

    rng = np.random.default_rng(0)
    vocab = model.tokenizer.get_vocab_size()
    first = 1 + max(model.tokenizer.token_to_id(t) for t in (tk.PAD, tk.UNK, tk.BOS, tk.EOS))  # ordinary words
    bos = model.tokenizer.token_to_id(tk.BOS)
    prefix = step = 0.0
    with torch.inference_mode():
        for _ in range(n):
            ids = [bos, *rng.integers(first, vocab, size=int(rng.integers(1, 30))).tolist()]
            logits, _, hidden = model.net(torch.tensor([ids]))
            scores, state = runtime.net.read(np.asarray([ids]))
            prefix = max(prefix, max_diff(log_softmax(scores), torch.log_softmax(logits, -1).numpy()))
            theirs, _ = model.net.step(torch.tensor([ids[-1]]), hidden)
            mine, _ = runtime.net.step([ids[-1]], state)
            step = max(step, max_diff(log_softmax(mine), torch.log_softmax(theirs, -1).numpy()))
        token, hidden = torch.tensor([first]), model.net.step(torch.tensor([first]), None)[1]
        state = runtime.net.step([first], runtime.net.zeros(1))[1]
        step_ms = interleaved(lambda: model.net.step(token, hidden), lambda: runtime.net.step([first], state), calls)
    prompt = " ".join(model.tokenizer.id_to_token(int(i)) for i in rng.integers(first, vocab, size=12))
    words_ms = interleaved(lambda: model.next_words(prompt, 5), lambda: runtime.next_words(prompt, 5), calls // 3)
    return {"diffs": {"prefix log-prob": prefix, "step log-prob": step},
            "latency": {"one step": step_ms, "next_words (12-word prompt)": words_ms}}


def bench_series(model, csv, runtime, n: int, calls: int) -> dict:
    import torch

    cfg = model.settings.series
    csv = csv or model.task.data.get("source")
    table = model.read(Path(csv)) if csv else model.read()
    origins = np.linspace(cfg.window, table.n - 1, num=min(n, table.n - cfg.window)).astype(int)
    levels = [80, 95] if model.task.intervals is not None else None
    steps = min(2 * cfg.horizon, model.task.intervals.steps) if levels else 2 * cfg.horizon
    worst = relative = 0.0
    for o in origins:
        history = table.head(int(o))
        a = model.predict(steps, history=history, levels=levels)
        b = runtime.predict(steps, history=history, levels=levels)
        pairs = [(a[k], b[k]) for k in a] if levels else [(a, b)]
        worst = max([worst] + [max_diff(x, y) for x, y in pairs])
        relative = max([relative] + [max_diff(x, y) / float(np.max(np.abs(x))) for x, y in pairs])
    x = model.task.scale(table, table.n)[None, -cfg.window:].astype(np.float32)  # (1, W, C)
    with torch.inference_mode():
        net_ms = interleaved(lambda: model.forecast_windows(x), lambda: runtime.forecast_windows(x), calls)
    predict_ms = interleaved(lambda: model.predict(history=table), lambda: runtime.predict(history=table), calls)
    label = "forecast" + (" and 80/95 bounds" if levels else "")
    return {"diffs": {f"{label} ({len(origins)} histories, {steps} steps)": worst,
                      "  the same, relative to the largest forecast": relative},
            "latency": {"network, one window": net_ms, "predict, one history": predict_ms}}


def bench_classify(model, runtime, n: int, calls: int) -> dict:
    words = sorted(w for w in model.task.tokenizer.get_vocab() if not w.startswith("<"))
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=int(rng.integers(1, 40)))) for _ in range(n)]
    a, b = model.predict_proba(texts), runtime.predict_proba(texts)
    diff = max_diff([list(p.values()) for p in a], [list(p.values()) for p in b])
    text = texts[0]
    ms = interleaved(lambda: model.predict_proba([text]), lambda: runtime.predict_proba([text]), calls)
    return {"diffs": {f"probabilities ({n} texts)": diff},
            "latency": {f"one text ({len(text.split())} words)": ms}}


def bench_tag(model, runtime, n: int, calls: int) -> dict:
    words = [w for w in model.task.vocab.words[2:] if w.isalpha()] or ["word"]
    rng = np.random.default_rng(0)
    sentences = [list(rng.choice(words, size=int(rng.integers(1, 40)))) for _ in range(n)]
    a, b = model.predict_proba(sentences), runtime.predict_proba(sentences)
    flat = lambda rows: [list(p.values()) for s in rows for p in s]  # noqa: E731
    diff = max_diff(flat(a), flat(b))
    sentence = sentences[0]
    ms = interleaved(lambda: model.predict_proba([sentence]), lambda: runtime.predict_proba([sentence]), calls)
    return {"diffs": {f"probabilities ({n} sentences, every word)": diff},
            "latency": {f"one sentence ({len(sentence)} words)": ms}}


def main() -> None:
    parser = argparse.ArgumentParser()
    for kind in ("text", "series", "classify", "tag"):
        parser.add_argument(f"--{kind}", metavar="DIR", help=f"a {kind} model directory (default: train a small one)")
    parser.add_argument("--n", type=int, default=200, help="inputs compared per kind")
    parser.add_argument("--calls", type=int, default=300, help="timed calls each way")
    parser.add_argument("--kinds", default="text,series,classify,tag")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder (sst2/, ud-ewt/)")
    args = parser.parse_args()
    globals()["SHARED"] = args.data

    import torch

    from seqtext.export.onnx import export
    from seqtext.export.runtime import load

    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; max |torch - onnxruntime| and median ms per call (torch / onnx)")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            start = time.perf_counter()
            model, csv = (series_model(args.series) if kind == "series"
                          else ({"text": text_model, "classify": classify_model, "tag": tag_model}[kind](
                                getattr(args, kind)), None))
            trained = time.perf_counter() - start
            source = Path(getattr(args, kind)) if getattr(args, kind) else model.save(Path(tmp) / kind)
            runtime = load(export(source, Path(tmp) / f"{kind}-onnx"))
            if kind == "text":
                out = bench_text(model, runtime, args.n, args.calls)
            elif kind == "series":
                out = bench_series(model, csv, runtime, args.n, args.calls)
            elif kind == "classify":
                out = bench_classify(model, runtime, args.n, args.calls)
            else:
                out = bench_tag(model, runtime, args.n, args.calls)
            core = model.settings.core
            print(f"\n{kind}: {core.cell} {core.layers} x {core.hidden}{' bidirectional' if core.bidirectional else ''}"
                  f"{'' if getattr(args, kind) else f' (trained here in {trained:.0f} s)'}")
            for name, diff in out["diffs"].items():
                print(f"  max |diff| {name}: {diff:.2e}")
            for name, (t_ms, o_ms) in out["latency"].items():
                print(f"  {name}: torch {t_ms:.3f} ms, onnxruntime {o_ms:.3f} ms ({t_ms / o_ms:.1f}x)")


if __name__ == "__main__":
    main()

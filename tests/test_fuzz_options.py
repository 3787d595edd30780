"""Hostile option values on every command but train and complete (tests/test_fuzz.py has those): each invocation
exits 0, or refuses in one sentence with nothing written."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seqtext.cli import cli

from conftest import TINY_LINES, assert_no_traceback

FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TINY = ["--hidden", "8", "--epochs", "1", "--quiet", "--device", "cpu"]
HOSTILE = ["-1", "0", "1", "2", str(10**30), "9" * 5000, "1.5", "1e3", "nan", "inf", "-inf", "", " ", "\t", "٣",
           "\x00", "a\x1b[31mb", "a\nb", "x" * 5000, ",", "80,,95", "80,80", "99", "100", "auto", "a,b", "/", "/tmp",
           "/nonexistent/x", "-", "0x10", "+3", "1_000", "²", "3.0"]
VALUES = st.one_of(st.sampled_from(HOSTILE), st.integers(-10, 1000).map(str), st.text(max_size=6))
EXCEPTION = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|Traceback")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def assert_one_sentence(result, *written) -> None:
    """Exit 0, or a non-zero exit whose output ends in one error sentence (no exception name, no control
    character), with none of ``written`` created."""
    assert_no_traceback(result)
    if result.exit_code == 0:
        return
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.output
    assert not EXCEPTION.search(errors[0][len("Error:"):]), errors[0]
    assert not CONTROL.search(errors[0]), errors[0]
    for path in written:
        assert not path.exists(), (path, result.output)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module", autouse=True)
def elsewhere(tmp_path_factory):
    """Run in a folder of its own: a value such as "2" given to --out names a path relative to it."""
    import os

    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(here)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A monthly series with a covariate, a panel of two, a labelled TSV, a word<TAB>tag file and a corpus."""
    root = tmp_path_factory.mktemp("opts")
    t = np.arange(48)
    use = (50 + t) * (1 + 0.3 * np.cos(2 * np.pi * t / 12))
    rows = [f"{2000 + k // 12}-{k % 12 + 1:02d},{use[k]:.3f},{1 + 0.1 * (k % 3):.2f}" for k in range(48)]
    (root / "s.csv").write_text("month,use,heat\n" + "\n".join(rows) + "\n")
    panel = [f"{s},{2000 + k // 12}-{k % 12 + 1:02d},{base + k % 7},{base // 10}" for s, base in (("a", 10), ("b", 20))
             for k in range(36)]
    (root / "p.csv").write_text("store,month,sales,size\n" + "\n".join(panel) + "\n")
    rng, words = random.Random(0), "the a film plot good bad not".split()
    texts = [[rng.choice(words) for _ in range(5)] for _ in range(40)]
    (root / "c.tsv").write_text("sentence\tlabel\n" + "".join(f"{' '.join(w)}\t{int('not' in w)}\n" for w in texts))
    (root / "t.txt").write_text("\n\n".join("\n".join(f"{w}\t{'N' if w in ('film', 'plot') else 'O'}" for w in ws)
                                            for ws in texts) + "\n")
    (root / "corpus.txt").write_text("\n".join(TINY_LINES * 2) + "\n")
    return root


@pytest.fixture(scope="module")
def models(files):
    """A forecaster, a panel forecaster, a classifier, a tagger and a language model: one epoch, 8 units each."""
    out = {}
    for name, args in {
        "series": ["forecast", "train", "--csv", files / "s.csv", "--target", "use", "--date", "month", "--window", "6",
                   "--horizon", "2"],
        "panel": ["forecast", "train", "--csv", files / "p.csv", "--target", "sales", "--id", "store", "--date",
                  "month", "--static-features", "size", "--window", "6", "--calibrate", "0"],
        "classify": ["classify", "train", "--data", files / "c.tsv", "--embed", "8"],
        "tag": ["tag", "train", "--data", files / "t.txt", "--embed", "8", "--chars", "0"],
        "text": ["train", "--corpus", files / "corpus.txt", "--embed", "8"],
    }.items():
        result = run(*args, *TINY, "--out", files / name)
        assert result.exit_code == 0, result.output
        out[name] = files / name
    return out


SHARED = ["--cell", "--layers", "--hidden", "--dropout", "--weight-drop", "--optimizer", "--schedule", "--warmup",
          "--average-from", "--precision", "--patience", "--seed", "--threads", "--device", "--valid-fraction",
          "--clip", "--lr-decay", "--lr", "--batch-size", "--weight-decay"]
SERIES = ["--window", "--horizon", "--stride", "--calibrate", "--calendar", "--features", "--past-features",
          "--static-features", "--id", "--date", "--target", "--id-embed", "--holdout", "--config", "--resume"]


@FEW
@given(option=st.sampled_from(SERIES + SHARED), value=VALUES)
@example(option="--config", value="9" * 5000)  # a name too long to look up: a traceback until 2026-12-04
@example(option="--threads", value="9" * 5000)  # more digits than int() reads: a traceback until 2026-12-04
def test_forecast_train_options(files, tmp_path_factory, option, value):
    out = tmp_path_factory.mktemp("fz") / "m"
    result = run("forecast", "train", "--csv", files / "s.csv", "--target", "use", "--date", "month", "--window", "6",
                 "--calibrate", "0", *TINY, "--out", out, option, value)
    assert_one_sentence(result, out)


@FEW
@given(option=st.sampled_from(["--static-features", "--id-embed", "--holdout", "--id", "--calendar"]), value=VALUES)
def test_forecast_train_panel_options(files, tmp_path_factory, option, value):
    out = tmp_path_factory.mktemp("fz") / "m"
    result = run("forecast", "train", "--csv", files / "p.csv", "--target", "sales", "--id", "store", "--date",
                 "month", "--window", "6", "--calibrate", "0", *TINY, "--out", out, option, value)
    assert_one_sentence(result, out)


@FEW
@given(command=st.sampled_from([("predict", "--steps"), ("predict", "--levels"), ("predict", "--series"),
                                ("predict", "--out"), ("predict", "--plot"), ("evaluate", "--holdout"),
                                ("evaluate", "--season"), ("evaluate", "--levels"), ("evaluate", "--actuals"),
                                ("evaluate", "--baselines"), ("backtest", "--start"), ("backtest", "--stride"),
                                ("backtest", "--steps"), ("backtest", "--levels"), ("backtest", "--out"),
                                ("backtest", "--refit")]),
       value=VALUES)
def test_forecast_inference_options(files, models, tmp_path_factory, command, value):
    sub, option = command
    fast = ["--baselines", "naive"] if sub in ("evaluate", "backtest") and option != "--baselines" else []
    start = ["--start", "40"] if sub == "backtest" and option != "--start" else []
    written = tmp_path_factory.mktemp("fz") / "out.csv"
    output = ["--json"] if sub == "evaluate" or option == "--out" else ["--out", written]
    result = run("forecast", sub, "--model", models["panel"], "--csv", files / "p.csv", *fast, *start, *output,
                 option, value)
    assert_one_sentence(result, written)


CLASSIFY = ["--pooling", "--embed", "--vocab-size", "--min-frequency", "--word-dropout", "--label-smoothing",
            "--text-column", "--label-column", "--init-from", "--unfreeze", "--monitor", "--dev"]
TAG = ["--column", "--embed", "--chars", "--word-dropout", "--init-from", "--unfreeze", "--dev"]


@FEW
@given(command=st.sampled_from([("classify", o) for o in CLASSIFY + SHARED] + [("tag", o) for o in TAG + SHARED]),
       value=VALUES)
def test_classify_and_tag_train_options(files, tmp_path_factory, command, value):
    kind, option = command
    data = files / ("c.tsv" if kind == "classify" else "t.txt")
    out = tmp_path_factory.mktemp("fz") / "m"
    result = run(kind, "train", "--data", data, "--embed", "8", *TINY, "--out", out, option, value)
    assert_one_sentence(result, out)


@FEW
@given(command=st.sampled_from([("classify", "evaluate", "--text-column"), ("classify", "evaluate", "--label-column"),
                                ("classify", "evaluate", "--data"), ("classify", "predict", "--file"),
                                ("tag", "evaluate", "--data"), ("tag", "predict", "--file")]), value=VALUES)
def test_classify_and_tag_inference_options(files, models, command, value):
    kind, sub, option = command
    data = ["--data", files / ("c.tsv" if kind == "classify" else "t.txt")] if option != "--data" else []
    result = run(kind, sub, "--model", models[kind], *data, option, value)
    assert_one_sentence(result)


@FEW
@given(option=st.sampled_from(["--dynamic-lr", "--dynamic-decay", "--dynamic-bptt", "--cache", "--cache-theta",
                               "--cache-lambda", "--dynamic-stats", "--file"]), value=VALUES)
def test_score_options(files, models, option, value):
    extra = ["--dynamic"] if option.startswith("--dynamic-") else ["--cache", "10"] if option != "--cache" else []
    result = run("score", "--model", models["text"], "--file", files / "corpus.txt", *extra, option, value)
    assert_one_sentence(result)


@FEW
@given(option=st.sampled_from(["--show", "--no-repeat-ngram", "--repetition-penalty"]), value=VALUES)
def test_suggest_options(models, option, value):
    result = CliRunner().invoke(cli, ["suggest", "--model", str(models["text"]), option, value], input="Mary ri\n")
    assert_one_sentence(result)


@FEW
@given(option=st.sampled_from(["--sequence", "--window", "--hidden", "--lr", "--seed", "--nonlinearity", "--length",
                               "--epochs"]), value=VALUES)
def test_theory_options(option, value):
    extra = {"--length": ["--gradient-norms"], "--epochs": ["--worked-example"]}.get(option, [])
    assert_one_sentence(run("theory", *extra, option, value))


@FEW
@given(option=st.sampled_from(["--out", "--format", "MODEL_DIR"]), value=VALUES)
@example(option="--out", value="\x00")  # a path holding a NUL: pathlib's ValueError came out as a traceback
def test_export_options(models, tmp_path_factory, option, value):
    out = tmp_path_factory.mktemp("fz") / "export"
    args = {"--out": [models["classify"], "--out", value], "--format": [models["classify"], "--out", out, "--format",
                                                                         value], "MODEL_DIR": [value, "--out", out]}
    result = run("export", *args[option])
    if option != "--out":
        assert_one_sentence(result, *([out] if result.exit_code else []))
    else:
        assert_one_sentence(result)


@FEW
@given(option=st.sampled_from(["--port", "--host", "--max-body", "--model"]), value=VALUES)
@example(option="--model", value="\x00")  # a bare path holding a NUL: resolving it was a ValueError
def test_serve_refuses_before_listening(models, monkeypatch, option, value):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=(): started.extend(s.close() for s in sockets))
    base = [] if option == "--model" else ["--model", f"m={models['classify']}", "--port", "0"]
    result = run("serve", *base, option, value)
    assert_one_sentence(result)
    assert bool(started) == (result.exit_code == 0)


# ------------------------------------------------------------------ defects the fuzzing found


@pytest.mark.parametrize("option", ["--stride", "--hidden", "--window", "--id-embed", "--layers"])
def test_a_size_past_any_setting_is_refused_before_training(files, tmp_path, option):
    """10^30 hidden units overflowed torch's size arguments and a stride of 10^30 made numpy index with Python
    objects, each a traceback (--layers 10^30 built layers until memory ran out)."""
    result = run("forecast", "train", "--csv", files / "s.csv", "--target", "use", "--window", "6", *TINY, "--out",
                 tmp_path / "m", option, 10**30)
    assert_one_sentence(result, tmp_path / "m")
    assert result.exit_code == 2 and re.search(r"\b[01]<=x<=1000000000\b", result.output), result.output


def test_a_size_past_any_setting_is_refused_in_python():
    from seqtext import ConfigError
    from seqtext.series import Forecaster

    with pytest.raises(ConfigError, match=r"stride must be a whole number of at most 1000000000, got 10"):
        Forecaster(stride=10**30, window=6, epochs=1, device="cpu").fit([float(i) for i in range(40)])


def test_a_tensor_past_a_64_bit_size_is_out_of_memory(files, tmp_path, monkeypatch):
    """torch's 'Storage size calculation overflowed' (a tensor of more bytes than 2^63) came out as a traceback."""
    from seqtext.series import task

    def overflowing(self):
        raise RuntimeError("Storage size calculation overflowed with sizes=[4000000000, 1000000000]")

    monkeypatch.setattr(task.ForecastTask, "build", overflowing)
    result = run("forecast", "train", "--csv", files / "s.csv", "--target", "use", "--window", "6", *TINY, "--out",
                 tmp_path / "m")
    assert_one_sentence(result, tmp_path / "m")
    assert result.exit_code == 1 and "ran out of memory" in result.output


@pytest.mark.parametrize("path", ["a\nb.csv", "a\x1b[31mb.csv", "a\u2028b.csv"])
def test_a_path_holding_a_control_character_is_named_on_one_line(files, models, path):
    """A path typed with a line break or an escape sequence reached the message raw: two lines, or a coloured
    terminal."""
    result = run("forecast", "evaluate", "--model", models["panel"], "--csv", files / "p.csv", "--baselines",
                 "naive", "--actuals", path)
    assert_one_sentence(result)
    assert result.exit_code == 1 and "does not exist" in result.output
    assert repr(path)[1:-1] in result.output


@pytest.mark.parametrize("kind", ["classify", "tag"])
def test_a_data_path_holding_a_nul_does_not_exist(models, kind):
    """os.path.realpath's ValueError ('embedded null byte') came out of classify and tag evaluate with a traceback."""
    result = run(kind, "evaluate", "--model", models[kind], "--data", "a\x00b.tsv")
    assert_one_sentence(result)
    assert result.exit_code == 1 and "a\\x00b.tsv does not exist" in result.output

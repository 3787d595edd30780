"""Shared fixtures: a tiny trained text model, built once per test session."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "seqtext" / "corpora"

TINY_LINES = [
    "Mary rides the bicycle, the bicycle is hers.",
    "John rides the bicycle, the bicycle is his.",
    "Mary drives the car, the car is hers.",
    "John drives the car, the car is his.",
    "I ride the bicycle, the bicycle is mine.",
    "We drive the car, the car is ours.",
]


def write_corpus(path: Path, lines) -> Path:
    """A UTF-8 text corpus, one sentence a line."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def panel_train_args(data: Path) -> list:
    """``forecast train`` of a tiny global model over a monthly long table ``id,month,value`` (no --out)."""
    return ["forecast", "train", "--csv", str(data), "--id", "id", "--date", "month", "--window", "12", "--horizon",
            "3", "--calibrate", "6", "--hidden", "8", "--epochs", "2", "--scaler", "mean", "--quiet"]


def assert_no_traceback(result) -> None:
    """A CliRunner result that ended by click's own exit, never an escaped exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def assert_clean_failure(result, *fragments, code: int | None = None) -> None:
    """Non-zero exit (``code`` if given), one error line, no traceback; each fragment in the output."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert_no_traceback(result)
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def free_tokens_of_continuations(monkeypatch, run) -> list:
    """The ``free`` set of every Repetition a continuation builds while ``run()`` runs."""
    from seqtext.text import decoding

    made, original = [], decoding.Repetition.of_text.__func__

    def spied(cls, *args):
        repetition = original(cls, *args)
        made.append(repetition.free)
        return repetition

    monkeypatch.setattr(decoding.Repetition, "of_text", classmethod(spied))
    run()
    return made


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A small but trained model directory (a few seconds to build)."""
    from seqtext import TextModel

    model = TextModel(embed=16, hidden=64, epochs=120, patience=120, lr=3e-3, batch_size=4, seed=0,
                      embed_dropout=0.0, output_dropout=0.0, lr_decay=1.0,
                      device="cpu", valid_fraction=0.0)
    model.fit(TINY_LINES * 4)
    return model.save(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def tiny_model(tiny_model_dir):
    from seqtext import load

    return load(tiny_model_dir)


# ------------------------------------------------------------------ exported models

RTOL, ATOL = 1e-4, 1e-5  # export parity: within 1e-4 relative or 1e-5 absolute, whichever is larger


def close(a, b) -> float:
    """Max |a - b|, asserting it within RTOL relative or ATOL absolute, whichever is larger."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.all(np.abs(a - b) <= np.maximum(ATOL, RTOL * np.abs(b))), float(np.max(np.abs(a - b)))
    return float(np.max(np.abs(a - b))) if a.size else 0.0


NO_TORCH = """
import sys, importlib.abc
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)  # as when torch is not installed
sys.meta_path.insert(0, Refuse())
from seqtext.cli import cli
cli(sys.argv[1:], prog_name="seqtext")
"""


def run_without_torch(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``seqtext ARGS`` in a fresh interpreter where importing torch raises."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120, input=stdin)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="Debian's chromium is not installed (.ci/run installs it with apt)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(*model_specs: str) -> Iterator[str]:
    """A real ``seqtext serve --model SPEC ...`` process on a free loopback port: its base URL while open.

    Waits for ``/health`` (60 s at most) and stops it with SIGTERM, which must end it gracefully.
    """
    port = free_port()
    models = [f"--model={spec}" for spec in model_specs]
    proc = subprocess.Popen([sys.executable, "-m", "seqtext", "serve", *models, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if json.load(urllib.request.urlopen(base + "/health", timeout=2)) == {"status": "ok"}:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the server did not answer within 60 s: " + proc.stderr.read())
    try:
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # a graceful stop (uvicorn re-raises SIGTERM)
        log = proc.stderr.read()
        assert 0 <= log.find("listening on ") < log.find("serving "), log  # says it serves once the models load


@contextlib.contextmanager
def headless_page(url: str):
    """A page of Debian's chromium, headless through Playwright, opened at ``url``."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")
    with playwright.sync_playwright() as p:
        args = ["--headless", "--disable-gpu"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#model option", state="attached")
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def serving_app(app) -> Iterator[str]:
    """An application (``create_app(..., load_now=False)``: the test loads the models when it chooses) under
    uvicorn in a thread, on a free loopback port: its base URL while open."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start within 30 s"
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)

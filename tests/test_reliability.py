"""Reliability: interrupted and killed trainings, resume, determinism, one writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from seqtext import CheckpointError, TextModel, load
from seqtext.modeldir import load_trainer_state
from seqtext.outputlock import OutputLock
from seqtext.cli import cli

from conftest import TINY_LINES, assert_clean_failure, write_corpus

SMALL = ["--embed", "16", "--hidden", "32", "--batch-size", "8", "--device", "cpu", "--quiet", "--seed", "3"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    # enough batches per epoch that an interruption lands mid-epoch
    lines = [f"{s[:-1]} number {i % 50}." for i, s in enumerate(TINY_LINES * 150)]
    return write_corpus(tmp_path_factory.mktemp("corpus") / "c.txt", lines)


def seqtext_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "seqtext", *args]


def weights(model_dir: Path) -> dict:
    return load_file(str(model_dir / "model.safetensors"))


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_ctrl_c_saves_and_resume_is_bit_identical(tmp_path, corpus):
    full = tmp_path / "full"
    args = ["train", "--corpus", str(corpus), "--epochs", "6", "--patience", "10", *SMALL]
    subprocess.run(seqtext_cmd(*args, "--out", str(full)), check=True, capture_output=True)

    part = tmp_path / "part"
    proc = subprocess.Popen(seqtext_cmd(*args, "--out", str(part)), stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: (part / "trainer.pt").exists()), "the first epoch was never saved"
    time.sleep(0.15)  # somewhere inside the second epoch
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"resume with: seqtext train --resume {part}" in err
    assert "Traceback" not in err
    state = load_trainer_state(part)
    assert not state["finished"] and state["epoch"] <= 6
    load(part)  # the interrupted directory is a usable model

    resumed = subprocess.run(seqtext_cmd("train", "--resume", str(part), "--quiet"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert same_weights(weights(part), weights(full))
    full_state, part_state = load_trainer_state(full), load_trainer_state(part)
    assert same_weights(part_state["net"], full_state["net"])
    assert json.loads(part_state["history"])[-1]["valid_loss"] == json.loads(full_state["history"])[-1]["valid_loss"]


@pytest.mark.parametrize("schedule", [{}, dict(schedule="cosine", warmup=30), dict(average_from=1),
                                      dict(mode="stream", bptt=8)])  # the hidden state carried across windows too
def test_resume_in_process_mid_epoch_matches(tmp_path, corpus, monkeypatch, schedule):
    """Interrupt at an exact batch (via the SIGINT flag) and resume through the API."""
    from seqtext.session import TrainingInterrupted
    from seqtext.text.task import LanguageModelTask

    options = dict(embed=16, hidden=32, batch_size=8, epochs=2, device="cpu", seed=5, **schedule)
    reference = TextModel(**options).fit(corpus)

    original = LanguageModelTask.loss
    calls = {"n": 0}

    def interrupting_loss(self, runner, batch):
        calls["n"] += 1
        if calls["n"] == 40:
            os.kill(os.getpid(), signal.SIGINT)  # handled as a flag; the batch still completes
        return original(self, runner, batch)

    monkeypatch.setattr(LanguageModelTask, "loss", interrupting_loss)
    model = TextModel(**options)
    with pytest.raises(TrainingInterrupted):
        model.fit(corpus)
    assert (model.trainer_state["epoch"], model.trainer_state["batches_done"]) == (1, 40)
    model.save(tmp_path / "m")
    monkeypatch.setattr(LanguageModelTask, "loss", original)
    resumed = TextModel.resume(tmp_path / "m")
    for key, value in reference.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key


def test_same_seed_same_weights_and_completions(corpus):
    options = dict(embed=16, hidden=32, batch_size=8, epochs=2, device="cpu", seed=11)
    a = TextModel(**options).fit(corpus)
    b = TextModel(**options).fit(corpus)
    for key, value in a.net.state_dict().items():
        assert torch.equal(value, b.net.state_dict()[key])
    prompts = ["Mary rides the bicycle, the bicycle is ___", "We", "___ drives the car."]
    assert [a.complete(p) for p in prompts] == [b.complete(p) for p in prompts]
    assert a.complete("We", temperature=1.0, seed=2) == b.complete("We", temperature=1.0, seed=2)
    c = TextModel(**{**options, "seed": 12}).fit(corpus)
    assert not torch.equal(a.net.head.weight, c.net.head.weight)


KILL_RUNNER = textwrap.dedent(
    """
    import sys, time
    import seqtext.modeldir as ck
    write, swap = ck.save_weights, ck._swap_into_place
    def slow_write(path, state):
        print("WRITING", flush=True); time.sleep(0.05); write(path, state)
    def slow_swap(new, path):
        print("SWAPPING", flush=True); time.sleep(0.05); swap(new, path)
    ck.save_weights, ck._swap_into_place = slow_write, slow_swap
    from seqtext.cli import cli
    cli(sys.argv[1:], prog_name="seqtext")
    """
)


def check_consistent(model_dir: Path) -> None:
    """The directory loads, and all its files come from one save."""
    model = load(model_dir)
    state = load_trainer_state(model_dir)
    history = [json.loads(l) for l in (model_dir / "metrics.jsonl").read_text().splitlines()]
    assert json.loads(state["history"]) == history
    assert model.summary["epochs_run"] == len(history)
    assert same_weights(weights(model_dir), state["best_net"] if state["best_net"] is not None else state["net"])


def kill_at(points, args, out) -> int:
    """Train afresh into ``out`` once per point, SIGKILLed right after the point's n-th marker (inside a
    weights write or just before the swap); returns how many kills left a model, checking each is whole."""
    loadable, existed = 0, False
    for marker, nth in points:
        proc = subprocess.Popen([*args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        seen = 0
        for line in proc.stdout:
            if line.strip() == marker:
                seen += 1
                if seen == nth:
                    break
        assert seen == nth, f"the training ended before {marker} #{nth}: that kill point was never reached"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        if out.exists():
            check_consistent(out)
            loadable += 1
        # before the first save completes there may be nothing; after it, always a whole model
        assert out.exists() or not existed, f"a kill at {marker} #{nth} removed the model"
        existed = existed or out.exists()
    return loadable


def test_sigkill_at_many_points_leaves_a_loadable_model(tmp_path, corpus):
    runner = tmp_path / "runner.py"
    runner.write_text(KILL_RUNNER)
    args = [sys.executable, str(runner), "train", "--corpus", str(corpus), "--epochs", "10", "--patience", "10",
            *SMALL]
    # one save an epoch (ten in all: enough for the sixth); two model directories, killed side by side (each
    # process spends most of its life starting up)
    first = [("WRITING", 1), ("SWAPPING", 1), ("WRITING", 2), ("SWAPPING", 3), ("WRITING", 4), ("SWAPPING", 2)]
    second = [("WRITING", 3), ("SWAPPING", 5), ("WRITING", 6), ("SWAPPING", 4), ("WRITING", 5), ("SWAPPING", 6)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(kill_at, points, args, tmp_path / name) for points, name in ((first, "a"), (second, "b"))]
        loadable = [run.result() for run in runs]
    # all but the two kills inside the very first save (the second directory's first kill comes after it)
    assert loadable == [len(first) - 2, len(second)]
    # a crashed writer leaves neither a stuck lock nor stray temporary directories
    def resume(name):
        return subprocess.run(seqtext_cmd("train", "--resume", str(tmp_path / name), "--quiet"), capture_output=True,
                              text=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, done in zip("ab", pool.map(resume, "ab")):
            assert done.returncode == 0, done.stderr
            check_consistent(tmp_path / name)
    assert not list(tmp_path.glob(".*.tmp"))


def test_second_writer_is_refused(tmp_path, corpus):
    out = tmp_path / "busy"
    with OutputLock(out):
        result = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(out), *SMALL])
        assert_clean_failure(result, "is being written by another training", code=1)
        with pytest.raises(CheckpointError):
            with OutputLock(out):
                pass
    with OutputLock(out):  # released: the next writer gets it
        pass


def test_lock_of_a_killed_process_is_not_stuck(tmp_path):
    out = tmp_path / "m"
    code = f"from seqtext.outputlock import OutputLock; import time\nwith OutputLock({str(out)!r}):\n" \
           "    print('locked', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(CheckpointError):
        with OutputLock(out):
            pass
    proc.kill()
    proc.wait()
    proc.stdout.close()
    with OutputLock(out):
        pass


def test_resume_of_finished_training_needs_more_epochs(tmp_path, corpus):
    out = tmp_path / "done"
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(out), "--epochs", "1", *SMALL])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["train", "--resume", str(out)])
    assert r.exit_code == 2 and "already finished after 1 epoch;" in r.output
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--epochs", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    assert load(out).summary["epochs_run"] == 2


def test_trainer_state_is_loaded_without_code(tmp_path, corpus):
    out = tmp_path / "m"
    TextModel(embed=8, hidden=8, epochs=1, device="cpu").fit(corpus).save(out)

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    state = torch.load(out / "trainer.pt", weights_only=True)
    state["payload"] = Evil()
    torch.save(state, out / "trainer.pt")
    with pytest.raises(CheckpointError) as info:
        load_trainer_state(out)
    assert str(info.value) == (f"{out / 'trainer.pt'} is corrupted, or holds more than tensors and plain values, so "
                               "it is no seqtext trainer state; train again.")  # never torch's weights_only advice
    assert not (tmp_path / "pwned").exists()
    (out / "trainer.pt").write_bytes(b"garbage")
    r = CliRunner().invoke(cli, ["train", "--resume", str(out)])
    assert r.exit_code == 1 and "trainer.pt is corrupted" in r.output and "weights_only" not in r.output


def test_one_megabyte_prompt_is_read_from_its_last_tokens(tiny_model):
    from seqtext.text.generate import MAX_CONTEXT

    filler = "Mary rides the bicycle, the car is hers. " * 25_000  # ~1 MB
    prompt = filler + "John drives the car, the car is ___"
    assert len(prompt) > 1_000_000
    out = tiny_model.complete(prompt)
    assert out.startswith(prompt[:-3]) and len(out.words) == 1
    # the rule: only the last MAX_CONTEXT tokens before the blank are read, so text further back
    # changes nothing
    other = "We drive the car, the car is ours. " * 25_000 + filler + "John drives the car, the car is ___"
    assert tiny_model.next_words(other, 3) == tiny_model.next_words(prompt, 3)
    assert MAX_CONTEXT < len(filler.split())


def test_ten_megabyte_single_line_corpus_is_cut_into_bounded_pieces(tmp_path):
    from seqtext.text.corpus import MAX_LINE_CHARS, load_lines

    words = " ".join(TINY_LINES)
    path = tmp_path / "one-line.txt"
    path.write_text((words + " ") * (10_000_000 // (len(words) + 1)), encoding="utf-8")
    assert path.stat().st_size > 9_900_000
    lines = load_lines(path)
    assert max(len(line) for line in lines) <= MAX_LINE_CHARS
    assert sum(len(line) + 1 for line in lines) >= path.stat().st_size - len(lines)  # no text lost
    # and a 1 MB single line trains end to end
    small = tmp_path / "small.txt"
    small.write_text((words + " ") * (1_000_000 // (len(words) + 1)), encoding="utf-8")
    model = TextModel(embed=8, hidden=8, epochs=1, batch_size=64, device="cpu", mode="sentence").fit(small)
    assert model.summary["train_sentences"] + model.summary["valid_sentences"] > 400


def test_ctrl_c_inside_an_import_ends_the_command_line_cleanly(tmp_path):
    """A Ctrl-C that lands while a library is imported (numpy, torch: the first second of a command) ends the
    process with "interrupted" and 130, not a traceback from the half-initialised module; elsewhere it is Python's
    KeyboardInterrupt."""
    (tmp_path / "slow_library.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"
                                              "raise SystemExit('the interrupt did not stop the import')\n")
    script = textwrap.dedent("""
        import os, signal, sys
        from seqtext.__main__ import _guard_imports
        _guard_imports()
        try:
            os.kill(os.getpid(), signal.SIGINT)  # outside an import: a KeyboardInterrupt to handle, as ever
        except KeyboardInterrupt:
            print("caught")
        from seqtext.outputlock import OutputLock
        lock = OutputLock("out")  # a training takes its output lock before its heavy imports
        lock.__enter__()
        import slow_library
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    assert (done.returncode, done.stdout, done.stderr) == (130, "caught\n", "interrupted\n")
    assert not (tmp_path / ".out.lock").exists()  # the exit that skips __exit__ removes it all the same


def test_a_failed_allocation_is_one_sentence_and_other_runtime_errors_are_not_hidden():
    """torch reports an allocation it cannot make (``--hidden 100000000``) as a RuntimeError, not a MemoryError."""
    import click

    from seqtext.cli.common import handle_errors

    @click.command()
    @click.argument("message")
    @handle_errors
    def fails(message):
        raise RuntimeError(message)

    oom = CliRunner().invoke(fails, ["[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
                                     "you tried to allocate 1600000000000000 bytes."])
    assert_clean_failure(oom, "ran out of memory; try a smaller batch size, model or input.")
    other = CliRunner().invoke(fails, ["a bug"])
    assert isinstance(other.exception, RuntimeError) and str(other.exception) == "a bug"  # not passed off as memory


def test_a_dependency_that_cannot_be_imported_is_one_sentence_and_seqtext_import_bugs_are_not_hidden(tmp_path):
    """A missing extra names what to install; an installed package that fails inside its own import is named from
    seqtext's import line; a failing import of seqtext's own modules stays a traceback (it is a bug)."""
    import click

    from seqtext.cli.common import handle_errors

    (tmp_path / "broken_dep.py").write_text("raise ImportError('libfoo.so: cannot open shared object file')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        @click.command()
        @click.argument("what")
        @handle_errors
        def needs(what):
            if what == "missing":
                import onnxruntime_not_installed_here  # noqa: F401
            elif what == "extra":
                raise ModuleNotFoundError("No module named 'statsmodels'", name="statsmodels.tsa")
            elif what == "broken":
                import broken_dep  # noqa: F401
            elif what == "old":
                from json import name_of_a_later_version  # noqa: F401
            elif what == "our name":
                from seqtext.errors import no_such_name  # noqa: F401
            else:
                from seqtext.no_such_module import anything  # noqa: F401

        missing = CliRunner().invoke(needs, ["missing"])
        assert_clean_failure(missing, "this command needs onnxruntime_not_installed_here, which cannot be imported "
                                      "here (No module named 'onnxruntime_not_installed_here'); install it with pip "
                                      "install onnxruntime_not_installed_here.")
        assert_clean_failure(CliRunner().invoke(needs, ["extra"]), "install it with pip install 'seqtext[stats]'.")
        broken = CliRunner().invoke(needs, ["broken"])
        assert_clean_failure(broken, "needs broken_dep, which cannot be imported here (libfoo.so: cannot open")
        ours = CliRunner().invoke(needs, ["ours"])
        assert isinstance(ours.exception, ImportError) and "seqtext.no_such_module" in str(ours.exception)
        old = CliRunner().invoke(needs, ["old"])  # installed, but without the name: no advice to install it
        assert_clean_failure(old, "the installed json lacks what this command needs (cannot import name "
                                  "'name_of_a_later_version' from 'json'", "upgrade it with pip install -U json.")
        assert isinstance(CliRunner().invoke(needs, ["our name"]).exception, ImportError)  # a seqtext bug shows
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("broken_dep", None)


def test_an_output_file_gets_a_new_files_mode_or_keeps_the_one_it_replaces(tmp_path):
    from seqtext.atomic import write_file

    mask = os.umask(0o022)
    try:
        fresh = write_file(tmp_path / "sub" / "a.csv", lambda tmp: Path(tmp).write_text("x\n"))
        assert fresh.read_text() == "x\n" and fresh.stat().st_mode & 0o777 == 0o644
        fresh.chmod(0o600)
        write_file(fresh, lambda tmp: Path(tmp).write_text("y\n"))
        assert fresh.read_text() == "y\n" and fresh.stat().st_mode & 0o777 == 0o600
        with pytest.raises(OSError):
            write_file(tmp_path / "b.csv", lambda tmp: (_ for _ in ()).throw(OSError("disk full")))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]  # no temporary file left behind
    finally:
        os.umask(mask)

"""ONNX export and the torch-free runtime: parity with torch for every cell, the CLI, and no torch import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import TINY_LINES, assert_clean_failure, close, free_tokens_of_continuations, run_without_torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from seqtext import Forecaster, TextModel  # noqa: E402
from seqtext.cli import cli  # noqa: E402
from seqtext.export.onnx import export  # noqa: E402
from seqtext.export.runtime import load  # noqa: E402
from seqtext.errors import CheckpointError  # noqa: E402

CONFIGS = {  # every cell; stacked layers, tied weights (with a projection), the adaptive softmax
    "rnn": dict(cell="rnn", layers=2),
    "gru": dict(cell="gru", softmax="adaptive", cutoffs=[12, 20]),
    "lstm": dict(cell="lstm", layers=2, tie_weights=True, embed=8, hidden=24),
    "lstm-bpe": dict(cell="lstm", tokenizer="bpe"),  # a blank's words spelled from pieces, ranked alike
}
WORDS = sorted({w.strip(",.").lower() for line in TINY_LINES for w in line.split()})


def prompts(n: int = 200) -> list[str]:
    rng = np.random.default_rng(0)
    out = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 9)))) for _ in range(n)]
    return out


def random_model(cell: str) -> TextModel:
    from seqtext.text import tokenizer as tk

    options = dict(embed=8, hidden=16, device="cpu")
    options.update(CONFIGS[cell])
    model = TextModel(**options)
    model.task.tokenizer = tk.train_tokenizer(TINY_LINES, options.get("tokenizer", "word"), 100, 1)
    torch.manual_seed(1)
    model.net = model.task.build().eval()
    with torch.no_grad():
        for p in model.net.parameters():
            p.mul_(2.0)  # peaked distributions, far from ties
    return model


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def exported(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"export-{request.param}")
    model = random_model(request.param)
    model_dir = model.save(root / "model")
    return model, export(model_dir, root / "onnx"), load(root / "onnx")


def test_prefix_and_step_graphs_equal_torch_on_200_prompts(exported):
    import onnxruntime as ort

    model, out, runtime = exported
    step_graph = ort.InferenceSession(str(out / "step.onnx"), providers=["CPUExecutionProvider"])
    tok = model.tokenizer
    for prompt in prompts():
        ids = [tok.token_to_id("<s>"), *tok.encode(prompt, add_special_tokens=False).ids]
        with torch.no_grad():
            logits, _, hidden = model.net(torch.tensor([ids]))
            step, _ = model.net.step(torch.tensor([ids[-1]]), hidden)
        scores, state = runtime.net.read(np.asarray([ids]))
        close(scores, logits.numpy())
        for mine, theirs in zip(state, hidden if isinstance(hidden, tuple) else (hidden,)):
            close(mine, theirs.numpy())
        mine, after = runtime.net.step([ids[-1]], state)  # the prefix graph over one token
        close(mine, step.numpy())
        # step.onnx, kept for other callers, computes exactly what the runtime's step does
        feeds = {"token": np.asarray([ids[-1]]), **dict(zip(runtime.net.state_names, state))}
        for a, b in zip(step_graph.run(None, feeds), [mine, *after]):
            np.testing.assert_array_equal(a, b)


def test_greedy_completions_blanks_and_next_words_are_torchs(exported):
    model, _, runtime = exported
    for prompt in prompts():
        assert str(runtime.complete(prompt)) == str(model.complete(prompt))
        off = dict(no_repeat_ngram=None, repetition_penalty=None, stop=False, words=12)
        assert str(runtime.complete(prompt, **off)) == str(model.complete(prompt, **off))
    for prompt in prompts(40):
        blank = prompt + " ___ the car is hers."
        assert str(runtime.complete(blank)) == str(model.complete(blank))
        mine, theirs = runtime.next_words(blank, 5), model.next_words(blank, 5)
        assert [w for w, _ in mine] == [w for w, _ in theirs]
        close([p for _, p in mine], [p for _, p in theirs])
        assert "".join(runtime.stream(prompt)) == str(runtime.complete(prompt))[len(prompt):]


def test_a_blank_is_always_filled_with_a_word_never_punctuation(exported):
    """These random models rank "," or "." high; a blank in the middle or at the end still gets a word (and
    its candidates are words), the same on the export."""
    from seqtext.text.spacing import is_wordlike

    model, _, runtime = exported
    punctuation_first = 0
    for prompt in prompts(40):
        punctuation_first += any(not is_wordlike(w) for w, _ in model.next_words(prompt, 5))  # a continuation's may
        for blank in (prompt + " ___ the car is hers.", prompt + " ___"):
            done = model.complete(blank)
            assert len(done.words) == 1 and is_wordlike(done.words[0]), (blank, str(done))
            assert str(runtime.complete(blank)) == str(done)
            assert all(is_wordlike(w) for w, _ in model.next_words(blank, 5))
            assert [w for w, _ in runtime.next_words(blank, 5)] == [w for w, _ in model.next_words(blank, 5)]
        # a trailing blank's word is followed by closing punctuation or nothing, never a comma or a dash
        assert not str(model.complete(prompt + " ___")).endswith((",", ";", ":", "-", "("))
        # a blank typed against the next word is spaced from it as from the word before
        glued = str(model.complete(prompt + " ___the car"))
        assert glued == str(model.complete(prompt + " ___ the car")) == str(runtime.complete(prompt + " ___the car"))
    # the case arises: the random tanh RNN and GRU rank punctuation among their first five (the LSTM does not)
    assert punctuation_first > 0 or model.settings.core.cell == "lstm"


def test_scores_equal_torchs(exported):
    model, _, runtime = exported
    sentences = TINY_LINES + prompts(60) + ["the unseenword car"]
    mine, theirs = runtime.score(sentences, tokens=True), model.score(sentences, tokens=True)
    for a, b in zip(mine, theirs):
        assert a["tokens"] == b["tokens"] and a["unknown"] == b["unknown"]
        close(a["surprisal_bits"], b["surprisal_bits"])
    close(mine.summary["perplexity"], theirs.summary["perplexity"])


def test_sampling_and_repetition_options_work_on_numpy(exported):
    model, _, runtime = exported
    sampled = dict(temperature=0.8, top_k=5, top_p=0.9, seed=3, stop=False)
    runs = {str(runtime.complete("mary rides", **sampled)) for _ in range(2)}
    assert len(runs) == 1  # seeded
    assert len({str(runtime.complete("mary rides", **dict(sampled, seed=s))) for s in range(8)}) > 1
    strict = dict(words=30, stop=False, no_repeat_ngram=2, repetition_penalty=1.5)
    assert str(runtime.complete("mary", **strict)) == str(model.complete("mary", **strict))


# ---------------------------------------------------------------------------------------------- series

@pytest.mark.parametrize("cell,bidirectional", [("rnn", False), ("gru", True), ("lstm", False)])
def test_series_graph_equals_torch_on_200_windows(tmp_path, cell, bidirectional):
    series = np.sin(np.arange(120) / 5.0) * 10 + np.arange(120) * 0.1
    f = Forecaster(window=8, horizon=3, hidden=12, cell=cell, bidirectional=bidirectional, epochs=1, seed=0,
                   device="cpu").fit(series.tolist())
    out = export(f.save(tmp_path / "model"), tmp_path / "onnx")
    runtime = load(out)
    x = np.random.default_rng(0).normal(size=(200, 8, runtime.inputs)).astype(np.float32)
    with torch.no_grad():
        expected = f.net.eval()(torch.from_numpy(x))[0].numpy()
    close(runtime.forecast_windows(x), expected)
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["kind"] == "series" and (out / "scaler.json").is_file()


# ---------------------------------------------------------------------------------------------- CLI

def test_export_cli_writes_a_self_contained_directory(tiny_model_dir, tmp_path):
    out = tmp_path / "exported"
    result = CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["format"] == "seqtext-onnx" and manifest["opset"] == 17
    assert set(manifest["versions"]) >= {"torch", "onnx", "onnxruntime", "seqtext"}
    assert {p.name for p in out.iterdir()} == {"export.json", "prefix.onnx", "step.onnx", "tokenizer.json",
                                               "model_config.json"}
    # what an export killed mid-way left beside its target an hour ago is cleared; a younger one (running) is not
    stale, running = tmp_path / ".exported.killed.tmp", tmp_path / ".exported.running.tmp"
    for leftover in (stale, running):
        leftover.mkdir()
        (leftover / "prefix.onnx").write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    again = CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", str(out)])  # an export: replaced
    assert again.exit_code == 0, again.output
    assert not stale.exists() and running.exists()


def test_a_directory_export_cannot_write_in_is_named_not_its_temporary_one(tiny_model_dir, tmp_path, monkeypatch):
    """The export is written beside --out first (/proc as root, a read-only directory otherwise): the refusal
    named a temporary directory the user never gave."""
    from seqtext.export import onnx

    def refused(out, made):  # the temporary directory, which cannot be made
        raise PermissionError(13, "Permission denied", str(tmp_path / ".out.x1y2.tmp"))

    monkeypatch.setattr(onnx, "_temporary", refused)
    result = CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", str(tmp_path / "out")])
    assert_clean_failure(result, f"cannot write in {tmp_path} (Permission denied); make --out a path in a directory "
                                 "you can write to.")
    assert ".tmp" not in result.output and not (tmp_path / "out").exists()
    with pytest.raises(CheckpointError, match="; make out a path in a directory you can write to[.]$"):
        onnx.export(tiny_model_dir, tmp_path / "out")  # in Python, the parameter


@pytest.mark.parametrize("case", ["not-a-model", "out-exists", "format"])
def test_export_bad_input(tiny_model_dir, tmp_path, case):
    out = tmp_path / "out"
    args = ["export", str(tiny_model_dir), "--out", str(out)]
    if case == "not-a-model":
        args[1] = str(tmp_path)
        fragment = "not a seqtext model directory"
    elif case == "out-exists":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        fragment = "not an exported model"
    else:
        args += ["--format", "tflite"]
        fragment = "--format must be one of onnx"
    assert_clean_failure(CliRunner().invoke(cli, args), fragment)
    assert case == "out-exists" or not out.exists()
    assert case != "out-exists" or [(p.name, p.read_text()) for p in out.iterdir()] == [("notes.txt", "mine")]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # nothing half-written


@pytest.fixture(scope="module")
def exported_tiny(tiny_model_dir, tmp_path_factory):
    return export(tiny_model_dir, tmp_path_factory.mktemp("tiny-onnx") / "onnx")


def test_every_continuation_leaves_the_end_of_a_sentence_free(exported_tiny, tiny_model, monkeypatch):
    """complete and stream, torch and exported: each repetition control they build frees </s> (without it,
    --no-stop wrote "his.." once a sentence had ended as another had)."""
    onnx, eos = load(exported_tiny), tiny_model.tokenizer.token_to_id("</s>")

    def run():
        for model in (tiny_model, onnx):
            model.complete("Mary", words=30, stop=False)
            "".join(model.stream("Mary", words=30, stop=False))

    assert free_tokens_of_continuations(monkeypatch, run) == [{eos}] * 4
    text = str(onnx.complete("Mary", words=60, stop=False))
    assert text == str(tiny_model.complete("Mary", words=60, stop=False)) and ".." not in text and ".," not in text


def test_writing_on_past_the_end_of_a_sentence_never_writes_an_empty_line(tiny_model_dir, tmp_path):
    """With stop=False, a model that would end one sentence after another (here, </s> made the likeliest token
    everywhere) writes a word between two ends, torch and exported alike: not empty lines up to the token bound."""
    model = TextModel.load(tiny_model_dir)
    eos = model.tokenizer.token_to_id("</s>")
    with torch.no_grad():
        model.net.head.bias[eos] += 50.0
    model.save(tmp_path / "ends")
    onnx = load(export(tmp_path / "ends", tmp_path / "onnx"))
    for options in (dict(), dict(no_repeat_ngram=None, repetition_penalty=None)):
        for prompt in ("Mary rides", "Mary rides .\n", "Mary rides .\n \t"):  # a prompt's line break counts too
            text = str(model.complete(prompt, words=6, stop=False, **options))
            assert text == str(onnx.complete(prompt, words=6, stop=False, **options))
            lines = text.split("\n")
            assert len(lines) == 7 and all(line.strip() for line in lines), text  # six words, each ending a line
            assert "".join(model.stream(prompt, words=6, stop=False, **options)) == text[len(prompt):]
    for runtime in (model, onnx):  # stopping at a sentence's end, a prompt's line break bars nothing: it stops there
        assert str(runtime.complete("Mary rides .\n", words=6)) == "Mary rides .\n"
    # a character model read a line at a time (sentence mode) too: one character between two ends, each a word
    chars = TextModel(tokenizer="char", mode="sentence", embed=8, hidden=16, epochs=1, seed=0, device="cpu")
    chars.fit(TINY_LINES)
    with torch.no_grad():
        chars.net.head.bias[chars.tokenizer.token_to_id("</s>")] += 50.0
    chars.save(tmp_path / "chars")
    onnx = load(export(tmp_path / "chars", tmp_path / "chars-onnx"))
    for prompt in ("Mary rides", "Mary rides .\n"):
        text = str(chars.complete(prompt, words=8, stop=False))
        assert text == str(onnx.complete(prompt, words=8, stop=False))
        lines = text[len(prompt):].strip("\n").split("\n")
        assert len(lines) == 8 and all(len(line.strip()) == 1 for line in lines), text
        assert str(chars.complete(prompt, words=8)) == str(onnx.complete(prompt, words=8)) == prompt


def test_complete_and_score_run_without_torch(exported_tiny, tiny_model, tiny_model_dir):
    prompt = "Mary rides the bicycle, the bicycle is ___"
    done = run_without_torch("complete", "--model", str(exported_tiny), prompt)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tiny_model.complete(prompt))
    scored = run_without_torch("score", "--model", str(exported_tiny), "--json", TINY_LINES[0])
    assert scored.returncode == 0, scored.stderr
    assert abs(json.loads(scored.stdout)["logprob"] - tiny_model.score(TINY_LINES[0])[0]["logprob"]) < 1e-3
    corpus = exported_tiny.parent / "lines.txt"
    corpus.write_text("\n".join(TINY_LINES) + "\n")
    # a torch model directory, and the commands that exports do not run: one sentence that says what to install
    for args in (("complete", "--model", tiny_model_dir, prompt), ("suggest", "--model", exported_tiny),
                 ("evaluate", "--model", exported_tiny, "--corpus", corpus)):
        refused = run_without_torch(*args, stdin="")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert refused.stderr.startswith("Error: this command needs torch, which cannot be imported here"), \
            refused.stderr
        assert "pip install torch" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    # a mistyped path, or a directory that holds no model, is named as such, not blamed on the missing torch
    for command in (("complete",), ("forecast", "predict"), ("classify", "predict"), ("tag", "predict")):
        for path, said in ((corpus.parent / "typo", "does not exist"), (corpus.parent, "config.json is missing")):
            refused = run_without_torch(*command, "--model", path, *(("hi",) if command[0] != "forecast" else ()))
            assert refused.returncode == 1 and said in refused.stderr and "torch" not in refused.stderr, \
                (command, refused.stderr)


def test_the_cli_imports_no_torch_onnxruntime_or_fastapi_for_help():
    code = ("import sys; from seqtext.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'onnxruntime', 'fastapi', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_complete_on_an_export_imports_only_what_its_first_word_needs(exported_tiny):
    """The cold start of `seqtext complete --model EXPORTED`: no torch, no option tables of other commands, no
    numpy.random for a greedy fill, and one onnxruntime session (step.onnx is not opened)."""
    code = ("import sys, runpy\n"
            "import onnxruntime as ort\n"
            "opened = []\n"
            "class Counted(ort.InferenceSession):\n"
            "    def __init__(self, path, *a, **k):\n"
            "        opened.append(path.rsplit('/', 1)[-1]); super().__init__(path, *a, **k)\n"
            "ort.InferenceSession = Counted\n"
            "sys.argv = ['seqtext', 'complete', '--model', sys.argv[1], 'Mary rides the bicycle, the bicycle is ___']\n"
            "try:\n    runpy.run_module('seqtext', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = ('torch', 'seqtext.config', 'seqtext.cli.options', 'seqtext.cli.text', 'seqtext.cli.series', "
            "'numpy.random', 'fastapi')\n"
            "print(opened, sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(exported_tiny)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "['prefix.onnx'] []", out.stdout


def test_export_out_paths_that_cannot_be_replaced_whole_are_refused(tiny_model_dir, tmp_path, monkeypatch):
    first = tmp_path / "first"
    assert CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", str(first)]).exit_code == 0
    before = sorted(p.name for p in first.iterdir())
    monkeypatch.chdir(first)  # --out . inside an earlier export would delete the directory the shell stands in
    assert_clean_failure(CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "."]),
                         ". holds the current directory, which an export would replace whole")
    monkeypatch.chdir(tmp_path)
    assert sorted(p.name for p in first.iterdir()) == before
    (tmp_path / "link").symlink_to("first")
    assert_clean_failure(CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "link"]),
                         "link is a symbolic link (to first); give the directory itself.")
    (tmp_path / "afile").write_text("mine")
    assert_clean_failure(CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "afile/sub"]),
                         "afile is a file, so afile/sub cannot be made in it")
    (first / "notes.txt").write_text("mine")  # an earlier export holding a user's file: not deleted with it
    assert_clean_failure(CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "first"]),
                         "first is an earlier export but also holds notes.txt, which exporting again would delete")
    (first / "notes.txt").unlink()
    (first / "predictions.json").write_text("{}")  # a .json the export did not write is the user's too
    assert_clean_failure(CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "first"]),
                         "first is an earlier export but also holds predictions.json, which exporting again would")
    (first / "predictions.json").unlink()
    again = CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "first"])  # an earlier export: replaced
    assert again.exit_code == 0 and "to first (" in again.output, again.output
    assert sorted(p.name for p in first.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "first", "link"]  # nothing left beside it
    (tmp_path / "deep" / "sub").mkdir(parents=True)
    (tmp_path / "far").symlink_to("deep/sub")  # far/.. is deep, as the system reads the path, not tmp_path
    through = CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", "far/../x"])
    assert through.exit_code == 0, through.output
    assert (tmp_path / "deep" / "x" / "export.json").is_file() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("edit, fragment", [
    (lambda m: m.pop("state"), "export.json or the model_config.json beside it is damaged (no 'state')"),
    (lambda m: m.update(hidden=99), "export.json does not match its graph (a state of"),
    (lambda m: m.update(pad_id=None), "export.json or the model_config.json beside it is damaged ("),
    (lambda m: m.update(export_version="x"), "export.json or the model_config.json beside it is damaged ("),
    (lambda m: m.update(graphs=list(m["graphs"].values())), "export.json is damaged (it names"),
    (lambda m: m["graphs"].update(prefix="../elsewhere/prefix.onnx"),
     "export.json is damaged (it names '../elsewhere/prefix.onnx' as one of its files)"),
    (lambda m: m.update(state=["h", "c"]), "export.json does not match its graph (the graph reads"),
    (lambda m: m["sizes"].update({"tokenizer.json": "1670"}),
     "export.json is damaged (the size of tokenizer.json is '"),
])
def test_a_damaged_export_manifest_is_one_sentence(exported_tiny, tmp_path, edit, fragment):
    broken = tmp_path / "broken"
    shutil.copytree(exported_tiny, broken)
    manifest = json.loads((broken / "export.json").read_text())
    edit(manifest)
    (broken / "export.json").write_text(json.dumps(manifest))
    assert_clean_failure(CliRunner().invoke(cli, ["complete", "--model", str(broken), "Mary"]), fragment,
                         "export the model again")


@pytest.mark.parametrize("name, damage, fragment", [
    ("step.onnx", lambda b: b[:1000], "broken/step.onnx is damaged (1000 bytes, not the"),  # never loaded to run
    ("tokenizer.json", lambda b: b"{", "broken/tokenizer.json is damaged (1 byte, not the"),
    ("prefix.onnx", lambda b: b[:20000] + bytes([b[20000] ^ 0x40]) + b[20001:],  # one byte changed, the size kept
     "broken/prefix.onnx is damaged (its content is not what export wrote)"),
    ("export.json", lambda b: b"{", "broken/export.json is damaged (not the JSON that seqtext export writes); delete"),
])
def test_a_truncated_or_overwritten_export_file_is_named(exported_tiny, tmp_path, name, damage, fragment):
    """export.json records each file's size and SHA-256: a file cut short (a copy that stopped), written over or
    changed in place is named, even the step graph that the runtime itself never loads; a damaged export.json is
    called damaged."""
    broken = tmp_path / "broken"
    shutil.copytree(exported_tiny, broken)
    (broken / name).write_bytes(damage((broken / name).read_bytes()))
    for command in (["complete", "--model", str(broken), "Mary"], ["score", "--model", str(broken), "Mary"]):
        assert_clean_failure(CliRunner().invoke(cli, command), fragment, "export the model again")
    if name == "export.json":  # serve says the same, before it starts
        assert_clean_failure(CliRunner().invoke(cli, ["serve", "--model", str(broken)]), fragment)


def test_an_export_without_its_model_config_is_refused(exported_tiny, tmp_path):
    """Without the settings an export would run on guessed ones (a character model as a word model)."""
    broken = tmp_path / "broken"
    shutil.copytree(exported_tiny, broken)
    (broken / "model_config.json").unlink()
    assert_clean_failure(CliRunner().invoke(cli, ["complete", "--model", str(broken), "Mary"]),
                         "broken/model_config.json is missing or damaged; export the model again.")


def test_sigterm_during_an_export_leaves_nothing_behind(tiny_model_dir, tmp_path):
    """A job runner's SIGTERM while the graphs are written: the half-written export is removed, as on Ctrl-C."""
    import signal

    out = tmp_path / "exported"
    proc = subprocess.Popen([sys.executable, "-m", "seqtext", "export", str(tiny_model_dir), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".exported.*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.fail(f"the export ended before its temporary directory was seen: {proc.stderr.read()[-500:]}")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())  # neither the export nor its temporary directory


def test_an_export_stopped_while_it_replaces_the_earlier_one_leaves_that_one(tiny_model_dir, tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM as the earlier export is moved aside, or after that and before the new one took its
    place: the earlier export is at --out, nothing is left beside it."""
    out = tmp_path / "out"
    assert CliRunner().invoke(cli, ["export", str(tiny_model_dir), "--out", str(out)]).exit_code == 0
    before = (out / "export.json").read_text()
    rename = Path.rename

    from seqtext.export.onnx import export

    for moving in ("the new one in", "the earlier one aside"):
        def stopped(self, target):
            if (Path(target) == out and self.name.endswith(".tmp")) if moving == "the new one in" else self == out:
                raise KeyboardInterrupt
            return rename(self, target)

        monkeypatch.setattr(Path, "rename", stopped)
        with pytest.raises(KeyboardInterrupt):
            export(tiny_model_dir, out)
        assert (out / "export.json").read_text() == before, moving
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], moving


def test_a_model_whose_weights_went_to_nan_is_not_exported(tiny_model_dir, tmp_path):
    """Its exports would answer NaN, blamed on the input: refused, naming the model, nothing written."""
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    weights = load_file(str(broken / "model.safetensors"))
    save_file({k: v.float().fill_(float("nan")) if v.is_floating_point() else v for k, v in weights.items()},
              str(broken / "model.safetensors"))
    result = CliRunner().invoke(cli, ["export", str(broken), "--out", str(tmp_path / "out")])
    assert_clean_failure(result, f"{broken} holds weights that are not all numbers", "retrain it", code=1)
    assert "Usage:" not in result.output  # the model's fault, not the command line's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken"]

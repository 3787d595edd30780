"""Suggestions while typing: the API, the state carried between keystrokes, and `seqtext suggest`
in both its modes (one prefix a line, and an interactive prompt driven through a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from seqtext.cli import cli
from seqtext.errors import ConfigError
from seqtext.text import suggest as suggest_module
from seqtext.text import tokenizer as tk
from seqtext.text.suggest import Suggester, suggester_for

from conftest import TINY_LINES, assert_clean_failure

TYPED = "Mary rides the bicy"


def fresh(model) -> Suggester:
    return Suggester(model.net, model.tokenizer, model.device, model.settings.text.mode == "stream")


def count_core_calls(model, monkeypatch) -> dict:
    """Count the recurrent core's calls: one-token steps and whole-sequence reads."""
    calls = {"step": 0, "forward": 0}
    core = model.net.core
    step, forward = core.step, core.forward

    def counted_step(*args, **kwargs):
        calls["step"] += 1
        return step(*args, **kwargs)

    def counted_forward(*args, **kwargs):
        calls["forward"] += 1
        return forward(*args, **kwargs)

    monkeypatch.setattr(core, "step", counted_step)
    monkeypatch.setattr(core, "forward", counted_forward)
    return calls


# ------------------------------------------------------------------ the API


def test_words_start_with_the_typed_part_sorted_by_probability(tiny_model):
    for text in ["Mary rides the b", "Mary r", "J", "Mary rides the bicycle, the bicycle is h"]:
        found = tiny_model.suggest(text, k=5)
        typed = text.split()[-1].lower()
        assert found, text
        assert all(word.startswith(typed) for word, _ in found), found
        probs = [p for _, p in found]
        assert probs == sorted(probs, reverse=True)
        assert all(0 < p <= 1 for p in probs)
    assert tiny_model.suggest(TYPED, 3)[0][0] == "bicycle"
    assert tiny_model.suggest("Mary rides the bicycle, the bicycle is ", 1)[0][0] == "hers"


def test_special_tokens_are_never_offered_and_k_bounds_the_list(tiny_model):
    vocab = tiny_model.tokenizer.get_vocab_size()
    every = tiny_model.suggest("Mary rides the bicycle, the bicycle is hers. ", k=vocab)
    words = [w for w, _ in every]
    assert not set(words) & set(tk.SPECIALS)
    assert len(words) == vocab - len(tk.SPECIALS)
    assert abs(sum(p for _, p in every) - 1) < 1e-4  # the distribution over words, specials removed
    assert len(tiny_model.suggest("Mary ", k=2)) == 2
    assert tiny_model.suggest("Mary rides the xyz", k=5) == []  # no word starts so


def test_after_a_finished_word_it_matches_next_words(tiny_model):
    prompt = "John drives the car, the car is"
    ours = tiny_model.suggest(prompt + " ", 4)
    theirs = tiny_model.next_words(prompt, 4)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert all(abs(a - b) < 1e-5 for (_, a), (_, b) in zip(ours, theirs))


def test_inside_a_word_the_probability_is_the_words_own_not_renormalised(tiny_model):
    after_space = dict(tiny_model.suggest("Mary rides the ", 50))
    for word, prob in tiny_model.suggest("Mary rides the b", 5):
        assert abs(prob - after_space[word]) < 1e-6
    # case and the typed letters do not matter beyond the prefix they give
    assert tiny_model.suggest("MARY RIDES THE BI", 3) == tiny_model.suggest("mary rides the bi", 3)


def test_typing_character_by_character_costs_one_core_step_per_token_completed(tiny_model, monkeypatch):
    calls = count_core_calls(tiny_model, monkeypatch)
    suggester = fresh(tiny_model)
    steps = []
    for end in range(1, len(TYPED) + 1):
        suggester.suggest(TYPED[:end], 5)
        steps.append(suggester.steps)
    # the first keystroke reads <s>; then each space closes one word (mary, rides, the), one step each;
    # the letters of a word cost nothing
    assert steps[0] == 1
    closed = [i for i, ch in enumerate(TYPED) if ch == " "]
    for i, count in enumerate(steps):
        assert count == 1 + sum(1 for c in closed if c <= i), (TYPED[: i + 1], count)
    assert suggester.steps == 1 + 3
    assert calls == {"step": 4, "forward": 0}  # the counter is honest: one fused core step each, no re-read


def test_backspace_and_edits_return_to_the_longest_cached_prefix(tiny_model):
    suggester = fresh(tiny_model)
    text = "Mary rides the bicycle, the bicycle is "
    first = suggester.suggest(text, 5)
    assert suggester.steps == 1 + 8  # <s>, then mary rides the bicycle , the bicycle is
    suggester.suggest(text[:-1], 5)  # backspace into "is": the state before "is" is cached
    suggester.suggest(text, 5)  # and "is" read again: one step
    assert suggester.steps == 10
    suggester.suggest(text, 5)  # the same text again: nothing to read
    assert suggester.steps == 10
    before = suggester.steps
    edited = suggester.suggest("Mary drives the ", 5)  # an edit near the start: mary is kept
    assert suggester.steps - before == 2  # drives, the
    assert edited == fresh(tiny_model).suggest("Mary drives the ", 5)
    assert suggester.suggest(text, 5) == first


def test_a_long_text_keeps_sparse_states_and_edits_far_back_stay_exact(tiny_model, monkeypatch):
    monkeypatch.setattr(suggest_module, "RECENT_STATES", 8)
    monkeypatch.setattr(suggest_module, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(suggest_module, "RECENT_LOGITS", 2)
    suggester = fresh(tiny_model)
    text = " ".join(TINY_LINES * 3) + " "
    suggester.suggest(text, 3)
    kept = sum(s is not None for s in suggester._states)
    assert kept < len(suggester._states) // 2
    assert sum(x is not None for x in suggester._logits) == 2
    cut = text.index("car", 40)  # an edit far back: re-read from the checkpoint before it
    before = suggester.steps
    edited = text[:cut] + "bicycle "
    got = suggester.suggest(edited, 3)
    n_tokens = 1 + len(tiny_model.tokenizer.encode(edited, add_special_tokens=False).ids)
    assert suggester.steps - before <= 4 + 1 < n_tokens
    assert got == fresh(tiny_model).suggest(edited, 3)


def test_the_api_keeps_its_state_between_calls_and_drops_it_when_the_weights_change(tiny_model):
    for end in range(1, len(TYPED) + 1):
        tiny_model.suggest(TYPED[:end])
    shared = suggester_for(tiny_model)
    assert shared.steps == 4
    tiny_model.suggest(TYPED + "cle is ")
    assert suggester_for(tiny_model) is shared and shared.steps == 6
    with torch.no_grad():
        tiny_model.net.embed.weight.mul_(1.0)  # an in-place change, as a training step makes
    assert suggester_for(tiny_model) is not shared


def test_repetition_control_applies(tiny_model):
    text = "Mary rides the bicycle, the bicycle is "
    plain = dict(tiny_model.suggest(text, 10))
    assert "bicycle" in plain
    banned = dict(tiny_model.suggest(text, 10, no_repeat_ngram=1))  # every token of the text is banned
    assert not {"mary", "rides", "the", "bicycle", ",", "is"} & set(banned)
    # a bigram "the bicycle" exists: after "the", "bicycle" would repeat it
    assert "bicycle" not in dict(tiny_model.suggest("Mary rides the bicycle, the ", 10, no_repeat_ngram=2))
    penalised = dict(tiny_model.suggest(text, 10, repetition_penalty=5.0))
    assert penalised.get("bicycle", 0) < plain["bicycle"]
    for bad in [{"no_repeat_ngram": 0}, {"no_repeat_ngram": -1}, {"repetition_penalty": 0},
                {"repetition_penalty": -2.0}, {"k": 0}]:
        with pytest.raises(ConfigError) as caught:
            tiny_model.suggest(text, **bad)
        assert str(caught.value).startswith(next(iter(bad))), str(caught.value)


def test_split_and_accept(tiny_model):
    s = fresh(tiny_model)
    assert s.split(TYPED) == ("Mary rides the ", "bicy")
    assert s.split("the bicycle,") == ("the bicycle,", "")
    assert s.split("the bicycle ") == ("the bicycle ", "")
    assert s.split("") == ("", "")
    assert s.accept(TYPED, "bicycle") == "Mary rides the bicycle "
    assert s.accept(TYPED, "bicycle", close=False) == "Mary rides the bicycle"
    assert s.accept("Mary rides the bicycle ", ",") == "Mary rides the bicycle,"  # no space before a comma
    assert s.accept("Mary rides the bicycle,", "the") == "Mary rides the bicycle, the "
    assert s.accept("Ma", "mary") == "Mary "  # the typed letters keep their case
    assert s.accept("", "i") == "I "


def test_a_bpe_model_offers_whole_words_spelled_from_its_pieces(tmp_path):
    from seqtext import TextModel

    model = TextModel(tokenizer="bpe", vocab_size=60, embed=16, hidden=64, epochs=60, lr=3e-3, batch_size=4, seed=0,
                      embed_dropout=0.0, output_dropout=0.0, lr_decay=1.0, patience=60, device="cpu",
                      valid_fraction=0.0).fit(TINY_LINES * 4)
    found = model.suggest("Mary rides the b", 5)
    assert found[0][0] == "bicycle" and all(w.startswith("b") and tk.WORD_END not in w for w, _ in found)
    # "drive" is spelled in pieces (no single token is the word): offered whole, from the typed "dr" on
    vocab = model.tokenizer.get_vocab()
    assert "drive" + tk.WORD_END not in vocab and "drive" in [w for w, _ in model.suggest("We dr", 3)]
    assert model.suggest("Mary rides the bicycle, the bicycle is ", 1)[0][0] == "hers"
    # a typed word that no piece starts with is read in pieces (m, then pieces starting with i), the same after
    # the cache held a longer text through those pieces, whose older distributions it no longer keeps
    from seqtext.text.suggest import Suggester, _typed_pieces, suggester_for

    typed = "Mary rides the bicycle, the bicycle is mi"
    head, rest = _typed_pieces(suggester_for(model), "mi")
    assert head and rest == "i"
    fresh = Suggester(model.net, model.tokenizer, model.device, False).suggest(typed, 3)
    model.suggest(typed[:-1] + "ine. " + "Mary rides the bicycle, the bicycle is mine. " * 3, 3)
    assert model.suggest(typed, 3) == fresh and fresh
    # the words offered with any weight are words of the text (single pieces such as "e" only far down)
    words = {w.strip(",.").lower() for line in TINY_LINES for w in line.split()} | {",", "."}
    offered = model.suggest("Mary rides the ", 10)
    assert [w for w, _ in offered[:2]] == ["bicycle", "car"] and all(0 < p <= 1 for _, p in offered)
    assert all(w in words for w, p in offered if p > 1e-4), offered
    # next_words after a prompt (complete --show, /v1/next-words) offers whole words too, never a first piece
    # ("b" of "bicycle"), and the export offers the same
    from seqtext.export.onnx import export
    from seqtext.export.runtime import load as load_export

    nexts = model.next_words("Mary rides the", 5)
    assert [w for w, _ in nexts[:2]] == ["bicycle", "car"] and all(w in words for w, p in nexts if p > 1e-4), nexts
    assert model.next_words("We", 1)[0][0] == "drive"  # no single piece is the word: spelled on from its first
    onnx = load_export(export(model.save(tmp_path / "m"), tmp_path / "onnx"))
    for prompt in ("Mary rides the", "We drive the car, the car is", "John"):
        mine, theirs = onnx.next_words(prompt, 5), model.next_words(prompt, 5)
        assert [w for w, _ in mine] == [w for w, _ in theirs]
        np.testing.assert_allclose([p for _, p in mine], [p for _, p in theirs], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ the command, not in a terminal


def run(args, input=None):
    return CliRunner().invoke(cli, args, input=input)


def test_one_prefix_a_line_plain_and_json(tiny_model_dir):
    result = run(["suggest", "--model", str(tiny_model_dir), "-k", "2"], input=f"{TYPED}\nMary \n")
    assert result.exit_code == 0, result.output
    blocks = result.output.split("\n\n")
    first = [line.split("\t") for line in blocks[0].splitlines()]
    assert first[0][0] == "bicycle" and 0 < float(first[0][1]) <= 1
    assert {w for w, _ in (line.split("\t") for line in blocks[1].splitlines())} == {"drives", "rides"}

    result = run(["suggest", "--model", str(tiny_model_dir), "--json", "--k", "3", "--stats"],
                 input=f"M\nMa\nMar\nMary\nMary \n{TYPED}\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [r["prefix"] for r in rows] == ["M", "Ma", "Mar", "Mary", "Mary ", TYPED]
    assert rows[-1]["suggestions"][0]["word"] == "bicycle"
    assert set(rows[-1]["suggestions"][0]) == {"word", "probability"}
    assert "6 lookups, 4 core steps" in result.output  # the state is carried from line to line


def test_the_count_is_spelled_show_as_complete_spells_it_and_k_still_works(tiny_model_dir):
    outputs = set()
    for spelling in ("--show", "-k", "--k"):
        result = run(["suggest", "--model", str(tiny_model_dir), spelling, "2"], input="Mary \n")
        assert result.exit_code == 0, result.output
        assert len(result.output.split("\n\n")[0].splitlines()) == 2
        outputs.add(result.output)
    assert len(outputs) == 1
    result = run(["suggest", "--model", str(tiny_model_dir), "--show", "0"], input="Mary \n")
    assert result.exit_code == 2 and "--show" in result.output


def test_repetition_options_on_the_command(tiny_model_dir):
    args = ["suggest", "--model", str(tiny_model_dir), "--json", "--no-repeat-ngram", "1",
            "--repetition-penalty", "1.5"]
    result = run(args, input="Mary rides the bicycle, the bicycle is \n")
    assert result.exit_code == 0, result.output
    words = [s["word"] for s in json.loads(result.output)["suggestions"]]
    assert "bicycle" not in words and "is" not in words


@pytest.mark.parametrize("option, value, fragment", [
    ("--no-repeat-ngram", "0", "--no-repeat-ngram must be a whole number of at least 1"),
    ("--no-repeat-ngram", "-2", "--no-repeat-ngram must be a whole number of at least 1"),
    ("--repetition-penalty", "0", "--repetition-penalty must be a number from 0.001 to 1000"),
    ("--repetition-penalty", "1e-40", "--repetition-penalty must be a number from 0.001 to 1000, got 1e-40"),
    ("--repetition-penalty", "-1", "--repetition-penalty must be a number from 0.001 to 1000"),
])
def test_bad_repetition_options_fail_in_one_sentence_before_the_model_is_read(tmp_path, option, value, fragment):
    result = run(["suggest", "--model", str(tmp_path / "missing"), option, value], input="Mary\n")
    assert_clean_failure(result, fragment)


def test_the_cli_start_does_not_import_prompt_toolkit_or_torch():
    code = "import sys, seqtext.cli; print([m for m in ('prompt_toolkit', 'torch') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ the interactive prompt, through a pty


class Terminal:
    """`seqtext suggest` in a pseudo-terminal, with a way to wait for its redraw after a key."""

    def __init__(self, pexpect, model_dir):
        env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", PYTHONUTF8="1")
        self.pexpect = pexpect
        self.child = pexpect.spawn(sys.executable, ["-m", "seqtext", "suggest", "--model", str(model_dir),
                                                    "--stats"], env=env, dimensions=(24, 100),
                                   encoding="utf-8", timeout=60)
        self.child.delaybeforesend = None

    def settle(self, quiet: float = 0.15) -> str:
        """Everything written until the screen has been quiet for ``quiet`` seconds."""
        out = ""
        while True:
            try:
                out += self.child.read_nonblocking(65536, timeout=quiet)
            except self.pexpect.TIMEOUT:
                return out

    def type(self, text: str) -> str:
        out = ""
        for ch in text:  # one key at a time, each redrawn before the next
            self.child.send(ch)
            out += self.settle()
        return out

    def finish(self) -> tuple[int, str]:
        self.child.expect(self.pexpect.EOF)
        rest = self.child.before
        self.child.close()
        return self.child.exitstatus, rest


@pytest.fixture
def pexpect():
    if os.name != "posix":
        pytest.skip("pseudo-terminals are POSIX")
    return pytest.importorskip("pexpect")


def test_interactive_prompt_suggests_accepts_with_tab_and_quits_on_ctrl_d(pexpect, tiny_model_dir):
    from seqtext import load

    second = [w for w, _ in load(tiny_model_dir).suggest("Mary ", 5)][1]
    term = Terminal(pexpect, tiny_model_dir)
    term.child.expect("mary")  # the first words of a sentence, shown before any key
    term.settle()
    shown = term.type(TYPED)
    assert "bicycle" in shown  # the menu under the cursor
    term.child.send("\t")  # Tab accepts the likeliest: "bicycle", and a space
    after_tab = term.settle()
    assert "cle" in after_tab and "," in after_tab  # the word is finished; the menu has moved to the next word
    term.child.send("\r")  # Enter prints the line and starts a new one
    term.child.expect("Mary rides the bicycle \r\n")
    term.settle()
    term.type("Mary ")
    term.child.send("\x1b[B")  # the arrow keys choose in the menu ...
    term.settle()
    term.child.send("\x1b[B")
    term.settle()
    term.child.send("\t")  # ... and Tab accepts the chosen word
    term.settle()
    term.child.send("\r")
    term.child.expect(f"Mary {second} \r\n")
    term.settle()
    term.child.sendcontrol("d")
    status, rest = term.finish()
    assert status == 0, rest
    assert "Traceback" not in rest
    # core steps: <s> mary rides the bicycle (5); line 2 from the cached <s>: mary, then the accepted word (2)
    assert " 7 core steps" in rest, rest
    lookups = int(re.search(r"(\d+) lookups", rest).group(1))
    assert lookups >= len(TYPED) + len("Mary ") + 2  # at least one per key typed, each from the carried state


def test_interactive_prompt_quits_quietly_on_ctrl_c_and_on_ctrl_d_with_text(pexpect, tiny_model_dir):
    for key in ("c", "d"):
        term = Terminal(pexpect, tiny_model_dir)
        term.child.expect("mary")
        term.settle()
        term.type("Mary ri")
        term.child.sendcontrol(key)
        start = time.monotonic()
        status, rest = term.finish()
        assert status == 0 and "Traceback" not in rest and "Aborted" not in rest, rest
        assert time.monotonic() - start < 30


def test_a_byte_order_mark_is_no_part_of_a_piped_prefix(tiny_model_dir):
    plain = run(["suggest", "--model", str(tiny_model_dir), "-k", "2", "--json"], input=b"Mary \nMary \n")
    marked = run(["suggest", "--model", str(tiny_model_dir), "-k", "2", "--json"], input=b"\xef\xbb\xbfMary \nMary \n")
    assert marked.exit_code == 0, marked.output
    rows = [json.loads(line) for line in marked.stdout.splitlines()]
    assert [r["prefix"] for r in rows] == ["Mary ", "Mary "] and rows[0] == rows[1]
    assert marked.stdout == plain.stdout


def test_a_dumb_terminal_reads_one_prefix_a_line_with_a_note(pexpect, tiny_model_dir):
    env = dict(os.environ, TERM="dumb", PYTHONUTF8="1")
    child = pexpect.spawn(sys.executable, ["-m", "seqtext", "suggest", "--model", str(tiny_model_dir), "-k", "2"],
                          env=env, dimensions=(24, 100), encoding="utf-8", timeout=20)
    child.expect("TERM=dumb")  # the note, on stderr, says why there is no menu
    child.sendline("Mary ")
    child.expect(r"(drives|rides)\t0\.\d{6}\r\n(drives|rides)\t0\.\d{6}\r\n\r\n")  # the plain one-a-line answer
    assert {child.match.group(1), child.match.group(2)} == {"drives", "rides"}
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Traceback" not in child.before

"""The package's shape: no import cycle, each module importable alone, the model-directory module a leaf,
and the option table generated from one declaration (one CLI option and one config key per field)."""

import ast
import importlib
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from seqtext.cli import cli
from seqtext.cli.options import flag, help_text
from seqtext.config import SeriesSettings, TextSettings

PACKAGE = Path(__file__).resolve().parents[1] / "seqtext"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the seqtext modules it imports (anywhere in the file, function bodies included)."""
    mods = modules()

    def resolve(name):
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in mods.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.startswith("seqtext")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqtext"):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    targets.add(sub if sub in mods else resolve(node.module))
        if not path.name == "__init__.py":  # package files only re-export
            graph[name] = {t for t in targets if t and t != name and t in mods}
    return graph


def test_no_import_cycle_between_modules():
    graph = import_graph()
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_model_directory_module_is_a_leaf():
    assert import_graph()["seqtext.modeldir"] <= {"seqtext.errors"}


def test_tasks_do_not_import_each_other_or_the_cli():
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("seqtext.text."):
            assert not any(t.startswith(("seqtext.series", "seqtext.cli")) for t in targets), name
        if name.startswith("seqtext.series."):
            assert not any(t.startswith(("seqtext.text", "seqtext.cli")) for t in targets), name
        if not name.startswith(("seqtext.cli", "seqtext.__main__")):
            assert not any(t.startswith("seqtext.cli") for t in targets), f"{name} imports the CLI"


# each module imported in a child forked from a process that has imported torch and numpy but no seqtext module
# (a fresh interpreter per module spent most of its time importing torch again)
IMPORT_EACH = """
import importlib, json, os, signal, sys, traceback
import numpy, torch
assert not any(name.split(".")[0] == "seqtext" for name in sys.modules)
for name in json.loads(sys.argv[1]):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        signal.alarm(120)  # a child stuck on a lock another thread held at the fork ends, and is named
        try:
            importlib.import_module(name)
        except BaseException:
            print(json.dumps([name, traceback.format_exc().strip().splitlines()[-1]]), flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        print(json.dumps([name, "exit status " + str(status)]), flush=True)
"""


def test_every_module_imports_alone():
    names = sorted(n for n in modules() if n != "seqtext.__main__")
    proc = subprocess.run([sys.executable, "-c", IMPORT_EACH, json.dumps(names)], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=60 + 120 * len(names))  # each stuck child named
    assert proc.returncode == 0, proc.stderr
    failed = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("[")]
    assert not failed, failed
    assert len(names) > 100  # the package's modules were found


def test_every_public_name_resolves_to_the_object_its_module_defines():
    import seqtext
    from seqtext.errors import SeqtextWarning

    for name in seqtext.__all__:
        if name != "__version__":
            assert getattr(seqtext, name) is getattr(importlib.import_module(seqtext._EXPORTS[name]), name), name
    assert seqtext.SeqtextWarning is SeqtextWarning  # what a user filters or catches the toolkit's warnings by
    assert issubclass(seqtext.SeqtextWarning, UserWarning)


def test_the_library_never_imports_click_and_the_cli_start_stays_light():
    code = ("import sys, seqtext, seqtext.cli; "
            "heavy = [m for m in ('torch', 'datasets', 'tokenizers', 'numpy', 'matplotlib') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for name in import_graph():
        if not name.startswith(("seqtext.cli", "seqtext.__main__")):
            source = modules()[name].read_text(encoding="utf-8")
            assert "import click" not in source, name


# ------------------------------------------------------------------ the option table

COMMANDS = {TextSettings: ["train"], SeriesSettings: ["forecast", "train"]}


def command_for(settings) -> click.Command:
    command = cli
    for name in COMMANDS[settings]:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("settings", [TextSettings, SeriesSettings])
def test_every_option_field_has_exactly_one_generated_cli_option(settings):
    command = command_for(settings)
    by_name = {}
    for param in command.params:
        by_name.setdefault(param.name, []).append(param)
    defaults = settings.defaults()
    for _, fld in settings.fields():
        params = by_name.get(fld.name, [])
        assert len(params) == 1, f"{fld.name}: {len(params)} options"
        param = params[0]
        assert flag(fld.name) in param.opts
        if isinstance(defaults[fld.name], bool):
            assert param.secondary_opts == [f"--no-{flag(fld.name)[2:]}"]
        assert param.help == help_text(fld) and "{" not in param.help
        assert param.default == defaults[fld.name]
    flat = {opt for p in command.params for opt in p.opts}
    assert len(flat) == sum(len(p.opts) for p in command.params)  # no flag declared twice


@pytest.mark.parametrize("settings", [TextSettings, SeriesSettings])
def test_help_shows_every_default(settings):
    out = CliRunner().invoke(cli, [*COMMANDS[settings], "--help"], terminal_width=400).output
    lines, current = {}, None
    for line in out.splitlines():  # one entry per option, its wrapped help lines joined
        if line.startswith("  --"):
            current = line.split()[0]
            lines[current] = line
        elif current is not None:
            lines[current] += " " + line.strip()
    for name, value in settings.defaults().items():
        if value is None or value == []:
            continue
        shown = flag(name)[2:] if value is True else f"no-{flag(name)[2:]}" if value is False else str(value)
        assert f"[default: {shown}" in lines[flag(name)], name


@pytest.mark.parametrize("settings", [TextSettings, SeriesSettings])
def test_every_field_is_a_config_file_key(settings, tmp_path):
    from seqtext.optionfiles import read_options_file

    lines = []
    for name, value in settings.defaults().items():
        if value is None:
            continue
        toml = ("true" if value else "false") if isinstance(value, bool) else repr(value)
        lines.append(f"{name.replace('_', '-')} = {toml}")
    file = tmp_path / "all.toml"
    file.write_text("\n".join(lines) + "\n")
    options = read_options_file(file)
    rebuilt = settings(**options)
    assert rebuilt.flat() == {**settings.defaults(), **options}


@pytest.mark.parametrize("settings", [TextSettings, SeriesSettings])
def test_each_rule_refuses_a_bad_value_in_python_naming_the_parameter(settings):
    from seqtext.errors import ConfigError

    bad = {"int": 0.5, "float": float("nan"), "bool": "yes", "choice": "nonsense", "ints": [3, 2],
           "strs": ["a", "a"], "str": "", "device": "tpu", "column": 1.5, "int_or_auto": 0,
           "parts": ["month", "week"]}
    for _, fld in settings.fields():
        with pytest.raises(ConfigError) as caught:
            settings(**{fld.name: bad[fld.metadata["rule"].kind]})
        assert str(caught.value).startswith(fld.name), str(caught.value)
        assert caught.value.render(flag).startswith(flag(fld.name))


def test_unknown_options_are_refused_by_name():
    from seqtext import Forecaster, TextModel
    from seqtext.errors import ConfigError

    with pytest.raises(ConfigError, match="text model has no option 'hiden'"):
        TextModel(hiden=3)
    with pytest.raises(ConfigError, match="series model has no option 'windw'"):
        Forecaster(windw=3)


def test_per_task_defaults_are_declared_once_each():
    assert TextSettings.defaults()["hidden"] == 384 and SeriesSettings.defaults()["hidden"] == 32
    assert TextSettings.defaults()["epochs"] == 40 and SeriesSettings.defaults()["epochs"] == 300
    shared = {f.name for _, f in TextSettings.fields()} & {f.name for _, f in SeriesSettings.fields()}
    text_fields = dict((f.name, f) for _, f in TextSettings.fields())
    series_fields = dict((f.name, f) for _, f in SeriesSettings.fields())
    for name in shared:  # one declaration: the same help and rule for both tasks
        assert text_fields[name].metadata["help"] == series_fields[name].metadata["help"]
        assert text_fields[name].metadata["rule"] == series_fields[name].metadata["rule"]
    assert {"core", "train"} <= set(TextSettings.SECTIONS) & set(SeriesSettings.SECTIONS)
    assert all(dataclasses.is_dataclass(s) for s in TextSettings.SECTIONS.values())


def test_a_validation_file_is_given_the_same_way_to_every_command_that_reads_one(tmp_path):
    """``--valid`` and ``--dev`` name the same option in ``train``, ``classify train`` and ``tag train``: a user of
    one command need not learn another's spelling."""
    from click.testing import CliRunner

    from seqtext.cli import cli

    for path in (["train"], ["classify", "train"], ["tag", "train"]):
        command = cli
        for name in path:
            command = command.commands[name]
        option = next(p for p in command.params if "--valid" in p.opts)
        assert set(option.opts) == {"--valid", "--dev"}, path
    # train --dev reads its file as --valid does: a missing one is named, and nothing is written
    corpus = tmp_path / "c.txt"
    corpus.write_text("we ride the bus .\nthey ride the car .\n" * 20)
    result = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--dev", str(tmp_path / "absent.txt"),
                                      "--out", str(tmp_path / "m"), "--epochs", "1", "--quiet"])
    assert result.exit_code != 0 and "absent.txt" in result.output and not (tmp_path / "m").exists()

"""--config files and config.json replay; errors that name parameters in Python and flags on the command line."""

import json

import pytest
from click.testing import CliRunner

from conftest import TINY_LINES, assert_clean_failure, write_corpus
from seqtext import TextModel
from seqtext.cli import cli
from seqtext.errors import ConfigError, DataError

SMALL = ["--embed", "8", "--hidden", "16", "--epochs", "2", "--quiet", "--device", "cpu"]


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "c.txt", TINY_LINES * 5)


def sections(path):
    config = json.loads((path / "config.json").read_text())
    return {k: v for k, v in config.items() if k not in ("summary",)}


def test_config_json_replays_the_same_settings(corpus, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(first), *SMALL, "--cell", "gru",
                                 "--layers", "2", "--dropout", "0.2", "--tie-weights", "--lr", "0.004"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["train", "--config", str(first / "config.json"), "--corpus", str(corpus),
                                 "--out", str(second)])
    assert r.exit_code == 0, r.output
    assert sections(first) == sections(second)
    # the same run: the same weights give the same validation figures
    a, b = (json.loads((p / "config.json").read_text())["summary"] for p in (first, second))
    assert a["valid_loss"] == b["valid_loss"]


def test_command_line_wins_over_a_replayed_config(corpus, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(first), *SMALL]).exit_code == 0
    r = CliRunner().invoke(cli, ["train", "--config", str(first), "--corpus", str(corpus), "--out", str(second),
                                 "--hidden", "24"])
    assert r.exit_code == 0, r.output
    b = json.loads((second / "config.json").read_text())
    assert b["core"]["hidden"] == 24 and b["text"]["embed"] == 8  # the rest as recorded


def test_a_format_1_config_json_replays_with_migrated_names(corpus, tmp_path):
    from pathlib import Path

    old = Path(__file__).parent / "fixtures" / "text-v1"
    r = CliRunner().invoke(cli, ["train", "--config", str(old / "config.json"), "--corpus", str(corpus),
                                 "--out", str(tmp_path / "m"), "--epochs", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    new = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (new["core"]["hidden"], new["core"]["layers"], new["core"]["cell"], new["text"]["embed"]) == \
        (16, 2, "gru", 8)


def test_a_config_json_whose_kind_is_no_name_is_refused(corpus, tmp_path):
    """A kind that is a list or an object (a hand-edited config.json) was a TypeError (unhashable type)."""
    file = tmp_path / "config.json"
    file.write_text(json.dumps({"format_version": 1, "kind": ["text"], "core": {"hidden": 3}}))
    r = CliRunner().invoke(cli, ["train", "--config", str(file), "--corpus", str(corpus),
                                 "--out", str(tmp_path / "m")])
    assert_clean_failure(r, "has a kind ['text'], which names no kind of model", code=2)
    assert not (tmp_path / "m").exists()


def test_a_newer_config_json_is_refused(corpus, tmp_path):
    file = tmp_path / "config.json"
    file.write_text(json.dumps({"format_version": 99, "kind": "text", "core": {"hidden": 3}}))
    r = CliRunner().invoke(cli, ["train", "--config", str(file), "--corpus", str(corpus),
                                 "--out", str(tmp_path / "m")])
    assert_clean_failure(r, "newer seqtext", "format 99", code=2)
    assert not (tmp_path / "m").exists()


def test_a_series_config_json_is_refused_by_train(corpus, tmp_path):
    file = tmp_path / "config.json"
    file.write_text(json.dumps({"format_version": 2, "kind": "series", "series": {"window": 3}}))
    r = CliRunner().invoke(cli, ["train", "--config", str(file), "--corpus", str(corpus),
                                 "--out", str(tmp_path / "m")])
    assert_clean_failure(r, "series model", "not a text model", code=2)


@pytest.mark.parametrize("content,fragments", [
    ("hiden = 3\n", ["unknown option 'hiden'"]),
    ('hidden = "big"\n', ["hidden must be a whole number", "'big'"]),
    ("hidden = 12.5\n", ["hidden must be a whole number"]),
    ("dropout = 1.5\n", ["dropout must be a number in [0, 1)"]),
    ('cell = "transformer"\n', ["cell must be one of rnn, gru, lstm"]),
    ('tie-weights = "yes"\n', ["tie_weights must be true or false"]),
    ("hidden = \n", ["not valid TOML"]),
    ("[core]\nhidden = 16\n", ["has a [core] section, but a --config file lists the options flat"]),
    ("corpus = 5\n", ["corpus must be a path or a list of paths, got 5."]),
    ('valid = ["a.txt", "b.txt"]\n', ["valid takes one value, got ['a.txt', 'b.txt']; give it one."]),
    ('quiet = "maybe"\n', ["quiet must be true or false, got 'maybe'."]),  # read as true before
    ("out = 5\n", ["out must be a path (a string), got 5."]),
    ("batch-size = 4\nbatch_size = 8\n", ["sets batch_size twice ('batch-size' and 'batch_size'); keep one."]),
])
def test_bad_toml_files_are_one_sentence_and_write_nothing(corpus, tmp_path, content, fragments):
    file = tmp_path / "bad.toml"
    file.write_text(content)
    r = CliRunner().invoke(cli, ["train", "--config", str(file), "--corpus", str(corpus),
                                 "--out", str(tmp_path / "m")])
    assert_clean_failure(r, str(file), *fragments, code=2)
    assert not (tmp_path / "m").exists()


def test_a_config_file_sets_a_commands_own_options_by_any_of_their_names(corpus, tmp_path):
    """A number of the command's own (forecast train's holdout) is read by its option's rule; a validation file
    may be written dev or valid, as on the command line, once."""
    import json

    from conftest import CORPORA

    series = tmp_path / "fc.toml"
    series.write_text("holdout = 12\nepochs = 1\nhidden = 4\nquiet = true\n")
    airline = ["forecast", "train", "--csv", str(CORPORA / "series" / "airline.csv"), "--date", "month"]
    r = CliRunner().invoke(cli, [*airline, "--config", str(series), "--out", str(tmp_path / "f")])
    assert r.exit_code == 0, r.output
    series.write_text("holdout = -3\n")
    r = CliRunner().invoke(cli, [*airline, "--config", str(series), "--out", str(tmp_path / "g")])
    assert_clean_failure(r, "holdout: -3 is not in the range x>=0", code=2)
    for value in ("12.7", "true", '"12"'):  # no count, as a declared option's rule says too
        series.write_text(f"holdout = {value}\n")
        r = CliRunner().invoke(cli, [*airline, "--config", str(series), "--out", str(tmp_path / "g")])
        assert_clean_failure(r, "holdout must be a whole number, got ", code=2)
    valid = tmp_path / "v.txt"
    valid.write_text("Mary rides the bicycle.\n")
    aliased = tmp_path / "d.toml"
    aliased.write_text(f'dev = "{valid}"\nepochs = 1\nhidden = 8\nembed = 8\nquiet = true\n')
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--config", str(aliased),
                                 "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["data"]["valid"] == [str(valid.resolve())]
    aliased.write_text(f'dev = "{valid}"\nvalid = "{valid}"\n')
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--config", str(aliased),
                                 "--out", str(tmp_path / "n")])
    assert_clean_failure(r, "sets valid twice (valid and dev); keep one.", code=2)


def test_a_directory_without_a_config_is_named_as_a_directory(corpus, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    r = CliRunner().invoke(cli, ["train", "--config", str(folder), "--corpus", str(corpus),
                                 "--out", str(tmp_path / "m")])
    assert_clean_failure(r, f"{folder} is a directory without a config.json; give a TOML or JSON file, or a model "
                            "directory.", code=2)


@pytest.mark.parametrize("name,content,fragments", [
    ("c.yaml", "hidden: 8\n", ["is YAML, which seqtext does not read", "TOML (.toml) or JSON"]),
    ("c.yml", "hidden: 8\n", ["is YAML"]),
    ("c.json", "{hidden: 8}", ["is not valid JSON ("]),
    ("c.cfg", "hidden = 8\n", ["is not valid JSON (a file not ending in .toml is read as JSON)"]),
])
def test_config_files_of_other_forms_say_what_is_read(corpus, tmp_path, name, content, fragments):
    file = tmp_path / name
    file.write_text(content)
    r = CliRunner().invoke(cli, ["train", "--config", str(file), "--corpus", str(corpus), "--out", str(tmp_path / "m")])
    assert_clean_failure(r, str(file), *fragments, code=2)
    assert not (tmp_path / "m").exists()
    file.write_text('{"hidden": 8, "epochs": 1, "embed": 8, "quiet": true}')  # JSON under any name but .yaml/.toml
    r = CliRunner().invoke(cli, ["train", "--config", str(file), "--corpus", str(corpus), "--out", str(tmp_path / "m")])
    assert (r.exit_code == 0) == name.endswith((".json", ".cfg")), r.output


def test_resume_of_a_series_model_with_train_is_refused(corpus, tmp_path):
    from pathlib import Path

    series = Path(__file__).parent / "fixtures" / "series-v1"
    before = sorted(p.name for p in series.iterdir())
    r = CliRunner().invoke(cli, ["train", "--resume", str(series), "--corpus", str(corpus)])
    assert_clean_failure(r, "series model", "not a text model", "forecast train --resume")
    assert sorted(p.name for p in series.iterdir()) == before


def test_resume_of_a_text_model_with_forecast_train_is_refused(corpus, tmp_path):
    out = tmp_path / "m"
    assert CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(out), *SMALL]).exit_code == 0
    before = (out / "model.safetensors").read_bytes()
    csv = tmp_path / "s.csv"
    csv.write_text("value\n" + "\n".join(str(i % 7) for i in range(60)) + "\n")
    r = CliRunner().invoke(cli, ["forecast", "train", "--resume", str(out), "--csv", str(csv)])
    assert_clean_failure(r, "text model", "not a series model")
    assert (out / "model.safetensors").read_bytes() == before


# ------------------------------------------------------- parameters in Python, flags on the command line

def test_api_errors_name_parameters_and_the_cli_names_flags(corpus, tmp_path):
    with pytest.raises(ConfigError) as caught:
        TextModel(softmax="adaptive", tie_weights=True)
    assert "tie_weights" in str(caught.value) and "--tie-weights" not in str(caught.value)
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "m"),
                                 "--softmax", "adaptive", "--tie-weights"])
    assert_clean_failure(r, "--tie-weights", "--softmax", code=2)

    with pytest.raises(ConfigError) as caught:
        TextModel(cutoffs=[5], softmax="full")
    assert str(caught.value).startswith("cutoffs apply") and "--cutoffs" not in str(caught.value)

    # an error found only once the data is read (the vocabulary is smaller than the cutoffs)
    with pytest.raises(ConfigError) as caught:
        TextModel(softmax="adaptive", cutoffs=[500], epochs=1).fit(TINY_LINES)
    assert "cutoffs" in str(caught.value) and "--" not in str(caught.value)
    r = CliRunner().invoke(cli, ["train", "--corpus", str(corpus), "--out", str(tmp_path / "m2"),
                                 "--softmax", "adaptive", "--cutoffs", "500", "--epochs", "1"])
    assert_clean_failure(r, "--cutoffs", code=2)
    assert not (tmp_path / "m2").exists()


def test_api_sampling_errors_name_parameters(tiny_model):
    with pytest.raises(ConfigError, match=r"^top_k must be"):
        tiny_model.complete("Mary", top_k=0)
    with pytest.raises(ConfigError, match=r"^words must be"):
        tiny_model.complete("Mary", words=0)
    with pytest.raises(DataError, match="prompt is empty"):
        tiny_model.complete("  ")


def test_a_config_file_with_a_byte_order_mark_and_windows_line_ends_reads(tmp_path):
    from seqtext.optionfiles import read_options_file

    notepad = tmp_path / "NOTEPAD.TOML"
    notepad.write_bytes(b"\xef\xbb\xbfhidden = 8\r\nepochs = 1\r\n")
    assert read_options_file(notepad) == {"hidden": 8, "epochs": 1}

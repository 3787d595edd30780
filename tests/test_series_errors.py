"""Errors name what the caller wrote: Python parameters from the API (``window``), flags from the CLI (``--window``)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from seqtext.cli import cli
from seqtext.errors import ConfigError, DataError
from seqtext.series import Forecaster

from conftest import assert_clean_failure

TINY = dict(hidden=4, epochs=2, device="cpu")


def run(*args):
    return CliRunner().invoke(cli, ["forecast", *map(str, args)])


def write(path, header, rows):
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def no_flags(exc) -> str:
    message = str(exc)
    assert "--" not in message and "\n" not in message, message
    return message


# ------------------------------------------------------------------------------- options


def test_an_option_out_of_range_names_the_parameter():
    with pytest.raises(ConfigError) as info:
        Forecaster(window=0)
    assert no_flags(info.value).startswith("window must be a whole number of at least 1")


def test_the_same_option_on_the_command_line_is_refused_by_click(tmp_path):
    csv = write(tmp_path / "s.csv", "v", [str(i % 7) for i in range(40)])
    out = tmp_path / "m"
    result = run("train", "--csv", csv, "--out", out, "--window", "0")
    assert_clean_failure(result, "Invalid value for '--window'", code=2)
    assert not out.exists()


# ---------------------------------------------------------------------------- at fit time


@pytest.mark.parametrize(
    "data,options,fit,api,flags",
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], dict(window=6), {},
         "fewer than window + horizon = 7; give a longer series or a shorter window or horizon.",
         "fewer than --window + --horizon = 7; give a longer series or a shorter --window or --horizon."),
        ({"v": [1.0, 2.0, float("nan"), 4.0] * 5}, dict(window=3), dict(target="v"),
         "turn on fill to interpolate gaps.", "turn on --fill to interpolate gaps."),
        ({"v": [3.0, 2.0, 0.0, 4.0] * 5}, dict(window=3, log=True), dict(target="v"),
         "turn off log or shift the series above zero.", "turn off --log or shift the series above zero."),
        ({"v": list(range(20)), "w": list(range(20))}, dict(window=3), {},
         "name the one to forecast with target.", "name the one to forecast with --target."),
        ({"v": list(range(20))}, dict(window=3), dict(target="x"),
         "check target, features and date.", "check --target, --features and --date."),
        ({"v": list(range(20))}, dict(window=3), dict(target="v", holdout=20),
         "holdout 20 leaves nothing to train on", "--holdout 20 leaves nothing to train on"),
        ({"v": list(range(20))}, dict(window=4, valid_fraction=0.9), dict(target="v"),
         "set valid_fraction to 0 or use a shorter window.", "set --valid-fraction to 0 or use a shorter --window."),
    ],
)
def test_data_errors_name_parameters_in_python_and_flags_on_the_command_line(tmp_path, data, options, fit, api,
                                                                           flags):
    with pytest.raises((DataError, ConfigError)) as info:
        Forecaster(**options, **TINY).fit(data, **fit)
    assert api in no_flags(info.value)

    columns = data if isinstance(data, dict) else {"v": data}
    names = list(columns)
    rows = [",".join(str(c[i]) for c in columns.values()) for i in range(len(columns[names[0]]))]
    csv = write(tmp_path / "s.csv", ",".join(names), rows)
    args = [f"--{k.replace('_', '-')}" + ("" if v is True else f"={v}") for k, v in {**options, **fit}.items()]
    out = tmp_path / "m"
    result = run("train", "--csv", csv, "--out", out, "--hidden", "4", "--epochs", "2", "--device", "cpu", "--quiet",
                 *args)
    assert_clean_failure(result, flags)
    assert not out.exists()


def test_resume_without_a_recorded_csv_names_the_data(tmp_path):
    values = [float(i % 5 + i) for i in range(30)]
    Forecaster(window=3, **TINY).fit(values, checkpoint_dir=tmp_path / "m")
    with pytest.raises(ConfigError) as info:
        Forecaster.resume(tmp_path / "m", epochs=3)
    assert no_flags(info.value).endswith("pass it again as data.")
    result = run("train", "--resume", tmp_path / "m", "--epochs", "3")
    assert_clean_failure(result, "pass it again as --csv.", code=2)


def test_inference_errors_name_parameters(tmp_path):
    f = Forecaster(window=3, **TINY).fit(np.arange(1.0, 30.0))
    with pytest.raises(ConfigError) as info:
        f.predict(steps=0)
    assert no_flags(info.value).startswith("steps must be")
    with pytest.raises(DataError) as info:
        f.evaluate(np.arange(1.0, 30.0), holdout=28)
    assert no_flags(info.value).endswith("give a longer series or a smaller holdout.")
    with pytest.raises(DataError) as info:
        f.backtest(np.arange(1.0, 30.0), start=1)
    assert "got start 1; choose another start or fewer steps." in no_flags(info.value)
    model = f.save(tmp_path / "m")
    csv = write(tmp_path / "s.csv", "value", [str(x) for x in np.arange(1.0, 30.0)])
    result = run("evaluate", "--model", model, "--csv", csv, "--holdout", "28")
    assert_clean_failure(result, "give a longer series or a smaller --holdout.", code=1)

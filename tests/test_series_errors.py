"""Errors name what the caller wrote: Python parameters from the API (``window``), flags from the CLI (``--window``)."""

from __future__ import annotations

import math

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


def _months(n: int, skip=()) -> list[str]:
    return [f"{2000 + m // 12}-{m % 12 + 1:02d}" for m in range(n) if m not in skip]


def test_a_missing_date_is_warned_of_once_naming_its_line(tmp_path):
    """A month left out: windows would read the values on each side as neighbours.  One warning, on the line."""
    from seqtext.errors import SeqtextWarning

    dates = _months(40, skip=(12,))  # 2001-01 missing: line 14 (2000-01 on line 2) holds 2001-02
    csv = tmp_path / "gap.csv"
    csv.write_text("month,v\n" + "".join(f"{d},{10 + i % 5}\n" for i, d in enumerate(dates)))
    options = dict(window=6, horizon=3, hidden=4, epochs=1, seed=0, device="cpu", calibrate=0)
    with pytest.warns(SeqtextWarning, match=r"'month' are not evenly spaced: 2000-12 is followed by 2001-02 at "
                                            r"line 14 of .*gap.csv; .* rows with blank values and fill"):
        Forecaster(**options).fit(str(csv), target="v", date="month")
    result = CliRunner().invoke(cli, ["forecast", "train", "--csv", str(csv), "--target", "v", "--date", "month",
                                      "--window", "6", "--horizon", "3", "--hidden", "4", "--epochs", "1", "--quiet",
                                      "--out", str(tmp_path / "m")])  # calibrated by default: the table read twice
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "add the missing dates as rows with blank values and --fill" in warnings[0]
    even = tmp_path / "even.csv"
    even.write_text("month,v\n" + "".join(f"{d},{10 + i % 5}\n" for i, d in enumerate(_months(40))))
    import warnings as w

    with w.catch_warnings():
        w.simplefilter("error", SeqtextWarning)
        Forecaster(**options).fit(str(even), target="v", date="month")


def test_gaps_in_many_series_are_one_warning_naming_them(tmp_path):
    from seqtext.errors import SeqtextWarning

    lines = ["id,t,value"]
    for s, skip in enumerate(((), (10,), (10, 20))):
        lines += [f"S{s},{t},{100 + t % 7}" for t in range(1, 41) if t not in skip]
    csv = tmp_path / "panel.csv"
    csv.write_text("\n".join(lines) + "\n")
    with pytest.warns(SeqtextWarning) as caught:
        Forecaster(window=6, horizon=3, hidden=4, epochs=1, seed=0, device="cpu", calibrate=0).fit(
            str(csv), target="value", date="t", id="id")
    gaps = [str(c.message) for c in caught if "evenly spaced" in str(c.message)]
    assert gaps == ["the dates of 2 of the 3 series (S1, S2) in column 't' are not evenly spaced: 9 is followed by 11 "
                    f"at line 51 of {csv} (series S1); the windows read the values on each side of a gap as "
                    "neighbours, so add the missing dates as rows with blank values and fill, unless the spacing "
                    "is meant."]


def test_numpy_scalar_options_are_read_as_python_numbers():
    """``window=np.int64(12)`` used to train and then fail to save (int64 is not JSON); hidden=np.int32 failed in
    torch."""
    import json

    import numpy as np

    from seqtext import Forecaster, TextModel

    f = Forecaster(window=np.int64(12), hidden=np.int32(8), lr=np.float32(0.5), seed=np.int64(3),
                   features=[np.str_("price")], calibrate=np.int64(0))
    flat = f.settings.flat()
    assert (type(flat["window"]), type(flat["hidden"]), type(flat["lr"]), type(flat["seed"])) == (int, int, float, int)
    assert flat["features"] == ["price"] and type(flat["features"][0]) is str
    json.dumps(f.settings.to_dict())
    text = TextModel(hidden=np.int32(16), softmax="adaptive", cutoffs=[np.int64(5)]).settings.flat()
    assert type(text["hidden"]) is int and type(text["cutoffs"][0]) is int
    assert Forecaster(window=3, epochs=np.int64(2), calibrate=0, hidden=np.int32(4)).fit(
        np.arange(1.0, 30.0)).predict(history=np.arange(1.0, 4.0)).shape == (1,)


def test_columns_without_a_name_are_left_out(tmp_path):
    from seqtext.series.csvfile import read_csv as _read_csv

    plain = tmp_path / "plain.csv"
    plain.write_text("month,sales\n2000-01,5\n2000-02,6\n")
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("month,sales,,\n2000-01,5,,\n2000-02,6,,\n")  # not "a repeated column name"
    assert _read_csv(trailing) == _read_csv(plain)
    indexed = tmp_path / "indexed.csv"  # as pandas' to_csv writes a table with its index
    indexed.write_text(",month,sales\n0,2000-01,5\n1,2000-02,6\n")
    assert _read_csv(indexed) == _read_csv(plain)


def test_values_past_the_header_and_other_separators_are_refused_not_dropped(tmp_path):
    from seqtext.series.csvfile import read_csv as _read_csv

    plain = tmp_path / "plain.csv"
    plain.write_text("month,sales\n2000-01,5\n2000-02,6\n")
    blank = tmp_path / "blank.csv"  # empty cells past the header, as a spreadsheet writes them: read as before
    blank.write_text("month,sales\n2000-01,5,\n2000-02,6, \n")
    assert _read_csv(blank) == _read_csv(plain)
    commas = tmp_path / "commas.csv"  # decimal commas: 5,25 would have been read as 5 and its digits dropped
    commas.write_text("month,sales\n2000-01,5\n2000-02,5,25\n")
    for read in (lambda: _read_csv(commas), lambda: Forecaster(**TINY).fit(commas, target="sales")):
        with pytest.raises(DataError) as info:
            read()
        assert str(info.value) == (f"{commas} line 3 has 3 values, more than the 2 columns of its header; quote a "
                                   "value that holds a comma (and write decimals with a point: 1.5, not 1,5).")
    semicolons = write(tmp_path / "semi.csv", "month;sales", ["2000-01;5", "2000-02;6"])
    assert_clean_failure(run("train", "--csv", semicolons, "--target", "sales", "--out", tmp_path / "m"),
                         f"{semicolons} is separated by semicolons, not commas (its header is one column, "
                         "'month;sales'); save it as a comma-separated file.")
    assert not (tmp_path / "m").exists()
    decimal = write(tmp_path / "decimal.csv", "month;sales", ["2000-01;5,25"])  # with a decimal comma too
    with pytest.raises(DataError, match="is separated by semicolons, not commas"):
        _read_csv(decimal)
    named = write(tmp_path / "named.csv", '"sales; EUR"', ["5", "6"])  # one column, a semicolon in its name
    assert _read_csv(named)[1] == ["sales; EUR"]


def test_months_written_yyyymm_are_refused_not_read_as_steps():
    from seqtext import Forecaster
    from seqtext.errors import DataError

    months = [f"{1949 + i // 12}{i % 12 + 1:02d}" for i in range(30)]
    with pytest.raises(DataError, match=r"look like months written YYYYMM \(194901, 194902, ...\), which would be "
                                        r"read as integer steps; write them as YYYY-MM \(1949-01\)"):
        Forecaster(window=3, epochs=1).fit({"month": months, "v": [float(i) for i in range(30)]}, target="v",
                                           date="month")
    skipping = months[:5] + months[6:]  # a month missing: still months, not steps
    with pytest.raises(DataError, match="look like months written YYYYMM"):
        Forecaster(window=3, epochs=1).fit({"month": skipping, "v": [float(i) for i in range(29)]}, target="v",
                                           date="month")
    with pytest.raises(DataError, match="look like months written YYYYMM"):  # a year or less: still months
        Forecaster(window=3, epochs=1).fit({"month": months[:8], "v": [float(i) for i in range(8)]}, target="v",
                                           date="month")
    days = [f"202101{d:02d}" for d in range(1, 32)] + [f"202102{d:02d}" for d in range(1, 10)]
    with pytest.raises(DataError, match=r"look like days written YYYYMMDD \(20210101, 20210102, ...\), which would "
                                        r"be read as integer steps; write them as YYYY-MM-DD \(2021-01-01\)"):
        Forecaster(window=3, epochs=1).fit({"day": days, "v": [float(i) for i in range(40)]}, target="v",
                                           date="day")
    steps = [str(100001 + i) for i in range(30)]  # six digits, evenly one apart: steps, as they are
    Forecaster(window=3, epochs=1, calibrate=0).fit({"t": steps, "v": [float(i) for i in range(30)]}, target="v",
                                                    date="t")


def test_a_roll_out_of_more_than_a_hundred_thousand_steps_is_refused_and_a_short_calibration_says_how_to_drop_it(
        monkeypatch):
    """--steps 100000000 rolled out for minutes, its memory growing, to forecasts near 1e307."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = Forecaster(window=3, epochs=1, hidden=4, device="cpu").fit(range(10, 100, 10))
    (shortfall,) = [w for w in caught if "intervals calibrated" in str(w.message)]
    assert "on the last 1 value only (the horizon)" in str(shortfall.message)
    assert str(shortfall.message).endswith("give calibrate N to choose, or 0 for no intervals.")
    assert shortfall.filename == __file__  # the caller's line, not seqtext's
    with pytest.raises(ConfigError, match="steps 100,001 is more than 100,000"):
        model.predict(steps=100_001)
    from seqtext.series import infer

    monkeypatch.setattr(infer, "MAX_STEPS", 10)  # the limit itself is allowed, one more is not
    assert len(model.predict(steps=10)) == 10
    with pytest.raises(ConfigError, match="steps 11 is more than 10"):
        model.predict(steps=11)


def test_serve_names_a_bare_model_path_that_does_not_exist_as_a_directory():
    from seqtext.errors import CheckpointError
    from seqtext.export.registry import parse_models

    with pytest.raises(CheckpointError, match=r"^the model directory nowhere does not exist; give a model or "
                                              r"exported directory \(PATH, or NAME=PATH to name it\)\.$"):
        parse_models(["nowhere"])
    with pytest.raises(CheckpointError, match="^the model lm at nowhere does not exist"):
        parse_models(["lm=nowhere"])


def test_errors_about_the_history_name_the_history_and_the_users_column_never_an_internal_one():
    """A plain sequence of values has no column: its errors name the history (the parameter predict takes), never
    the column 'value' seqtext reads it into; a table's name the user's own column, and the history."""
    values = [float(10 + i % 5) for i in range(40)]
    named = Forecaster(window=4, calibrate=0, **TINY).fit({"sales": values}, target="sales")
    plain = Forecaster(window=4, calibrate=0, **TINY).fit(values)
    for model in (named, plain):
        with pytest.raises(DataError) as info:
            model.predict(history=[1.0, 2.0, float("nan"), 4.0, 5.0, 6.0])
        assert no_flags(info.value) == ("the history has a missing or non-finite value at row 2; fix it, or turn on "
                                        "fill to interpolate gaps.")
        with pytest.raises(DataError) as info:
            model.predict(history=[1.0, 2.0, "x", 4.0, 5.0])
        assert no_flags(info.value) == ("the history has a non-numeric value 'x' at row 2; fix the value or remove "
                                        "the row.")
    with pytest.raises(DataError) as info:
        named.predict(history={"sales": [1.0, 2.0, None, 4.0, 5.0, 6.0]})
    assert no_flags(info.value).startswith("column 'sales' has a missing or non-finite value at row 2 of the history;")
    with pytest.raises(DataError) as info:
        plain.fit([1.0, 2.0, float("nan")] + values)
    assert "'value'" not in no_flags(info.value) and info.value.args[0].startswith("the series has a missing")


def test_counts_in_messages_agree_with_their_number():
    """A count of one reads as one ('1 value', '1 was given'), not as many ('1 values', '1 were given')."""
    values = [float(10 + i % 5) for i in range(40)]
    model = Forecaster(window=1, calibrate=0, **TINY).fit(values)
    with pytest.raises(DataError) as info:
        Forecaster(window=4, calibrate=0, **TINY).fit(values).predict(history=[5.0])
    assert no_flags(info.value).startswith("the history has 1 value but the model reads windows of 4; give at "
                                           "least 4 values.")
    with pytest.raises(DataError) as info:
        model.evaluate(values[:1], holdout=1)
    assert no_flags(info.value).startswith("the series has 1 value; holding out 1 leaves fewer than the window")
    table = {"y": values, "x": [float(i % 3) for i in range(40)]}
    ahead = Forecaster(window=4, horizon=1, calibrate=0, features=["x"], target="y", **TINY).fit(table)
    with pytest.raises(DataError) as info:
        ahead.predict(3, history=table, future={"x": [1.0]})
    assert "for the next 3 steps but 1 was given;" in no_flags(info.value)


def test_a_blank_end_of_a_history_is_refused_unless_its_rows_carry_what_the_model_reads_ahead(tmp_path):
    """A missing last value is no step to forecast for a model that reads nothing ahead: refused, naming the row,
    with fill too (as training refuses a blank end); rows of covariates known ahead are still the steps to forecast."""
    values = [float(10 + i % 5) for i in range(40)]
    plain = Forecaster(window=4, calibrate=0, **TINY).fit(values)
    for fill in (None, True):
        with pytest.raises(DataError) as info:
            plain.predict(history=values[:10] + [float("nan")], fill=fill)
        assert no_flags(info.value).startswith("the history is blank from row 10 to the end, but this model reads no "
                                               "covariates or dates ahead, so those rows are no steps to forecast")
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(41)]
    dated = Forecaster(window=4, calibrate=0, date="m", target="v", **TINY).fit({"m": months[:40], "v": values})
    csv = write(tmp_path / "h.csv", "m,v", [f"{m},{v}" for m, v in zip(months, values[:10])] + [f"{months[10]},"])
    result = run("predict", "--model", dated.save(tmp_path / "d"), "--csv", csv)
    assert_clean_failure(result, "column 'v' is blank from line 12 of", "(and --fill fills gaps between known values")
    ahead = Forecaster(window=4, calibrate=0, features=["x"], target="v", **TINY).fit(
        {"v": values, "x": [float(i % 3) for i in range(40)]})
    history = {"v": values[:10] + [None], "x": [float(i % 3) for i in range(11)]}
    assert ahead.predict(history=history).shape == (1,)  # the blank row: the covariate of the step to forecast


def test_a_blank_end_of_an_undated_history_of_a_calendar_model_is_refused_for_its_missing_dates():
    """A model with calendar inputs reads dates ahead: a history without its date column and a blank last value is
    refused for the dates it lacks, as without the blank, not as if the model read nothing ahead."""
    values = [float(10 + i % 5) for i in range(40)]
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(40)]
    cal = Forecaster(window=4, calibrate=0, date="m", target="v", calendar=True, **TINY).fit({"m": months, "v": values})
    for history in (values[:10], values[:10] + [None], {"v": values[:10] + [None]}):
        with pytest.raises(DataError) as info:
            cal.predict(history=history)
        assert no_flags(info.value).startswith("calendar inputs are read off the dates, but the series has no date "
                                               "column;")
    assert cal.predict(3, history={"m": months[:13], "v": values[:10] + [None] * 3}).shape == (3,)


def test_an_infinite_last_value_is_not_filled():
    """fill interpolates gaps between known values; an infinite last value is the forecast's origin, not a gap: held
    flat it would be a made-up value to forecast from, so it is refused, in training and in predict."""
    values = [float(10 + i % 5) for i in range(40)]
    model = Forecaster(window=4, calibrate=0, fill=True, **TINY).fit(values)
    for history, row in ((values[:10] + [math.inf], 10), (values[:10] + [math.nan, 5.0, -math.inf], 12)):
        with pytest.raises(DataError) as info:
            model.predict(history=history)
        assert no_flags(info.value) == (f"the history ends in an infinite value at row {row}, which fill does not "
                                        "fill (it fills gaps between known values); fix it, or leave that row out.")
    assert model.predict(history=values[:10] + [math.inf, 12.0]).shape == (1,)  # inside the history: a gap, filled
    with pytest.raises(DataError, match="^the series ends in an infinite value at row 40, which"):
        Forecaster(window=4, calibrate=0, fill=True, **TINY).fit(values + [math.inf])

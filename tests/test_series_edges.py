"""Forecasting at its edges: empty tables of many series, a calibration copy that cannot be fitted, blank ends of
a training series, ISO dates a month apart, actual values that do not follow the history, models of many series
scored on what they saw, backtest origins past a short series, and a forecast file of series dated and not."""

from __future__ import annotations

import json
import math
import re
import warnings
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from seqtext import Forecaster
from seqtext.cli import cli
from seqtext.errors import DataError, SeqtextWarning
from seqtext.series.dates import future_dates, season_of, uneven

from conftest import assert_clean_failure

TINY = dict(hidden=8, epochs=2, patience=2, batch_size=32, device="cpu", seed=0)


def run(*args):
    return CliRunner().invoke(cli, ["forecast", *map(str, args)])


def write(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def panel(path, lengths, start=1):
    """id,t,v: one series per length, integer steps from ``start``, a weekly wave."""
    rows = [(f"S{k}", t, round(50 + 10 * np.sin(t / 2) + k, 3)) for k, n in enumerate(lengths)
            for t in range(start, start + n)]
    return write(path, "id,t,v", rows)


def test_a_header_only_table_of_many_series_is_one_sentence(tmp_path):
    empty = write(tmp_path / "empty.csv", "id,t,v", [])
    result = run("train", "--csv", empty, "--id", "id", "--date", "t", "--target", "v", "--out", tmp_path / "m")
    assert_clean_failure(result, "empty.csv has no rows; give a series with values")
    assert not (tmp_path / "m").exists()
    model = tmp_path / "p"
    assert run("train", "--csv", panel(tmp_path / "p.csv", (40, 40)), "--id", "id", "--date", "t", "--target", "v",
               "--window", "6", "--horizon", "2", "--epochs", "1", "--hidden", "4", "--quiet", "--out",
               model).exit_code == 0
    assert_clean_failure(run("predict", "--model", model, "--csv", empty), "has no rows")


def test_a_calibration_copy_that_cannot_be_fitted_leaves_the_model_without_intervals_and_says_why(tmp_path):
    values = [5.0] * 80 + [5.0 + k for k in range(1, 11)]  # the copy, without the last 12 values, sees a constant
    with pytest.warns(SeqtextWarning, match=r"no prediction intervals: the calibration copy, trained without the "
                                            r"last 12 values of each series, could not be fitted \(the series is "
                                            r"constant"):
        model = Forecaster(window=8, horizon=3, **TINY).fit(values, checkpoint_dir=tmp_path / "m")
    assert model.task.intervals is None and model.settings.series.calibrate == 0
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["series"]["calibrate"] == 0  # the directory says what was done
    assert model.predict(3).shape == (3,)


def test_a_blank_end_of_a_training_series_is_refused_with_or_without_fill(tmp_path):
    rows = [(f"2020-{m:02d}", m * 1.5 if m <= 9 else "") for m in range(1, 13)]
    csv = write(tmp_path / "h.csv", "month,v", [(f"{2000 + k // 12}-{k % 12 + 1:02d}", 10 + k % 5) for k in range(36)]
                + rows)
    for fill in ([], ["--fill"]):
        result = run("train", "--csv", csv, "--date", "month", "--target", "v", "--window", "6", "--epochs", "1",
                     "--out", tmp_path / "m", *fill)
        assert_clean_failure(result, "column 'v' is blank from line 47 of",
                             "to the end; the values to train on or to score must be known")
        assert not (tmp_path / "m").exists()
    gap = write(tmp_path / "g.csv", "month,v", [(f"{2000 + k // 12}-{k % 12 + 1:02d}", "" if k == 20 else 10 + k % 5)
                                                for k in range(48)])
    result = run("train", "--csv", gap, "--date", "month", "--target", "v", "--window", "6", "--epochs", "1",
                 "--hidden", "4", "--quiet", "--fill", "--out", tmp_path / "f")
    assert result.exit_code == 0, result.output  # a gap between known values is still filled


def test_iso_dates_a_month_apart_are_monthly():
    month_ends = ["1990-01-31", "1990-02-28", "1990-03-31", "1990-04-30"]
    assert season_of(month_ends) == 12 and season_of(["1990-01-01", "1990-02-01", "1990-03-01"]) == 12
    assert season_of(["1990-01-15", "1990-04-15", "1990-07-15"]) == 4
    assert future_dates(month_ends, 3) == ["1990-05-31", "1990-06-30", "1990-07-31"]
    assert future_dates(["2020-01-31 10:00", "2020-02-29 10:00"], 1) == ["2020-03-31 10:00"]  # as written
    assert future_dates(["2020-01-30", "2020-02-01"], 1) == ["2020-02-03"]  # two days apart: not monthly
    assert season_of(["2020-01-01", "2020-01-02", "2020-01-03"]) == 7


def test_a_gap_in_iso_dates_is_warned_of_and_keeps_the_season_and_the_dates_ahead(tmp_path):
    """A month missing from month-start dates (or a day from daily ones) is warned of as a YYYY-MM gap is; the
    season and the forecast dates come from the spacing that the other dates share."""
    months = [date(2015 + k // 12, k % 12 + 1, 1).isoformat() for k in range(61)]
    del months[55]
    values = [100 + 10 * np.sin(2 * np.pi * k / 12) for k in range(60)]
    csv = write(tmp_path / "gap.csv", "date,y", zip(months, values))
    with pytest.warns(SeqtextWarning, match="2019-07-01 is followed by 2019-09-01 at line 57 of "):
        model = Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit(str(csv), target="y", date="date")
    assert season_of(months) == 12 and [r["date"] for r in model.forecast(2)] == ["2020-02-01", "2020-03-01"]
    assert [r["date"] for r in model.forecast(2, history=str(csv))] == ["2020-02-01", "2020-03-01"]
    days = [(date(2021, 1, 1) + timedelta(days=k)).isoformat() for k in range(30) if k != 12]
    with pytest.warns(SeqtextWarning, match="2021-01-12 is followed by 2021-01-14 at row 12 of the table"):
        Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit({"d": days, "y": values[:29]}, target="y", date="d")
    assert season_of(days) == 7 and future_dates(days, 1) == ["2021-01-31"]


@pytest.mark.parametrize("python", ["this", "3.10"])
def test_iso_weeks_go_on_as_iso_weeks(python, monkeypatch):
    if python == "3.10":  # whose fromisoformat reads no ISO weeks (3.11's does): seqtext parses them itself
        from datetime import datetime

        from seqtext.series import dates

        class Py310(datetime):
            @classmethod
            def fromisoformat(cls, text):
                if "W" in text:
                    raise ValueError(f"Invalid isoformat string: {text!r}")
                return super().fromisoformat(text)

        monkeypatch.setattr(dates, "datetime", Py310)
    weeks = [f"2020-W{w:02d}" for w in range(1, 54)] + ["2021-W01", "2021-W02"]  # 2020 has 53 ISO weeks
    assert future_dates(weeks, 3) == ["2021-W03", "2021-W04", "2021-W05"]
    assert future_dates(["2020-W52", "2020-W53"], 2) == ["2021-W01", "2021-W02"]
    assert future_dates(["2021-W39-3", "2021-W40-3"], 1) == ["2021-W41-3"]  # with the day of the week
    assert future_dates(["2021W39", "2021W40"], 1) == ["2021W41"]  # the basic form, without dashes
    assert season_of(weeks) == 52


def test_weekdays_are_spaced_in_weekdays_and_go_on_over_the_weekend(tmp_path):
    weekdays = [d for d in (date(2021, 1, 4) + timedelta(days=k) for k in range(84)) if d.weekday() < 5]
    labels = [d.isoformat() for d in weekdays]
    assert weekdays[-1] == date(2021, 3, 26) and weekdays[-1].weekday() == 4  # a Friday
    assert future_dates(labels, 3) == ["2021-03-29", "2021-03-30", "2021-03-31"] and season_of(labels) == 5
    assert future_dates([f"{d}T09:30:00" for d in labels], 1) == ["2021-03-29T09:30:00"]
    values = [100 + k % 5 + 0.1 * k for k in range(len(labels))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a weekend is no gap
        model = Forecaster(window=6, horizon=2, calibrate=0, calendar=["dayofweek"], **TINY).fit(
            {"d": labels, "y": values}, target="y", date="d")
    assert [r["date"] for r in model.forecast(2)] == ["2021-03-29", "2021-03-30"]  # the calendar inputs known
    without = labels[:30] + labels[31:]  # a weekday missing is a gap
    with pytest.warns(SeqtextWarning, match=f"{labels[29]} is followed by {labels[31]} at row 30"):
        Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit({"d": without, "y": values[1:]}, target="y",
                                                                 date="d")


def test_sessions_are_no_gaps_and_the_30th_of_each_month_goes_on():
    """Hours of trading days break every night and open at one hour: a calendar of sessions, neither warned of
    as gaps nor continued (no season, no dates), where one missing hour of an hourly series is a gap; weekdays go
    on past holidays (each warned of as a missing weekday); dates on the 30th continue on 28 or 29 February."""
    hours = [datetime(2024, 1, 1, 9) + timedelta(hours=k) for k in range(24 * 15)]
    trading = [t.isoformat() for t in hours if t.weekday() < 5 and 9 <= t.hour <= 15]
    assert uneven(trading) == [] and season_of(trading) == 1 and future_dates(trading, 2) is None
    hourly = [(datetime(2024, 1, 1) + timedelta(hours=k)).isoformat() for k in range(50) if k != 40]
    assert uneven(hourly) == [40] and season_of(hourly) == 24 and future_dates(hourly, 1) == ["2024-01-03T02:00:00"]
    weekdays = [d.isoformat() for d in (date(2024, 1, 1) + timedelta(days=k) for k in range(90))
                if d.weekday() < 5 and d not in (date(2024, 1, 15), date(2024, 2, 19))]  # two holidays
    assert len(uneven(weekdays)) == 2 and season_of(weekdays) == 5 and future_dates(weekdays, 1) == ["2024-04-01"]
    thirtieths = [f"{2020 + k // 12}-{k % 12 + 1:02d}-30" for k in range(24) if k % 12 != 1]
    assert future_dates(thirtieths, 3) == ["2022-01-30", "2022-02-28", "2022-03-30"] and season_of(thirtieths) == 12
    written = thirtieths[-4:] + future_dates(thirtieths, 3)  # the dates it writes read back as monthly
    assert uneven(written) == [] and season_of(written) == 12 and future_dates(written, 1) == ["2022-04-30"]
    long_days = [(datetime(2024, 1, 1, 8) + timedelta(days=d, hours=h)).isoformat() for d in range(12)
                 if (date(2024, 1, 1) + timedelta(days=d)).weekday() < 5 for h in range(13)]  # 13 bars a day
    assert season_of(long_days) == 1 and future_dates(long_days, 2) is None and uneven(long_days) == []
    twice = [(datetime(2024, 1, 1) + timedelta(hours=k)).isoformat() for k in range(720) if k not in (53, 389)]
    assert uneven(twice) == [53, 388] and season_of(twice) == 24  # two missing hours at one hour of day: gaps


def test_a_past_covariate_models_horizon_is_named_by_each_commands_own_flag(tmp_path):
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(60)]
    csv = write(tmp_path / "p.csv", "month,y,x", [(m, round(100 + 10 * np.sin(k / 2), 3), round(np.cos(k / 3), 3))
                                                   for k, m in enumerate(months)])
    assert run("train", "--csv", csv, "--target", "y", "--date", "month", "--past-features", "x", "--window", 6,
               "--horizon", 2, "--epochs", 2, "--hidden", 8, "--calibrate", 0, "--out", tmp_path / "m").exit_code == 0
    assert_clean_failure(run("evaluate", "--model", tmp_path / "m", "--csv", csv, "--holdout", 5),
                         "forecasts at most its horizon of 2 steps; give --holdout (or the rows of --actuals) of 2 or "
                         "fewer, or train it with a longer horizon (forecast train --horizon).")
    assert_clean_failure(run("predict", "--model", tmp_path / "m", "--steps", 5),
                         "give --steps of 2 or fewer, or train it with a longer horizon (forecast train --horizon).")


def test_a_missing_pandas_date_is_one_sentence():
    pd = pytest.importorskip("pandas")
    days = pd.Series(pd.date_range("2021-01-01", periods=30, freq="D"))
    days[7] = pd.NaT
    with pytest.raises(DataError, match="column 'd' has 'NaT' at row 7 of the table, which is not a date"):
        Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit({"d": days, "y": np.arange(30.0) % 7}, target="y",
                                                                 date="d")


def test_dates_are_written_ahead_as_the_table_writes_them():
    assert future_dates(["2021-01-01T00:00:00Z", "2021-01-01T01:00:00Z"], 1) == ["2021-01-01T02:00:00Z"]
    assert future_dates(["2021-01-01T00:00+01:00", "2021-01-01T01:00+01:00"], 1) == ["2021-01-01T02:00+01:00"]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"d": pd.date_range("2021-01-01", periods=30, freq="D"), "y": np.arange(30.0) % 7})
    model = Forecaster(window=6, horizon=2, calibrate=0, calendar="auto", **TINY).fit(frame, target="y", date="d")
    assert "hour" not in model.settings.series.calendar  # dates, not date-times at midnight: no hour input
    assert [r["date"] for r in model.forecast(2)] == ["2021-01-31", "2021-02-01"]
    hourly = pd.DataFrame({"d": pd.date_range("2021-01-01", periods=30, freq="h").values, "y": np.arange(30.0) % 5})
    model = Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit(hourly, target="y", date="d")
    assert model.forecast(1)[0]["date"] == "2021-01-02T06:00:00"


def test_forecast_files_and_tables_keep_the_digits_of_a_series_of_small_values(tmp_path):
    """Values of about 1e-9 are written with their digits, not rounded to 0.0 (--out CSVs) or 0.0000 (tables)."""
    months = [f"{2018 + k // 12}-{k % 12 + 1:02d}" for k in range(48)]
    csv = write(tmp_path / "small.csv", "month,y", [(m, (100 + 10 * np.sin(k / 2)) * 1e-11)
                                                    for k, m in enumerate(months)])
    assert run("train", "--csv", csv, "--target", "y", "--date", "month", "--window", 6, "--horizon", 2, "--epochs", 2,
               "--hidden", 8, "--calibrate", 0, "--out", tmp_path / "m").exit_code == 0
    done = run("predict", "--model", tmp_path / "m", "--steps", 2, "--json", "--out", tmp_path / "f.csv")
    rows = json.loads(done.stdout)["forecast"]
    written = [float(line.split(",")[2]) for line in (tmp_path / "f.csv").read_text().splitlines()[1:]]
    assert written == pytest.approx([r["forecast"] for r in rows], rel=1e-9) and 1e-10 < written[0] < 1e-8
    table = run("predict", "--model", tmp_path / "m", "--steps", 2).stdout.splitlines()
    assert float(table[1].split("\t")[1]) == pytest.approx(rows[0]["forecast"], rel=1e-3)
    scores = json.loads(run("evaluate", "--model", tmp_path / "m", "--csv", csv, "--holdout", 2, "--json").stdout)
    assert 0 < scores["rollout"]["mae"] < 1e-9  # a metric keeps its digits too


def test_a_covariate_of_zeros_and_one_rounding_residue_is_a_constant_not_scaled_by_1e_minus_17():
    from seqtext.series.scaling import Scaler

    matrix = np.column_stack([np.arange(20.0) * 1e-15, np.zeros(20)])
    matrix[5, 1] = 0.1 + 0.2 - 0.3  # 5.6e-17
    scaler = Scaler("zscore").fit(matrix)
    assert scaler.scale[1] == 1.0 and scaler.scale[0] == pytest.approx(np.arange(20.0).std() * 1e-15)


@pytest.mark.parametrize("scaler", ["zscore", "mean", "minmax"])
def test_a_series_of_values_near_1e_minus_15_is_forecast_as_the_same_series_near_1(scaler):
    base = 1 + 0.1 * np.sin(2 * np.pi * np.arange(48) / 12)
    forecasts = [Forecaster(window=12, horizon=3, calibrate=0, scaler=scaler, **TINY).fit(list(base * k)).predict(3) / k
                 for k in (1.0, 1e-15)]
    np.testing.assert_allclose(forecasts[1], forecasts[0], rtol=1e-5)
    assert (forecasts[1] > 0.5).all()  # not a forecast near 0 (the spread once taken for a constant's, scale 1)


def test_dates_past_the_year_9999_are_one_sentence(tmp_path):
    days = [date(9999, 12, 31) - timedelta(days=29 - k) for k in range(30)]
    csv = write(tmp_path / "end.csv", "day,y", [(d.isoformat(), k % 7) for k, d in enumerate(days)])
    assert run("train", "--csv", csv, "--target", "y", "--date", "day", "--window", 6, "--horizon", 2, "--epochs", 1,
               "--hidden", 8, "--calibrate", 0, "--out", tmp_path / "m").exit_code == 0
    assert_clean_failure(run("predict", "--model", tmp_path / "m", "--steps", 3, "--out", tmp_path / "f.csv"),
                         "a forecast of 3 steps after 9999-12-31 runs past the year 9999, the last a date can be "
                         "written in; forecast fewer steps.")
    assert not (tmp_path / "f.csv").exists()
    with pytest.raises(DataError, match="^a forecast of 6 steps after 9999-W49 runs past the year 9999"):
        future_dates(["9999-W48", "9999-W49"], 6)
    for labels, steps in ((["9999-10", "9999-11"], 3), (["9998", "9999"], 1)):  # months and years, as integers
        with pytest.raises(DataError, match=f"^a forecast of {steps} steps? after {labels[-1]} runs past the year"):
            future_dates(labels, steps)
    assert future_dates(["9999-10", "9999-11"], 1) == ["9999-12"]
    weekdays = [d.isoformat() for d in (date(9999, 12, 24) - timedelta(days=k) for k in range(40)) if d.weekday() < 5]
    with pytest.raises(DataError, match="^a forecast of 20 steps after 9999-12-24 runs past the year 9999"):
        future_dates(weekdays[::-1], 20)


def test_actual_values_without_the_dates_of_their_history_are_refused(tmp_path):
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(40)]
    values = [100 + 10 * math.sin(2 * math.pi * k / 12) for k in range(40)]
    history = write(tmp_path / "h.csv", "month,y", list(zip(months[:36], values[:36])))
    dated = write(tmp_path / "a.csv", "month,y", list(zip(months[36:], values[36:])))
    undated = write(tmp_path / "u.csv", "y", [(v,) for v in values[36:]])
    model = Forecaster(window=6, horizon=4, calibrate=0, **TINY).fit(str(history), target="y", date="month")
    scores = model.evaluate(str(history), actuals=str(dated), season=12)
    assert math.isfinite(scores["mase"])
    assert model.evaluate(str(history), actuals=values[36:], season=12) == scores  # values alone: the steps after
    gaps = write(tmp_path / "g.csv", "month,y", [(m, v) for k, (m, v) in enumerate(zip(months[:36], values))
                                                 if k % 3 or k < 10])  # uneven: no date of the steps after
    with pytest.raises(DataError, match=r"^the dates of .*g.csv are unevenly spaced, so the dates of actual values "
                                        "given alone are not known; give them as a table with their dates"):
        model.evaluate(str(gaps), actuals=values[36:])
    for hist, later, named in ((history, undated, (history, undated)),
                               (write(tmp_path / "hu.csv", "y", [(v,) for v in values[:36]]), dated, (dated, None))):
        with pytest.raises(DataError) as info:  # once read so: the dates dropped, the season 1, the MASE 3x
            model.evaluate(str(hist), actuals=str(later))
        other = named[1] or tmp_path / "hu.csv"
        assert str(info.value) == (f"{named[0]} has dates (column 'month') and {other} has none, so the actual "
                                   "values cannot be placed after the history by date; give both with their dates, "
                                   "or neither.")


def test_actual_values_that_skip_steps_after_the_history_are_warned_of(tmp_path):
    history = panel(tmp_path / "h.csv", (40, 40))
    later = panel(tmp_path / "later.csv", (4, 4), start=46)  # steps 41-45 missing
    model = Forecaster(window=6, horizon=4, calibrate=0, **TINY).fit(str(history), target="v", date="t", id="id")
    with pytest.warns(SeqtextWarning, match=r"the actual values of 2 series \(S0, S1\) do not follow their history "
                                            r"\(series S0's: it ends at 40, they start at 46\)"):
        model.evaluate(str(history), actuals=str(later))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqtextWarning)
        model.evaluate(str(history), actuals=str(panel(tmp_path / "next.csv", (4, 4), start=41)))


def test_models_of_many_series_note_held_out_values_they_were_trained_on_and_backtest_past_a_short_one(tmp_path):
    csv = panel(tmp_path / "p.csv", (60, 60, 30))
    model = tmp_path / "m"
    assert run("train", "--csv", csv, "--id", "id", "--date", "t", "--target", "v", "--window", "6", "--horizon", "3",
               "--epochs", "1", "--hidden", "4", "--calibrate", "0", "--quiet", "--out", model).exit_code == 0
    result = run("evaluate", "--model", model, "--csv", csv, "--baselines", "naive")
    assert result.exit_code == 0, result.output
    assert "note: the model was trained on the held-out values of 3 of the 3 series (series S0's up to 60)" in \
        result.stderr
    result = run("backtest", "--model", model, "--csv", csv, "--start", "40", "--baselines", "naive")
    assert result.exit_code == 0, result.output
    assert "1 of the 3 series is too short to backtest (40 values before the first origin and 3 values after " \
           "it) and is left out: S2." in result.stderr
    assert_clean_failure(run("backtest", "--model", model, "--csv", csv, "--start", "59"),
                         "no series is long enough to backtest from --start 59 (the longest has 60 values")


def test_a_series_left_out_of_training_as_too_short_is_forecast_as_a_new_id(tmp_path):
    csv = panel(tmp_path / "p.csv", (40, 40, 8))  # S2: 8 values, fewer than window + horizon
    with pytest.warns(SeqtextWarning, match="1 of the 3 series is shorter than window \\+ horizon = 9 values and is "
                                            "left out of training: S2"):
        model = Forecaster(window=6, horizon=3, calibrate=0, id_embed=4, **TINY).fit(str(csv), target="v", date="t",
                                                                                   id="id")
    assert list(model.task.scalers) == ["S0", "S1"] and model.net.embed.weight.shape[0] == 2  # no untrained row
    renamed = tmp_path / "r.csv"
    renamed.write_text(csv.read_text().replace("S2,", "new,"))
    own = [r["forecast"] for r in model.forecast(3, history=str(csv)) if r["id"] == "S2"]
    new = [r["forecast"] for r in model.forecast(3, history=str(renamed)) if r["id"] == "new"]
    assert len(own) == 3 and own == new
    with pytest.warns(SeqtextWarning, match=r"^1 series too short to train on \(S2\) is not in the model, so it is "
                                            "forecast only from a history given with history"):
        assert {r["id"] for r in model.forecast(3)} == {"S0", "S1"}  # from the stored ends of the trained ones
    with warnings.catch_warnings():  # actual values of trained series only, scored from the stored ends: silent
        warnings.simplefilter("error", SeqtextWarning)
        model.evaluate(None, actuals={"id": ["S0", "S1"], "t": [41, 41], "v": [50.0, 51.0]})
    calibrated = Forecaster(window=6, horizon=3, calibrate=4, id_embed=4, **TINY).fit(str(csv), target="v", date="t",
                                                                                    id="id")
    rows = [r for r in calibrated.forecast(3, history=str(csv), levels=[80]) if r["id"] == "S2"]  # its errors too
    assert len(rows) == 3 and all(r["lower_80"] < r["forecast"] < r["upper_80"] for r in rows)
    # a series left out whose first values have no trough: the copy reads it as it reads every series, and its
    # errors are divided by a unit in that reading; all of its values (a trough at the end) would have read it
    # in log units under log1p_troughs, its errors divided by a log unit (the pooled scores 20 times the others')
    two = panel(tmp_path / "two.csv", (40, 40))
    trough = tmp_path / "z.csv"
    trough.write_text(two.read_text() + "".join(f"Z,{t},{v}\n" for t, v in enumerate([20, 21, 20, 22, 21, 20, 1, 1], 1)))
    scores = [Forecaster(window=6, horizon=3, calibrate=4, log1p_troughs=share, **TINY).fit(
        str(trough), target="v", date="t", id="id").task.intervals.to_dict() for share in (0.3, 0.0)]
    assert scores[0] == scores[1]
    model.save(tmp_path / "m")
    result = run("evaluate", "--model", tmp_path / "m", "--csv", csv, "--holdout", 2, "--baselines", "naive")
    assert "note: the model was trained on the held-out values of 2 of the 3 series" in result.stderr, result.output
    assert "in each of 3 series" in result.stdout
    said = run("predict", "--model", tmp_path / "m").stderr
    assert "1 series too short to train on (S2) is not in the model, so it is forecast only from a history given " \
           "with --csv." in said
    assert "too short to train on" not in run("predict", "--model", tmp_path / "m", "--csv", csv).stderr


def test_a_forecast_file_keeps_the_dates_of_the_series_that_have_them(tmp_path):
    """The first series (days ever further apart) cannot be dated ahead, the second (every day) and the third
    (weekdays, on over the weekend) can: the CSV keeps a date column, blank for the first."""
    irregular = [date(2020, 1, 1) + timedelta(days=k * (k + 1) // 2) for k in range(40)]
    daily = [date(2024, 1, 1) + timedelta(days=k) for k in range(40)]
    business = [d for d in (date(2024, 1, 1) + timedelta(days=k) for k in range(60)) if d.weekday() < 5][:40]
    rows = [("b1", d.isoformat(), 10 + k % 3) for k, d in enumerate(irregular)]
    rows += [("b2", d.isoformat(), 20 + k % 4) for k, d in enumerate(daily)]
    rows += [("b3", d.isoformat(), 30 + k % 5) for k, d in enumerate(business)]
    assert business[-1] == date(2024, 2, 23)  # a Friday
    csv = write(tmp_path / "mixed.csv", "id,date,v", rows)
    model = Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit(str(csv), target="v", date="date", id="id")
    model.save(tmp_path / "m")
    out = tmp_path / "f.csv"
    assert run("predict", "--model", tmp_path / "m", "--csv", csv, "--out", out).exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "id,step,date,forecast"
    assert [line.split(",")[2] for line in lines[1:]] == ["", "", "2024-02-10", "2024-02-11", "2024-02-26",
                                                          "2024-02-27"]


def test_season_of_monthly_iso_dates_reaches_the_baselines(tmp_path):
    days = [date(1990 + k // 12, k % 12 + 1, 1).isoformat() for k in range(48)]
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(48)]
    model = Forecaster(window=12, horizon=3, calibrate=0, **TINY).fit({"d": days, "v": values}, target="v", date="d")
    scores = model.evaluate({"d": days, "v": values}, 3, season=None, baselines=["snaive"])
    assert scores["results"][0]["season"] == 12  # seasonal naive repeats last year's months, not last month
    snaive = scores["results"][0]["baselines"]["snaive"]["forecast"]
    assert snaive == pytest.approx(values[33:36])  # the same months a year before the held-out 45-47


def test_fill_is_suggested_for_gaps_only_not_for_a_blank_end():
    values = list(10 + np.sin(np.arange(40) / 3))
    gap = {"v": values, "f": [1.0] * 20 + [None] + [1.0] * 19}
    with pytest.raises(DataError, match=r"missing or non-finite value at row 20 of the table; fix it, or turn on fill"):
        Forecaster(window=6, calibrate=0, **TINY).fit(gap, target="v", features=["f"])
    end = {"v": values, "f": [1.0] * 39 + [None]}
    with pytest.raises(DataError, match=r"missing or non-finite value at row 39 of the table; fix it\.$"):
        Forecaster(window=6, calibrate=0, **TINY).fit(end, target="v", features=["f"])


def test_ctrl_c_while_calibrating_keeps_the_model_and_a_resume_calibrates_it(tmp_path, monkeypatch):
    """The final fit is saved before the calibration copy trains: interrupted there, the model is kept without
    intervals, and a resume calibrates them (training nothing), as a fit that was never interrupted would."""
    from seqtext.errors import ConfigError
    from seqtext.series import forecaster

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(forecaster, "calibrate", interrupted)
    values = 100 + 10 * np.sin(np.arange(80) / 2)
    options = dict(window=6, calibrate=12, hidden=8, epochs=2, device="cpu", seed=0)
    with pytest.raises(KeyboardInterrupt, match="without prediction intervals .calibrating them on the last 12 "
                                                "values was interrupted.; resume it to calibrate them"):
        Forecaster(**options).fit(values, checkpoint_dir=tmp_path / "m")
    monkeypatch.undo()
    assert json.loads((tmp_path / "m" / "config.json").read_text())["series"]["calibrate"] == 12
    kept = Forecaster.load(tmp_path / "m")
    assert kept.task.intervals is None and len(kept.predict(3)) == 3
    with pytest.raises(DataError, match=r"intervals are not calibrated yet \(its training, or their calibration, "
                                        r"was interrupted\); resume it with seqtext.Forecaster.resume to calibrate"):
        kept.predict(3, levels=[80])
    resumed = Forecaster.resume(tmp_path / "m", values, checkpoint_dir=tmp_path / "m")
    straight = Forecaster(**options).fit(values)
    assert resumed.task.intervals.to_dict() == straight.task.intervals.to_dict()
    np.testing.assert_array_equal(resumed.predict(3), kept.predict(3))  # its weights as they were
    assert Forecaster.load(tmp_path / "m").task.intervals.to_dict() == straight.task.intervals.to_dict()
    with pytest.raises(ConfigError, match="already finished"):  # calibrated now: nothing is left to resume
        Forecaster.resume(tmp_path / "m", values)


def test_the_api_warns_when_it_scores_values_the_model_was_trained_on():
    import warnings

    from seqtext import Forecaster
    from seqtext.errors import SeqtextWarning

    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(40)]
    table = {"month": months, "value": [float(v % 7 + v / 10) for v in range(40)]}
    earlier = {k: v[:-5] for k, v in table.items()}
    options = dict(window=4, hidden=4, epochs=1, calibrate=0, device="cpu", date="month")
    model = Forecaster(**options).fit(table)
    with pytest.warns(SeqtextWarning, match="the model was trained on values up to 2003-04, so it has seen the "
                                            "held-out values; train it without them for an honest score"):
        model.evaluate(table, holdout=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqtextWarning)
        Forecaster(**options).fit(earlier).evaluate(table, holdout=5)


def test_a_date_column_asked_of_a_plain_sequence_is_refused_not_dropped():
    values = list(50 + 10 * np.sin(np.arange(60) / 2))
    with pytest.raises(DataError, match=r"^a date column 'month' was asked for but the series is a single sequence "
                                        r"of values; give a table with that column, or leave date out\.$"):
        Forecaster(window=4, **TINY).fit(values, date="month")
    model = Forecaster(window=4, date="month", **TINY).fit({"month": [f"{2000 + k // 12}-{k % 12 + 1:02d}"
                                                                      for k in range(60)], "v": values})
    assert model.settings.series.date == "month" and model.predict(2, history=values).shape == (2,)  # values alone


def test_a_forecast_beyond_what_float64_holds_is_refused_naming_the_largest_column():
    """A log model capped exp() and answered 1.01e304 for any history beyond it; a covariate far beyond the
    scale was blamed on the target's values."""
    y = 100 + 10 * np.sin(np.arange(80) / 3) + np.arange(80)
    logged = Forecaster(window=6, log=True, calibrate=0, **TINY).fit(y)
    for huge in (1e305, 1e307):
        with pytest.raises(DataError, match="^" + re.escape(f"the forecast of the history is not finite: its values "
                                                            f"(up to {huge:g} in size) are too far beyond the scale")):
            logged.predict(3, history=[huge] * 30)
    assert np.all(np.isfinite(logged.predict(3, history=y[-30:])))
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(80)]
    model = Forecaster(window=6, features=["heat"], calibrate=0, **TINY).fit(
        {"month": months, "use": list(y), "heat": list(np.cos(np.arange(80)))}, target="use", date="month")
    heat = list(np.cos(np.arange(80)))
    heat[-10:] = [1e308] * 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's overflow in the cast to float32 is not shown
        with pytest.raises(DataError, match=r"not finite: column 'heat' \(up to 1e\+308 in size\) is too far"):
            model.predict(1, history={"month": months, "use": list(y), "heat": heat}, future={"heat": [0.5]})


def test_values_that_fill_made_up_are_forecast_from_but_never_scored(tmp_path):
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(48)]
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(48)]
    model = Forecaster(window=12, horizon=3, calibrate=0, fill=True, **TINY).fit(
        {"m": months[:36], "v": values[:36]}, target="v", date="m")
    gap = {"m": months, "v": values[:46] + [None] + values[47:]}  # the middle one of the 3 held-out values
    with pytest.warns(SeqtextWarning, match="1 of the 3 values to score is missing in the data; fill fills it to forecast from, but it is left out"):
        scores = model.evaluate(gap, 3, baselines="naive")
    row = scores["results"][0]
    assert np.isnan(row["actual"][1]) and row["scored"] == 2 and scores["values_scored"] == 2
    known = np.array(values)[[45, 47]]
    assert scores["mae"] == pytest.approx(np.mean(np.abs(np.array(row["forecast"])[[0, 2]] - known)))
    assert scores["baselines"]["naive"]["mae"] == pytest.approx(np.mean(np.abs(values[44] - known)))
    path = model.save(tmp_path / "m")
    csv = write(tmp_path / "g.csv", "m,v", [(m, "" if k == 46 else v) for k, (m, v) in enumerate(zip(months, values))])
    result = run("evaluate", "--model", path, "--csv", csv, "--json", "--baselines", "naive")  # fill: as trained
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["values_scored"] == 2 and obj["rollout"]["mae"] == pytest.approx(scores["mae"])
    assert "1 of the 3 values to score is missing in the data; --fill fills it" in result.stderr
    result = run("backtest", "--model", path, "--csv", csv, "--start", "40", "--baselines", "none", "--json")
    obj = json.loads(result.stdout)
    assert obj["origins"] == 6 and obj["values_scored"] == 6 * 3 - 2  # row 46 is in the origins 44 and 45
    assert_clean_failure(run("evaluate", "--model", path, "--csv", csv, "--no-fill"), "turn on --fill")
    wide = write(tmp_path / "w.csv", "m,v", [(m, "" if 43 <= k <= 46 else v)
                                            for k, (m, v) in enumerate(zip(months, values))])
    with pytest.warns(SeqtextWarning) as caught:
        assert [r["origin"] for r in model.backtest(wide, start=40)["results"]] == [40, 41, 42]
    assert [str(w.message).split(";")[0].split(",")[0] for w in caught] == [
        "at 2 of the 6 origins a value just before (the target's or a past-only covariate's) was made up by fill "
        "from the values after it",  # 44 and 45
        "at 1 of the 4 origins every value to score is missing in the data (filled by fill)",  # 43 scores 43-45
        "3 of the 9 values to score are missing in the data"]  # 43 in 41's, 43 and 44 in 42's


def test_a_one_step_forecast_that_read_a_value_fill_made_up_from_it_is_not_scored(tmp_path):
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(48)]
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(48)]
    model = Forecaster(window=12, horizon=3, calibrate=0, fill=True, **TINY).fit(
        {"m": months[:36], "v": values[:36]}, target="v", date="m")
    gap = {"m": months, "v": values[:46] + [None] + values[47:]}  # row 46, made up from rows 45 and 47
    with pytest.warns(SeqtextWarning) as caught:
        scores = model.evaluate(gap, 3, one_step=True, baselines="naive")
    assert "1 held-out value follows a row whose value fill made up from it, which its one-step forecast read; " \
        "it is left out of the one-step scores." in [str(w.message) for w in caught]
    row = scores["results"][0]
    assert row["scored"] == 1 and scores["values_scored"] == 1  # row 45 only: 46 made up, 47 read it
    assert scores["mae"] == pytest.approx(abs(row["forecast"][0] - values[45]))
    assert scores["baselines"]["naive"]["mae"] == pytest.approx(abs(values[44] - values[45]))
    assert model.evaluate(gap, 3)["values_scored"] == 2  # a roll-out from row 45 reads neither
    with pytest.warns(SeqtextWarning, match="1 held-out value follows a row whose value fill made up from it"):
        model.forecast_holdout(gap, 3, one_step=True)  # its forecasts, unscored, with the same warning
    csv = write(tmp_path / "g.csv", "m,v", [(m, "" if k == 46 else v) for k, (m, v) in enumerate(zip(months, values))])
    result = run("evaluate", "--model", model.save(tmp_path / "m"), "--csv", csv, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["one_step"]["mae"] == pytest.approx(scores["mae"])
    assert "1 held-out value follows a row whose value --fill made up from it" in result.stderr


def test_one_step_scores_of_actual_values_given_apart_leave_out_the_same_values():
    """With the actual values in a table of their own, a value {fill} made up there (the target's, or a past-only
    covariate's) is marked in the joined table as in one table: the same values are scored, the same way."""
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(48)]
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(48)]
    heat = [float(np.cos(k)) for k in range(48)]
    model = Forecaster(window=12, horizon=4, calibrate=0, fill=True, past_features=["heat"], **TINY).fit(
        {"m": months[:36], "v": values[:36], "heat": heat[:36]}, target="v", date="m")
    v = values[:45] + [None] + values[46:]  # row 45: made up from 44 and 46
    h = heat[:42] + [None] + heat[43:]  # row 42's covariate: made up from 41 and 43
    whole = {"m": months, "v": v, "heat": h}
    history = {k: c[:40] for k, c in whole.items()}
    later = {k: c[40:] for k, c in whole.items()}
    with pytest.warns(SeqtextWarning, match="2 held-out values follow a row whose value fill made up from them"):
        apart = model.evaluate(history, actuals=later, one_step=True)
    with pytest.warns(SeqtextWarning, match="2 held-out values follow"):
        one = model.evaluate(whole, 8, one_step=True)
    assert apart["values_scored"] == one["values_scored"] == 5  # 8 less 45 (made up), 43 and 46 (read one)
    assert apart["mae"] == pytest.approx(one["mae"])


def test_a_one_step_forecast_with_no_value_left_to_score_scores_nan_and_is_left_out_of_the_means():
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(48)]
    gap = values[:46] + [None] + values[47:]  # of the last 2: row 46 made up, row 47 read it
    model = Forecaster(window=12, horizon=2, calibrate=0, fill=True, **TINY).fit(values[:36])
    with pytest.warns(SeqtextWarning) as caught:
        alone = model.evaluate(gap, 2, one_step=True, levels=None)
    assert any("no held-out value is left to score one step ahead, so the one-step scores are NaN" in str(w.message)
               for w in caught)
    assert alone["values_scored"] == 0 and all(math.isnan(alone[k]) for k in ("mae", "rmse", "mape", "smape"))
    many = Forecaster(window=12, horizon=2, calibrate=0, fill=True, id="id", **TINY).fit(
        {"id": ["a"] * 36 + ["b"] * 36, "v": values[:36] * 2}, target="v")
    with pytest.warns(SeqtextWarning) as caught:
        both = many.evaluate({"id": ["a"] * 48 + ["b"] * 48, "v": values + gap}, 2, one_step=True,
                             baselines="snaive")
    assert any("1 of the 2 series keep no value to score one step ahead and are left out of the one-step means: b"
               in str(w.message) for w in caught)
    a, b = both["results"]
    assert math.isnan(b["smape"]) and both["smape"] == pytest.approx(a["smape"]) and both["values_scored"] == 2
    assert both["beats_snaive"] == float(a["mae"] < a["baselines"]["snaive"]["mae"])  # over the series scored


def test_a_value_fill_would_make_up_from_the_held_out_ones_is_never_forecast_from(tmp_path):
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(48)]
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(48)]
    model = Forecaster(window=12, horizon=3, calibrate=0, fill=True, **TINY).fit(
        {"m": months[:36], "v": values[:36]}, target="v", date="m")
    gap = {"m": months, "v": values[:44] + [None] + values[45:]}  # row 44, just before the last 3
    with pytest.raises(DataError, match=r"a value before the held-out ones \(the target's or a past-only "
                                        r"covariate's\) is missing \(row 44 of the table\), and fill would make it "
                                        r"up from the held-out values"):
        model.evaluate(gap, 3)
    assert np.isfinite(model.evaluate(gap, 2)["mae"])  # row 44 lies between two known values (43 and 45)
    panel = {"id": ["A"] * 48 + ["B"] * 48, "m": months * 2, "v": gap["v"] + values}
    many = Forecaster(window=12, horizon=3, calibrate=0, fill=True, id="id", **TINY).fit(
        {k: [v for v, m in zip(panel[k], panel["m"]) if m < "2003-01"] for k in panel}, target="v", date="m")
    with pytest.warns(SeqtextWarning, match=r"missing in 1 of the 2 series, .* left out: A\."):
        scores = many.evaluate(panel, 3)
    assert [r["id"] for r in scores["results"]] == ["B"]
    both = dict(panel, v=gap["v"] * 2)
    with pytest.raises(DataError, match=r"is missing \(every series: A, B\)"):
        many.evaluate(both, 3)
    csv = write(tmp_path / "g.csv", "m,v", [(m, "" if v is None else v) for m, v in zip(months, gap["v"])])
    assert_clean_failure(run("evaluate", "--model", model.save(tmp_path / "m"), "--csv", csv),
                         "is missing (line 46 of", "g.csv), and --fill would make it up from the held-out values",
                         "(--holdout)")


def test_an_interval_width_is_compared_with_seasonal_naives_over_the_same_scored_steps():
    """Seasonal naive's interval widens each season: over 3 steps at season 2, the third step's is wider, so
    leaving out the made-up second value changes the mean width; it is left out of both widths."""
    from seqtext.series import baselines as base

    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(60)]
    values = [100 + 20 * np.sin(2 * np.pi * k / 12) + k for k in range(60)]
    model = Forecaster(window=12, horizon=3, calibrate=12, fill=True, **TINY).fit(
        {"m": months[:57], "v": values[:57]}, target="v", date="m")
    gap = {"m": months, "v": values[:58] + [None] + values[59:]}
    with pytest.warns(SeqtextWarning, match="1 of the 3 values to score"):
        row = model.evaluate(gap, 3, season=2, levels=[80])["results"][0]
    interval = row["intervals"]["80"]
    lower, upper = base.seasonal_naive_interval(np.array(values[:57]), 3, 2, 80)
    scored = [0, 2]
    width = np.mean(np.subtract(interval["upper"], interval["lower"])[scored])
    assert interval["width"] == pytest.approx(width)
    assert interval["width_vs_snaive"] == pytest.approx(width / np.mean((upper - lower)[scored]))
    assert (upper - lower)[2] > (upper - lower)[1]  # over all three steps the ratio would differ


def test_scoring_a_series_with_a_blank_end_says_the_values_to_score_must_be_known(tmp_path):
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(40)]
    values = [10 + k % 5 for k in range(40)]
    model = Forecaster(window=6, horizon=2, calibrate=0, **TINY).fit({"m": months, "v": values}, target="v", date="m")
    path = model.save(tmp_path / "m")
    csv = write(tmp_path / "e.csv", "m,v", [(m, v if k < 38 else "") for k, (m, v) in enumerate(zip(months, values))])
    for command in ("evaluate", "backtest"):
        result = run(command, "--model", path, "--csv", csv)
        assert_clean_failure(result, "column 'v' is blank from line 40 of", "the values to train on or to score must "
                             "be known, so leave those rows out")
        assert "training reads" not in result.output

"""``seqtext forecast train | predict | evaluate`` driven by click's CliRunner."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner

from seqtext import load
from seqtext.cli import cli
from seqtext.series import Forecaster

from conftest import assert_clean_failure

FAST = ["--hidden", "8", "--epochs", "5", "--quiet", "--device", "cpu"]
HEADER = "month,use,heat,people"


def run(*args):
    return CliRunner().invoke(cli, ["forecast", *map(str, args)])


def write_csv(path, n=72, rows=None):
    if rows is None:
        t = np.arange(n)
        heat = 1 + 0.3 * np.cos(2 * np.pi * t / 12)
        use = (50 + t) * heat
        rows = [f"{2000 + k // 12:04d}-{k % 12 + 1:02d},{use[k]:.3f},{heat[k]:.4f},{2 + (k > n // 2)}"
                for k in range(n)]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("series") / "use.csv")


FUTURE = ["2006-01,,1.3,3", "2006-02,,1.25,3", "2006-03,,1.15,3", "2006-04,,1.0,3", "2006-05,,0.85,3",
          "2006-06,,0.75,3"]  # the covariates of the months after the data, their target blank


@pytest.fixture(scope="module")
def ahead(data, tmp_path_factory):
    """The data followed by the covariates of the three months after it (known ahead of the target)."""
    rows = data.read_text().splitlines()[1:] + FUTURE[:3]
    return write_csv(tmp_path_factory.mktemp("series") / "ahead.csv", rows=rows)


@pytest.fixture(scope="module")
def model_dir(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "use"
    result = run("train", "--csv", data, "--target", "use", "--features", "heat,people", "--date", "month",
                 "--window", "12", "--horizon", "3", "--log", "--skip", "--weight-decay", "0.001", "--weight-drop", "0.2",
                 "--optimizer", "sgd", "--lr", "0.05", "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    assert f"model written to {out}" in result.output
    return out


def test_train_writes_a_series_model_directory(model_dir):
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "metrics.jsonl", "model.safetensors",
                                                           "scaler.json", "trainer.pt"]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["kind"] == "series" and config["format_version"] == 2
    assert config["series"]["features"] == ["heat", "people"] and config["series"]["log"] is True
    assert config["series"]["skip"] is True and config["train"]["weight_decay"] == 0.001
    assert config["core"]["weight_drop"] == 0.2 and config["train"]["optimizer"] == "sgd"
    assert isinstance(load(model_dir), Forecaster)
    assert len((model_dir / "metrics.jsonl").read_text().splitlines()) == 5


def test_train_help_and_report_put_the_calibration_copy_after_the_model():
    from types import SimpleNamespace

    from seqtext.cli.series_report import trained

    text = " ".join(run("train", "--help").output.split())
    assert "at most every 2 s" in text and "Then a copy is trained without the last values" in text
    assert "the larger of the horizon and the season the dates suggest, at least 12" in text
    summary = {"train_values": 120, "train_windows": 97, "epochs_run": 3, "seconds": 1.0}
    report = CliRunner().invoke(click.Command("r", callback=lambda: trained("runs/x", summary, SimpleNamespace(
        counts=[40, 38], values=12))), [])
    assert "78 rolling-origin errors of a copy fitted without the last 12 values" in report.output


def test_predict_text_and_json(model_dir, ahead):
    result = run("predict", "--model", model_dir, "--csv", ahead, "--steps", "3")
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split("\t") == ["date", "forecast"]
    assert [line.split("\t")[0] for line in lines] == ["2006-01", "2006-02", "2006-03"]
    result = run("predict", "--model", model_dir, "--csv", ahead, "--steps", "3", "--json")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    values = [row["forecast"] for row in obj["forecast"]]
    assert obj["steps"] == 3 and obj["forecast"][0]["date"] == "2006-01"
    np.testing.assert_allclose(values, load(model_dir).predict(steps=3, history=ahead))
    assert [float(line.split("\t")[1]) for line in lines] == pytest.approx(values, abs=1e-4)


def test_predict_from_the_end_of_training(model_dir, data, tmp_path):
    result = run("predict", "--model", model_dir, "--json")  # the covariates of the months ahead are not known
    assert_clean_failure(result, "the covariates heat, people are known ahead, so forecasting 3 steps needs them "
                                 "for the next 3 steps but 0 were given; add them as rows after the last target "
                                 "value.")
    assert "future=" not in result.output  # the Python parameter means nothing on the command line
    plain = Forecaster(window=12, horizon=3, hidden=8, epochs=3, device="cpu").fit(data, target="use", date="month")
    result = run("predict", "--model", plain.save(tmp_path / "plain"), "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["forecast"]) == 3  # the horizon


def test_predict_beyond_the_horizon_reads_future_rows(model_dir, data, tmp_path):
    rows = data.read_text().splitlines()[1:] + FUTURE
    future = write_csv(tmp_path / "future.csv", rows=rows)
    result = run("predict", "--model", model_dir, "--csv", future, "--steps", "6", "--json")
    assert result.exit_code == 0, result.output
    assert [r["date"] for r in json.loads(result.stdout)["forecast"]][-1] == "2006-06"
    result = run("predict", "--model", model_dir, "--csv", data, "--steps", "6")
    assert_clean_failure(result, "forecasting 6 steps needs them for the next 6 steps but 0 were given")


def test_evaluate_text_json_and_plot(model_dir, data, tmp_path):
    # the baselines beside these scores are test_series_baselines.py's; statsmodels' fits are left out here
    result = run("evaluate", "--model", model_dir, "--csv", data, "--holdout", "6", "--baselines", "none")
    assert result.exit_code == 0, result.output
    assert "6-step roll-out" in result.stdout and "one step ahead" in result.stdout
    assert "has seen the held-out values" in result.stderr
    png = tmp_path / "eval.png"
    result = run("evaluate", "--model", model_dir, "--csv", data, "--holdout", "6", "--json", "--season", "12",
                 "--plot", png, "--baselines", "none")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["holdout"] == 6 and obj["history"] == 66
    for key in ("rollout", "one_step"):
        assert set(obj[key]) == {"mae", "rmse", "mape", "smape", "mase"}
    assert obj["rollout"]["mape"] == pytest.approx(load(model_dir).evaluate(data, 6)["mape"], abs=1e-5)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mask = os.umask(0)
    os.umask(mask)
    assert png.stat().st_mode & 0o777 == 0o666 & ~mask  # a new file's mode, not the temporary file's 0600


def test_predict_plot_writes_a_png(model_dir, ahead, tmp_path):
    png = tmp_path / "sub" / "forecast.png"
    result = run("predict", "--model", model_dir, "--csv", ahead, "--steps", "3", "--plot", png)
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert [p.name for p in png.parent.iterdir()] == ["forecast.png"]  # no temporary file left


def test_plot_without_matplotlib_is_a_clear_message(model_dir, data, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    result = run("predict", "--model", model_dir, "--csv", data, "--plot", tmp_path / "p.png")
    assert_clean_failure(result, "--plot needs matplotlib; install it with pip install 'seqtext[plot]'", code=1)
    assert not (tmp_path / "p.png").exists()


def test_cli_import_stays_light():
    code = ("import sys, seqtext.cli.series; from seqtext.cli import cli; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------ bad input


def bad_csv(tmp_path, kind):
    rows = {
        "nonnumeric": ["2000-01,1", "2000-02,abc"] + [f"2000-{m:02d},{m}" for m in range(3, 13)],
        "nan": [f"2000-{m:02d},{m if m != 5 else 'nan'}" for m in range(1, 13)],
        "gap": [f"2000-{m:02d},{m if m != 5 else ''}" for m in range(1, 13)],
        "short": ["2000-01,1", "2000-02,2", "2000-03,3"],
        "constant": [f"2000-{m:02d},5" for m in range(1, 13)],
        "nonpositive": [f"2000-{m:02d},{m - 3}" for m in range(1, 13)],
        "unsorted": ["2000-02,1", "2000-01,2"] + [f"2000-{m:02d},{m}" for m in range(3, 13)],
    }[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_text("month,use\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "kind,extra,fragment",
    [
        ("nonnumeric", [], "non-numeric value 'abc' at line 3"),
        ("nan", [], "missing or non-finite value at line 6"),
        ("gap", [], "missing or non-finite value at line 6"),
        ("short", [], "fewer than --window + --horizon = 5"),
        ("constant", [], "is constant"),
        ("nonpositive", ["--log"], "log transform needs positive values"),
        ("unsorted", ["--date", "month"], "do not increase at line 3"),
    ],
)
def test_train_bad_data_writes_nothing(tmp_path, kind, extra, fragment):
    out = tmp_path / "model"
    result = run("train", "--csv", bad_csv(tmp_path, kind), "--target", "use", "--window", "4", "--out", out,
                 *extra, *FAST)
    assert_clean_failure(result, fragment, code=1)
    assert not out.exists() and list(tmp_path.iterdir()) == [bad_csv(tmp_path, kind)]


def test_fill_interpolates_instead(tmp_path):
    out = tmp_path / "model"
    result = run("train", "--csv", bad_csv(tmp_path, "gap"), "--target", "use", "--window", "4", "--out", out,
                 "--fill", *FAST)
    assert result.exit_code == 0, result.output
    assert load(out).settings.series.fill is True
    # predict on a history with the same gap: filled as trained, refused with --no-fill, filled with --fill
    gap = bad_csv(tmp_path, "gap")
    as_trained, refused, filled = (run("predict", "--model", out, "--csv", gap, "--json", *flag)
                                   for flag in ([], ["--no-fill"], ["--fill"]))
    assert as_trained.exit_code == 0 and as_trained.output == filled.output, as_trained.output
    assert_clean_failure(refused, "missing or non-finite value at line 6", code=1)
    assert load(out).settings.series.fill is True  # --no-fill changed this run only, not the model directory


@pytest.mark.parametrize(
    "args,fragment,code",
    [
        (["--csv", "missing.csv", "--target", "use"], "does not exist", 1),
        (["--target", "nope"], "has no column 'nope'", 1),
        (["--target", "use", "--features", "heat,wind"], "has no column 'wind'", 1),
        (["--target", "use", "--features", "use"], "both the target and a feature", 1),
        (["--target", "use", "--window", "0"], "--window", 2),
        (["--target", "use", "--horizon", "0"], "--horizon", 2),
        (["--target", "use", "--device", "quantum"], "--device must be auto, cpu, cuda, cuda:N or mps, got 'quantum'.",
         2),
    ],
)
def test_train_bad_options_write_nothing(tmp_path, data, args, fragment, code):
    out = tmp_path / "model"
    base = [] if "--csv" in args else ["--csv", data]
    result = run("train", *base, "--out", out, *FAST, *args)
    assert_clean_failure(result, fragment, code=code)
    assert not out.exists()


def test_train_holdout_leaves_the_last_values_out(data, tmp_path):
    out = tmp_path / "m"
    result = run("train", "--csv", data, "--target", "use", "--date", "month", "--window", "12", "--holdout", "6",
                 "--out", out, *FAST, "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "trained on 66 values (54 windows), 1 epoch," in result.output
    model = load(out)
    assert model.tail["dates"][-1] == "2005-06"
    result = run("evaluate", "--model", out, "--csv", data, "--holdout", "6", "--baselines", "none")
    assert result.exit_code == 0, result.output
    assert "has seen" not in result.output and "2005-07 to 2005-12" in result.output
    result = run("train", "--csv", data, "--target", "use", "--holdout", "72", "--out", tmp_path / "n", *FAST)
    assert_clean_failure(result, "leaves nothing to train on", code=2)


def test_predict_and_evaluate_bad_input(model_dir, data, tmp_path):
    assert_clean_failure(run("predict", "--model", model_dir, "--csv", data, "--steps", "0"), "--steps", code=2)
    other = tmp_path / "other.csv"
    other.write_text(data.read_text().replace("heat,people", "heat,persons"), encoding="utf-8")
    assert_clean_failure(run("predict", "--model", model_dir, "--csv", other), "has no column 'people'")
    assert_clean_failure(run("predict", "--model", tmp_path / "none"), "does not exist")
    assert_clean_failure(run("evaluate", "--model", model_dir, "--csv", data, "--holdout", "70"),
                         "leaves fewer than the window of 12")
    assert_clean_failure(run("evaluate", "--model", model_dir, "--csv", data, "--holdout", "0"), "--holdout",
                         code=2)
    assert_clean_failure(run("predict", "--model", model_dir, "--plot", tmp_path / "p.gif"), ".png", code=2)
    assert not (tmp_path / "p.gif").exists()


def test_outputs_that_cannot_be_written_are_refused_before_any_work_and_neither_is_half_done(model_dir, data, ahead,
                                                                                              tmp_path, monkeypatch):
    (tmp_path / "rep.csv").mkdir()
    result = run("predict", "--model", model_dir, "--plot", tmp_path / "pr.png", "--out", tmp_path / "rep.csv")
    assert_clean_failure(result, f"--out {tmp_path / 'rep.csv'} is a folder; give the path of a file", code=2)
    assert not (tmp_path / "pr.png").exists()  # the plot was written before the CSV failed
    (tmp_path / "adir.png").mkdir()
    (tmp_path / "afile").write_text("x")
    from seqtext.series import baselines

    def no_fits(*args, **kwargs):
        raise AssertionError("the baselines ran before the output paths were checked")

    monkeypatch.setattr(baselines, "forecast", no_fits)
    for flag, path, said in (("--plot", tmp_path / "adir.png", "is a folder"),
                             ("--out", tmp_path / "afile" / "r.csv", f"{tmp_path / 'afile'} is a file, not a folder")):
        result = run("backtest", "--model", model_dir, "--csv", data, flag, path)
        assert_clean_failure(result, f"{flag} {path}", said, code=2)
    result = run("evaluate", "--model", model_dir, "--csv", data, "--plot", tmp_path / "afile" / "e.png")
    assert_clean_failure(result, "is a file, not a folder", code=2)
    # an image that cannot be written after all (its temporary name is too long for the file system): neither
    # output is written, and a report already at the --out path stays as it was
    out = tmp_path / "report.csv"
    out.write_text("my notes\n")
    png = tmp_path / ("p" * 245 + ".png")
    result = run("predict", "--model", model_dir, "--csv", ahead, "--out", out, "--plot", png)
    assert_clean_failure(result, "cannot write the plot", code=2)
    assert out.read_text() == "my notes\n" and not png.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.png", "afile", "rep.csv", "report.csv"]
    # the report that cannot be moved into place after the image was written (a file the user may not replace):
    # the image written is taken back, the one there before returned
    import seqtext.atomic

    replace = os.replace

    def refused(src, dst):
        if os.fspath(dst) == os.fspath(out):
            raise PermissionError(1, "Operation not permitted")
        return replace(src, dst)

    monkeypatch.setattr(seqtext.atomic.os, "replace", refused)
    png = tmp_path / "p.png"
    for earlier in (b"my old image", None):
        if earlier:
            png.write_bytes(earlier)
        result = run("predict", "--model", model_dir, "--csv", ahead, "--out", out, "--plot", png)
        assert_clean_failure(result, f"cannot write {out} (Operation not permitted)")
        assert out.read_text() == "my notes\n"
        assert (png.read_bytes() == earlier) if earlier else not png.exists()
        png.unlink(missing_ok=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.png", "afile", "rep.csv", "report.csv"]


def test_an_output_that_names_an_input_file_is_refused(model_dir, data, ahead, tmp_path):
    copy = tmp_path / "c.csv"
    copy.write_text(data.read_text())
    before = copy.read_text()
    for args in (("backtest", "--csv", copy, "--baselines", "naive", "--out", copy),
                 ("predict", "--csv", copy, "--out", tmp_path / "." / "c.csv")):
        result = run(args[0], "--model", model_dir, *args[1:])
        assert_clean_failure(result, "is the --csv file this command reads, which it would replace", code=2)
    actuals = tmp_path / "a.png"  # a file of any name may be read as the actual values
    actuals.write_text(data.read_text())
    result = run("evaluate", "--model", model_dir, "--csv", data, "--actuals", actuals, "--plot", actuals)
    assert_clean_failure(result, "is the --actuals file this command reads", code=2)
    assert copy.read_text() == before and actuals.read_text() == data.read_text()
    loop = tmp_path / "loop.csv"  # a link to itself: no input of this command, so written (it raised)
    loop.symlink_to("loop.csv")
    result = run("predict", "--model", model_dir, "--csv", ahead, "--out", loop)
    assert result.exit_code == 0, result.output
    assert loop.read_text().startswith("step,date,forecast\n")


def test_a_history_below_zero_for_a_log_model_names_the_training_flag(model_dir, data, tmp_path):
    rows = data.read_text().splitlines()
    first = rows[1].split(",")
    bad = write_csv(tmp_path / "z.csv", rows=[",".join([first[0], "0", *first[2:]])] + rows[2:])
    result = run("evaluate", "--model", model_dir, "--csv", bad, "--baselines", "none")
    assert_clean_failure(result, "this model was trained with --log, so retrain without it")
    assert "the model's log transform" not in result.output


def test_an_image_taken_back_is_the_earlier_one_even_when_stopped_as_it_was_written(tmp_path, monkeypatch):
    """Ctrl-C the moment the new image is in place, before the report is: the earlier image returns, a link as a
    link (copied, where hard links are refused), and no backup is left beside it."""
    import seqtext.cli.series_checks as checks

    target = tmp_path / "chart.png"
    target.write_bytes(b"old image")
    plot = tmp_path / "p.png"
    for link in (False, True):
        if link:
            plot.symlink_to(target.name)
            monkeypatch.setattr(checks.os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(1, "refused")))
        else:
            plot.write_bytes(b"old image")

        def write_plot():
            plot.unlink()
            plot.write_bytes(b"new image")
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            checks.write_both(lambda then: then(), write_plot, plot)
        assert plot.is_symlink() == link and plot.read_bytes() == b"old image"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.png", "p.png"]
        plot.unlink()

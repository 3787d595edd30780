"""Calibrating prediction intervals at fit time: a copy of the model trained without the last values of each
series forecasts them from rolling origins, and its errors become the conformal scores
(:class:`seqtext.series.intervals.Calibration`)."""

from __future__ import annotations

import warnings

import numpy as np

from seqtext.errors import DataError, SeqtextWarning, counted
from seqtext.series.dates import season_of
from seqtext.series.infer import scaled_forecasts
from seqtext.series.intervals import Calibration
from seqtext.series.panel import read_series
from seqtext.session import TrainingInterrupted


_NAMED = ("window", "horizon", "calibrate")  # the options the shortfall warnings name


def calibration_values(model, items, holdout: int) -> tuple[int, SeqtextWarning | None]:
    """How many values of each series calibrate the intervals: the ``calibrate`` option when given; by default
    the larger of the horizon and the season the dates suggest, at least 12, when the fit without them keeps
    twice ``window + horizon`` values of some series (the horizon alone when only that fits); else 0.  With it,
    a warning to give once the model is trained, when the default fell short (None: none).
    ``items``: the series trained on, ``[(id, Table)]`` as ``read_series`` gives them."""
    cfg = model.settings.series
    if cfg.calibrate is not None:
        return cfg.calibrate, None
    longest = max(t.n for _, t in items) - holdout
    dates = items[0][1].dates
    season = season_of(dates[:longest]) if dates is not None else 1
    wanted, keep = max(cfg.horizon, season, 12), 2 * (cfg.window + cfg.horizon)
    for values in (wanted, cfg.horizon):
        if longest - values >= keep:
            short = None if values == wanted else (
                f"intervals calibrated on the last {counted(values, 'value')} only (the horizon): "
                f"{wanted} would leave fewer than 2 x ({{window}} + {{horizon}}) = {keep} of the longest series "
                f"({longest}) to fit on; give {{calibrate}} N to choose, or 0 for no intervals.")
            return values, None if short is None else SeqtextWarning(short, params=_NAMED)
    return 0, SeqtextWarning(f"no prediction intervals: the longest series ({counted(longest, 'value')}) cannot spare "
                             f"{cfg.horizon} for calibration and keep 2 x ({{window}} + {{horizon}}) = {keep} to fit "
                             "on; give {calibrate} N to calibrate on fewer, or a shorter {window}.", params=_NAMED)


def check_calibration(model, items, holdout: int, C: int) -> None:
    """Refuse a ``calibrate`` of ``C`` values that leaves no series (one series: the series) of ``items`` long
    enough to fit the calibration copy on, before any training."""
    if not C:
        return
    cfg = model.settings.series
    lengths = [t.n - holdout - C for _, t in items]
    need = cfg.window + cfg.horizon
    if (min(lengths) if cfg.id is None else max(lengths)) < need:
        left = f"leaves {counted(max(lengths[0], 0), 'value')}" if cfg.id is None else \
            f"leaves at most {counted(max(max(lengths), 0), 'value')} of a series"
        held = f" (after the {holdout} held out)" if holdout else ""
        raise DataError(f"{{calibrate}} {C} {left}{held} to fit the calibration model on, fewer than {{window}} + "
                        f"{{horizon}} = {need}; calibrate on fewer values ({{calibrate}} 0: no intervals).",
                        params=["calibrate", "window", "horizon"])


def calibrate(model, data, holdout: int, C: int) -> Calibration:
    """Rolling-origin errors of a copy of ``model`` trained without the last ``C`` values of each series.

    ``data`` and ``holdout`` are what the final model trains on.  The errors
    are kept per series in transformed units (logs with ``log``, log(1 + y) with ``log1p``), then divided by
    the final model's interval unit of each series (:meth:`Calibration.in_interval_units`).
    """
    cfg = model.settings.series
    probe = type(model)(progress="calibrating" if model.progress else False,  # its own bar, named
                        **{**model.settings.flat(), "calibrate": 0})
    items = read_series(data, probe.settings.series)
    check_calibration(model, items, holdout, C)
    # Each series read as the final model reads it: chosen on fewer values, ``log1p_troughs`` could read a series
    # in log units for one and not the other, and its errors would be pooled in the wrong units.
    readings = {key: (s.kind, s.target_transform) for key, s in model.task.scalers.items()}
    try:
        with warnings.catch_warnings():  # what the final fit warned of already, for fewer values
            warnings.simplefilter("ignore", SeqtextWarning)
            probe._fit({"series": data, "holdout": holdout + C, "readings": readings})
    except TrainingInterrupted:  # nothing is saved yet, so there is nothing to resume: a plain interruption
        raise KeyboardInterrupt from None
    jobs = []
    for key, table in items:
        n = table.n - holdout
        table = table.head(n)
        origins = list(range(max(n - C, cfg.window), n))
        if origins:
            jobs.append((key, table, n, origins))
    forecasts, aheads = scaled_forecasts(probe, jobs, C)  # per job (origins, C): the probe's scaled units, ratios
    raw, units = {}, {}
    for (key, table, n, origins), scaled, ahead in zip(jobs, forecasts, aheads):
        scaler = probe.task.scaler_for(key, table, min(origins))  # as scaled_forecasts scaled it
        # each series' errors are divided by its interval unit under the final model; a series left out of it
        # (too short to train on) by the copy's scaler: its errors are in the copy's reading of it, which
        # log1p_troughs chose on the values before its first origin
        units[key] = model.task.scalers.get(key, scaler)
        guess = scaled * scaler.scale[0] + scaler.center[0]  # (origins, C) transformed units
        actual = np.full((len(origins), C), np.nan)
        for j, o in enumerate(origins):
            known = table.target[o:o + C]
            actual[j, : len(known)] = known
        actual = scaler.forward_target(actual / ahead)  # each origin's, in the units it forecast in
        raw[key] = [[actual[j, k] - guess[j, k] for j, o in enumerate(origins) if o + k < n] for k in range(C)]
    if not raw:
        raise DataError("no series is long enough to calibrate intervals on; give longer series or a smaller "
                        "{calibrate}.", params=["calibrate"])
    return Calibration(C, [[]] * C, [0] * C, raw=raw).in_interval_units(units)

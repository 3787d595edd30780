"""Baselines to read every score against: naive, seasonal naive, drift, and ETS and Theta fitted by statsmodels.

Each baseline forecasts ``steps`` values after a history from that history
alone, as a model scored on the same holdout does:

- ``naive``: the last value;
- ``snaive``: the value one season earlier (the naive one without a season);
- ``drift``: the line from the first value through the last one, extended;
- ``ets``: statsmodels ``ETSModel`` with an additive trend, damped or not,
  and additive errors and season, or (for a positive series) multiplicative
  ones: the form with the lowest AICc;
- ``theta``: statsmodels ``ThetaModel`` (the Theta method of Assimakopoulos
  and Nikolopoulos, deseasonalised when the season tests significant).

ETS and Theta need statsmodels (``pip install 'seqtext[stats]'``); without it
they are skipped and :func:`available` says so.  statsmodels is imported
only when one of them runs.  A fit that fails (a history too short for it,
one statsmodels cannot fit) forecasts NaN: the scores count it as failed,
never as a forecast.  A constant history is the one case not left to
statsmodels: ETS and Theta forecast the constant (see :func:`_degenerate`).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from statistics import NormalDist

import numpy as np

from seqtext.errors import ConfigError

NAMES = ("naive", "snaive", "drift", "ets", "theta")
LABELS = {"naive": "naive", "snaive": "seasonal naive", "drift": "drift", "ets": "ETS (statsmodels)",
          "theta": "Theta (statsmodels)"}
NEED_STATSMODELS = ("ets", "theta")


def parse(names) -> list[str]:
    """Baseline names from a list or a comma-separated string; ``all`` is every one, ``none`` (or empty) none."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names or [])
    if names in (["all"], ["none"]):
        return list(NAMES) if names == ["all"] else []
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ConfigError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(NAMES)}, all or none "
                          "({baselines}).", params=["baselines"])
    return list(dict.fromkeys(names))


def have_statsmodels() -> bool:
    return importlib.util.find_spec("statsmodels") is not None


def available(names) -> tuple[list[str], list[str]]:
    """(the baselines that can run here, those skipped for want of statsmodels)."""
    if have_statsmodels():
        return list(names), []
    return [n for n in names if n not in NEED_STATSMODELS], [n for n in names if n in NEED_STATSMODELS]


def naive(history, steps: int, season: int = 1) -> np.ndarray:
    return np.full(steps, float(np.asarray(history, dtype=np.float64)[-1]))


def seasonal_naive(history, steps: int, season: int = 1) -> np.ndarray:
    y = np.asarray(history, dtype=np.float64)
    if season <= 1 or len(y) < season:
        return naive(y, steps)
    return y[len(y) - season + np.arange(steps) % season]


def drift(history, steps: int, season: int = 1) -> np.ndarray:
    y = np.asarray(history, dtype=np.float64)
    slope = (y[-1] - y[0]) / (len(y) - 1) if len(y) > 1 else 0.0
    return y[-1] + slope * np.arange(1, steps + 1)


def ets_forms(history, season: int = 1) -> list[dict]:
    """The ETSModel forms :func:`ets` chooses from: additive trend, damped or not, with additive errors and
    season, or (for a positive series) multiplicative ones; no season for a short or non-seasonal series."""
    y = np.asarray(history, dtype=np.float64)
    seasonal = season if season > 1 and len(y) >= 2 * season + 2 else None
    kinds = ["add"] + (["mul"] if y.min() > 0 else [])
    return [dict(error=kind, trend="add", damped_trend=damped, seasonal=kind if seasonal else None,
                 seasonal_periods=seasonal) for kind in (kinds if seasonal else ["add"]) for damped in (True, False)]


MIN_HISTORY = 2  # ETS and Theta fit a level and a trend: one value has no trend (statsmodels fails or makes one up)


def _degenerate(y: np.ndarray, steps: int) -> np.ndarray | None:
    """The forecast of a history that statsmodels' ETS and Theta cannot fit as a series, or None to fit it.

    Too short a history has none (NaN: the fit failed).  A constant one
    forecasts the constant: statsmodels' fits of it are degenerate (ETS
    fails on all zeros, Theta's trend of 7.0 x 30 climbs to 12.6), not
    forecasts.  Every other history is a real statsmodels fit.
    """
    if len(y) < MIN_HISTORY:
        return np.full(steps, np.nan)
    if np.all(y == y[0]):
        return np.full(steps, float(y[0]))
    return None


def ets(history, steps: int, season: int = 1) -> np.ndarray:
    """statsmodels ETSModel: the form of :func:`ets_forms` with the lowest AICc (NaN when none fits)."""
    y = np.asarray(history, dtype=np.float64)
    special = _degenerate(y, steps)
    if special is not None:
        return special
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    best, best_aicc = None, math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for form in ets_forms(y, season):
            try:
                fit = ETSModel(y, **form).fit(disp=False)
            except (ValueError, IndexError, np.linalg.LinAlgError, ZeroDivisionError):
                continue
            forecast = np.asarray(fit.forecast(steps), dtype=np.float64)
            if np.isfinite(fit.aicc) and fit.aicc < best_aicc and np.isfinite(forecast).all():
                best, best_aicc = forecast, fit.aicc
    return best if best is not None else np.full(steps, np.nan)


def theta(history, steps: int, season: int = 1) -> np.ndarray:
    """statsmodels ThetaModel, deseasonalised (multiplicatively for a positive series) when the season tests
    significant (NaN when it cannot be fitted)."""
    y = np.asarray(history, dtype=np.float64)
    special = _degenerate(y, steps)
    if special is not None:
        return special
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = season > 1 and len(y) >= 2 * season
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = ThetaModel(y, period=season if seasonal else 1, deseasonalize=seasonal,
                             method="auto" if y.min() > 0 else "additive").fit()
            forecast = np.asarray(fit.forecast(steps), dtype=np.float64)
        except (ValueError, IndexError, np.linalg.LinAlgError, ZeroDivisionError):
            return np.full(steps, np.nan)
    return forecast if np.isfinite(forecast).all() else np.full(steps, np.nan)


FORECASTERS = {"naive": naive, "snaive": seasonal_naive, "drift": drift, "ets": ets, "theta": theta}


def forecast(names, history, steps: int, season: int = 1) -> dict[str, np.ndarray]:
    """Each named baseline's forecast of ``steps`` values after ``history``."""
    return {name: FORECASTERS[name](history, steps, season) for name in names}


def seasonal_naive_interval(history, steps: int, season: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The seasonal-naive forecast's normal prediction interval (Hyndman & Athanasopoulos, FPP 5.5).

    sigma is the root mean square of the in-sample seasonal differences, and
    step h's spread grows with the number of seasons it reaches ahead:
    sigma * sqrt(floor((h - 1) / season) + 1).
    """
    y = np.asarray(history, dtype=np.float64)
    m = season if season > 1 and len(y) > season else 1
    sigma = float(np.sqrt(np.mean((y[m:] - y[:-m]) ** 2))) if len(y) > m else 0.0
    z = NormalDist().inv_cdf(0.5 + level / 200)
    spread = z * sigma * np.sqrt(np.arange(steps) // m + 1)
    centre = seasonal_naive(y, steps, m)
    return centre - spread, centre + spread

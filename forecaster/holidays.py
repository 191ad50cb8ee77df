"""Chinese port holidays as a Prophet ``holidays`` table with stable names (reference §2.4).

We do not use ``add_country_holidays('CN')``. With holidays 0.109 it creates one-off names like
"Day off (substituted from 02/04/2024)", and Prophet drops any name not seen in training at
predict time. Its 25 regressors also double fit time. Here each holiday has one name every year,
so an effect learned from one occurrence applies to the next.

Limits: a 28-day window holds at most one occurrence, and learns effects only for the window
days it saw. For a full Spring Festival effect use a >= 2-year model, or rule-based suppression.
Make-up working weekends (调休) are not modelled.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

# Lunar New Year's Day per year (State Council holiday notices).
SPRING_FESTIVAL = {2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26"}

# Days around ``ds``. Ports slow down about two weeks before Lunar New Year and recover about
# three weeks after; Golden Week is 1-7 October (holidays/definitions PR #171 used 14 + 14 and
# 7 days for factories). Tune on data.
WINDOWS = {"spring_festival": (-14, 21), "golden_week": (0, 6)}


def cn_holidays() -> pd.DataFrame:
    """``holiday, ds, lower_window, upper_window`` for 2024-2028, names ``spring_festival`` and
    ``golden_week``."""
    rows = [("spring_festival", f"{year}-{md}") for year, md in SPRING_FESTIVAL.items()]
    rows += [("golden_week", f"{year}-10-01") for year in SPRING_FESTIVAL]
    df = pd.DataFrame(rows, columns=["holiday", "ds"])
    df["ds"] = pd.to_datetime(df["ds"])
    df["lower_window"] = df["holiday"].map(lambda h: WINDOWS[h][0])
    df["upper_window"] = df["holiday"].map(lambda h: WINDOWS[h][1])
    return df


def holidays_overlapping(ds: pd.Series) -> pd.DataFrame | None:
    """Every occurrence of each holiday whose window overlaps ``[ds.min(), ds.max()]``, or None.

    A holiday that never occurs in the training window cannot get an effect. Leaving it out saves
    one regressor per window day (36 for Spring Festival).
    """
    names, start, end = _spans()
    seen = set(names[(end > np.datetime64(ds.min())) & (start <= np.datetime64(ds.max()))])
    if not seen:
        return None
    table = cn_holidays()
    return table[table["holiday"].isin(seen)].reset_index(drop=True)


@cache
def _spans() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holiday names and window bounds as arrays, built once: this runs for every fit (the
    pandas version cost ~15 ms of a ~100 ms fit)."""
    table = cn_holidays()
    start = table["ds"] + pd.to_timedelta(table["lower_window"], unit="D")
    end = table["ds"] + pd.to_timedelta(table["upper_window"] + 1, unit="D")
    return (
        table["holiday"].to_numpy(),
        start.to_numpy(dtype="datetime64[ns]"),
        end.to_numpy(dtype="datetime64[ns]"),
    )

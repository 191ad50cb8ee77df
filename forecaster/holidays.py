"""Chinese port holidays as a Prophet ``holidays`` table with stable names (reference §2.4).

Dates come from the ``holidays`` package (a Prophet dependency): Lunar New Year from its lunar
calendar (1950-2100), make-up working weekends (调休) from the State Council notices it ships
(``China().weekend_workdays``; with holidays 0.109, through 2026). A year the installed release
has no notice for still gets Spring Festival and Golden Week, but no make-up workdays.

We do not use ``add_country_holidays('CN')``. With holidays 0.109 it creates one-off names like
"Day off (substituted from 02/04/2024)", and Prophet drops any name not seen in training at
predict time. Its 25 regressors also double fit time. Here each holiday has one name every year
(``spring_festival``, ``golden_week``, ``makeup_workday``), so an effect learned from one
occurrence applies to the next.

Limits: a 28-day window holds at most one occurrence, and learns effects only for the window
days it saw. For a full Spring Festival effect use a >= 2-year model, or rule-based suppression.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import holidays
import numpy as np
import pandas as pd

# Days around ``ds``. Ports slow down about two weeks before Lunar New Year and recover about
# three weeks after; Golden Week is 1-7 October (holidays/definitions PR #171 used 14 + 14 and
# 7 days for factories). A make-up workday is one working day. Tune on data.
WINDOWS = {"spring_festival": (-14, 21), "golden_week": (0, 6), "makeup_workday": (0, 0)}

# The name ``holidays`` gives Lunar New Year's Day (also its 2nd and 3rd days; the first wins).
_LUNAR_NEW_YEAR = "Chinese New Year (Spring Festival)"


def cn_holidays(years: range = range(2024, 2029)) -> pd.DataFrame:
    """``holiday, ds, lower_window, upper_window`` for ``years``: ``spring_festival`` (Lunar New
    Year's Day), ``golden_week`` (1 October) and ``makeup_workday`` (each 调休 weekend day the
    ``holidays`` package knows), sorted by ``ds``."""
    return _table(years.start, years.stop).copy()


def makeup_workdays(years: range) -> list[dt.date]:
    """Weekend days in ``years`` that are working days by State Council notice (调休)."""
    calendar = holidays.country_holidays("CN", years=years)
    return sorted(d for d in calendar.weekend_workdays if d.year in years)


def holidays_overlapping(ds: pd.Series) -> pd.DataFrame | None:
    """Every occurrence of each holiday whose window overlaps ``[ds.min(), ds.max()]``, or None.

    A holiday that never occurs in the training window cannot get an effect. Leaving it out saves
    one regressor per window day (36 for Spring Festival). Occurrences of the year after the
    window are included so a forecast across New Year still sees them.
    """
    key = overlapping_key(ds)
    return None if key is None else overlapping_table(key).copy()


def overlapping_key(ds: Any) -> tuple[int, int, tuple[str, ...]] | None:
    """What ``holidays_overlapping`` selects, as a hashable key: the span of years and the
    names of the holidays whose windows overlap ``[ds.min(), ds.max()]``; None for none."""
    first, last = pd.Timestamp(ds.min()), pd.Timestamp(ds.max())
    names, start, end = _spans(first.year, last.year + 2)
    seen = names[(end > np.datetime64(first)) & (start <= np.datetime64(last))]
    return (first.year, last.year + 2, tuple(sorted(set(seen)))) if len(seen) else None


@lru_cache(maxsize=64)
def overlapping_table(key: tuple[int, int, tuple[str, ...]]) -> pd.DataFrame:
    """The rows of ``overlapping_key``'s holidays, built once per key (shared: do not modify
    it; ``holidays_overlapping`` hands out copies)."""
    table = _table(key[0], key[1])
    return table[table["holiday"].isin(key[2])].reset_index(drop=True)


@lru_cache(maxsize=16)
def _table(start_year: int, stop_year: int) -> pd.DataFrame:
    years = range(start_year, stop_year)
    calendar = holidays.country_holidays("CN", years=years)
    rows = [("golden_week", dt.date(year, 10, 1)) for year in years]
    for year in years:
        days = sorted(
            d for d, name in calendar.items() if d.year == year and _LUNAR_NEW_YEAR in name
        )
        rows.append(("spring_festival", days[0]))
    rows += [("makeup_workday", d) for d in makeup_workdays(years)]
    df = pd.DataFrame(rows, columns=["holiday", "ds"])
    df["ds"] = pd.to_datetime(df["ds"])
    df["lower_window"] = df["holiday"].map(lambda h: WINDOWS[h][0])
    df["upper_window"] = df["holiday"].map(lambda h: WINDOWS[h][1])
    return df.sort_values(["ds", "holiday"]).reset_index(drop=True)


@lru_cache(maxsize=16)
def _spans(start_year: int, stop_year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holiday names and window bounds as arrays, built once per span of years: this runs for
    every fit (the pandas version cost ~15 ms of a ~100 ms fit)."""
    table = _table(start_year, stop_year)
    start = table["ds"] + pd.to_timedelta(table["lower_window"], unit="D")
    end = table["ds"] + pd.to_timedelta(table["upper_window"] + 1, unit="D")
    return (
        table["holiday"].to_numpy(),
        start.to_numpy(dtype="datetime64[ns]"),
        end.to_numpy(dtype="datetime64[ns]"),
    )

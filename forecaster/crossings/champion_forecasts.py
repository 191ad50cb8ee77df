"""The forecast each series' warning champion reads in the cycle: Prophet's, a baseline's (a
seasonal naive's) computed from the series' own window, the blend of Prophet with a baseline
(``blend``), or Prophet's gated by a seasonal naive's (an agreement).

Stored indicators are counts, rates or durations, so the baselines and the blends are clipped
at zero, as the backtest of stored indicators clips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from forecaster.backtest.baselines import BASELINES
from forecaster.crossings.blend import blend
from forecaster.crossings.decision import DecisionRule
from forecaster.errors import ForecastSkipped
from forecaster.series import SeriesKey, to_utc


def warning_forecasts(
    keys: Mapping[int, SeriesKey],
    rules: Mapping[int, DecisionRule],
    prophet: Mapping[int, pd.DataFrame],
    windows: Mapping[int, pd.DataFrame],
    *,
    horizon: int,
) -> tuple[dict[int, pd.DataFrame], dict[int, pd.DataFrame]]:
    """Per series of ``rules``, the forecast its rule reads (``ds`` as UTC instants), and for
    an agreement champion the naive forecast that gates it (``decision.agreed``); a series
    without its forecast is left out and publishes no crossing this cycle. ``windows`` are the
    series' training windows as ``load_histories`` yields them (the cycle keeps those of the
    series whose champion reads a baseline, rather than reading them twice)."""
    # A blend or an agreement without Prophet's forecast (the fit failed or was skipped;
    # forecast_failure says why) would be the baseline alone, a candidate the backtest scored
    # separately and did not choose: such a series publishes nothing rather than another
    # method's warning.
    needs_prophet = {sid for sid, rule in rules.items() if rule.is_blend or rule.is_agreement}
    reads = {
        sid: rule.baseline
        for sid, rule in rules.items()
        if rule.baseline and (sid in prophet or sid not in needs_prophet) and sid in windows
    }
    base = baseline_forecasts(((keys[sid], windows[sid]) for sid in reads), reads, horizon)
    out: dict[int, pd.DataFrame] = {}
    gates: dict[int, pd.DataFrame] = {}
    for sid, rule in rules.items():
        if rule.is_blend and sid in base:
            out[sid] = blend(prophet[sid], base[sid], non_negative=True)
        elif rule.is_agreement and sid in prophet:
            out[sid] = prophet[sid]
            if sid in base:  # no naive forecast (too little history): the naive does not warn
                gates[sid] = base[sid]
        elif rule.baseline and sid not in needs_prophet and sid in base:
            out[sid] = base[sid]  # published even when Prophet failed on the series
        elif not rule.baseline and sid in prophet:
            out[sid] = prophet[sid]
    return out, gates


def baseline_forecasts(
    windows: Iterable[tuple[SeriesKey, pd.DataFrame]],
    baselines: Mapping[int, str],
    horizon: int,
) -> dict[int, pd.DataFrame]:
    """Each series' projection by its baseline (a ``baselines.BASELINES`` name: the value one
    season back, or the weekly mean, with its band from the history's own errors) from its
    window, ``ds`` as UTC instants."""
    out: dict[int, pd.DataFrame] = {}
    for key, history in windows:
        forecaster: Callable[..., pd.DataFrame] = BASELINES[baselines[key.series_id]]
        try:
            fc = forecaster(history, horizon, non_negative=True)  # all take non_negative
        except ForecastSkipped:
            continue  # less history than the baseline needs: none this cycle
        out[key.series_id] = fc.assign(ds=to_utc(fc["ds"], key.timezone))
    return out

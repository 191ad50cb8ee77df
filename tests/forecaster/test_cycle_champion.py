"""The cycle publishes each indicator's warning from its champion, and widens stored bands by
the decision's conformal factor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from forecaster.crossings import decision_store
from forecaster.crossings.blend import blend
from forecaster.crossings.decision import DecisionRule, decide
from forecaster.cycle import CycleOptions, run_cycle
from tests.forecaster.helpers import add_forecast_rule

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
NOW = END + pd.Timedelta(minutes=20)
QIANWAN = "4202-QIANWAN"
OPTIONS = CycleOptions(workers=1)
THRESHOLD = 30.0
# One spike a week, repeated exactly: the 168 h seasonal-naive projection crosses 30 at the
# hour one week after the last spike, END + 29 h, with a zero-width band (probability 1).
SPIKE_AT = END + pd.Timedelta(hours=29)


def weekly_spikes() -> np.ndarray:
    hours = pd.date_range(end=END - pd.Timedelta(hours=1), periods=14 * 24, freq="h")
    spikes = {SPIKE_AT - pd.Timedelta(weeks=k) for k in (1, 2)}
    return np.array([50.0 if h in spikes else 10.0 for h in hours])


def save_rule(engine, indicator: str, rule: DecisionRule) -> None:
    with engine.begin() as conn:
        decision_store.save_decision(
            conn, indicator, rule, false_alarm_budget=1.0, backtest_id=None
        )


def crossing(engine, sid: int):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT crossing_at, probability, lead_hours, rule FROM forecast_crossing"
                " WHERE series_id = :s"
            ),
            {"s": sid},
        ).one()


def stored_forecast(engine, sid: int) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ds, yhat, yhat_lower, yhat_upper FROM forecast_latest"
                " WHERE series_id = :s ORDER BY ds"
            ),
            {"s": sid},
        ).all()
    frame = pd.DataFrame(rows, columns=["ds", "yhat", "yhat_lower", "yhat_upper"])
    return frame.assign(ds=pd.to_datetime(frame["ds"], utc=True))


def test_a_seasonal_naive_168h_champion_publishes_the_baselines_crossing(
    engine, settings, write_hourly
):
    sid = write_hourly(QIANWAN, "lots_on_site", weekly_spikes(), END)
    add_forecast_rule(engine, "lots_on_site", THRESHOLD)
    save_rule(engine, "lots_on_site", DecisionRule(method="seasonal_naive_168h"))
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    at, probability, lead, rule = crossing(engine, sid)
    assert pd.Timestamp(at) == SPIKE_AT
    assert (probability, rule) == (1.0, "seasonal_naive_168h")
    assert lead == pytest.approx((SPIKE_AT - NOW) / pd.Timedelta(hours=1))
    assert len(stored_forecast(engine, sid)) == 48  # Prophet stays the forecast of record


def test_a_prophet_champion_publishes_prophets_crossing_as_before(engine, settings, write_hourly):
    sid = write_hourly(QIANWAN, "lots_on_site", weekly_spikes(), END)
    add_forecast_rule(engine, "lots_on_site", THRESHOLD)
    save_rule(engine, "lots_on_site", DecisionRule("edge"))
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    at, probability, _, rule = crossing(engine, sid)
    expected = decide(
        stored_forecast(engine, sid),
        THRESHOLD,
        "above",
        DecisionRule("edge"),
        origin=END - pd.Timedelta(hours=1),
        now=NOW,
    )
    assert rule == "edge" and probability == pytest.approx(expected.probability)
    assert (None if at is None else pd.Timestamp(at)) == expected.crossing_at


def test_the_conformal_factor_widens_the_stored_band_by_exactly_that_factor(
    engine, settings, write_hourly
):
    t = np.arange(14 * 24)
    values = 100 + 10 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(3).normal(0, 2, len(t))
    plain = write_hourly(QIANWAN, "hazardous_lots_held", values, END)
    widened = write_hourly(QIANWAN, "lots_on_site", values, END)
    save_rule(engine, "lots_on_site", DecisionRule(conformal_factor=2.5))
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    a, b = stored_forecast(engine, plain), stored_forecast(engine, widened)
    np.testing.assert_allclose(b["yhat"], a["yhat"], rtol=1e-9)
    np.testing.assert_allclose(b["yhat_upper"] - b["yhat"], 2.5 * (a["yhat_upper"] - a["yhat"]))
    np.testing.assert_allclose(b["yhat"] - b["yhat_lower"], 2.5 * (a["yhat"] - a["yhat_lower"]))


def weekly_naive(ds: pd.Series) -> pd.DataFrame:
    """The 168 h seasonal naive of ``weekly_spikes``: 50 at the spike hour, 10 elsewhere, with
    a zero-width band (the two weeks repeat exactly)."""
    yhat = [50.0 if t == SPIKE_AT else 10.0 for t in ds]
    return pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower": yhat, "yhat_upper": yhat})


# The weeks repeat exactly, so the three-week mean is the value a week back as well.
@pytest.mark.parametrize("method", ["blend_168h", "blend_mean_3w"])
def test_a_blend_champion_publishes_the_crossing_of_the_mean_of_prophet_and_the_naive(
    engine, settings, write_hourly, method
):
    sid = write_hourly(QIANWAN, "lots_on_site", weekly_spikes(), END)
    add_forecast_rule(engine, "lots_on_site", THRESHOLD)
    rule = DecisionRule("edge", method=method)
    save_rule(engine, "lots_on_site", rule)
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    at, probability, _, published = crossing(engine, sid)
    prophet = stored_forecast(engine, sid)
    expected = decide(
        blend(prophet, weekly_naive(prophet["ds"]), non_negative=True),
        THRESHOLD,
        "above",
        rule,
        origin=END - pd.Timedelta(hours=1),
        now=NOW,
    )
    assert published == f"{method} edge" and pd.Timestamp(at) == SPIKE_AT
    assert expected.crossing_at == SPIKE_AT and probability == pytest.approx(expected.probability)
    # Neither method alone: the naive is certain of its spike (probability 1), Prophet smooths
    # it away (its own edge rule does not fire); their mean crosses, less than surely.
    assert 0.5 < probability < 0.99
    origin = END - pd.Timedelta(hours=1)
    alone = decide(prophet, THRESHOLD, "above", DecisionRule("edge"), origin=origin, now=NOW)
    assert alone.crossing_at is None


def raw_probability(engine, sid: int) -> float:
    with engine.connect() as conn:
        sql = "SELECT raw_probability FROM forecast_crossing WHERE series_id = :s"
        return conn.execute(text(sql), {"s": sid}).scalar_one()


def test_an_agreement_champion_publishes_prophets_crossing_where_its_naive_warns_too(
    engine, settings, write_hourly
):
    t = np.arange(14 * 24)
    values = 100 + 10 * np.sin(2 * np.pi * t / 24)  # every day's peak passes 105
    sid = write_hourly(QIANWAN, "lots_on_site", values, END)
    add_forecast_rule(engine, "lots_on_site", 105.0)
    rule = DecisionRule("edge", method="agreement_24h")
    save_rule(engine, "lots_on_site", rule)
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    at, probability, _, published = crossing(engine, sid)
    origin = END - pd.Timedelta(hours=1)
    own = decide(stored_forecast(engine, sid), 105.0, "above", rule, origin=origin, now=NOW)
    assert own.crossing_at is not None and pd.Timestamp(at) == own.crossing_at
    assert probability == pytest.approx(own.probability)
    assert published == "prophet & seasonal_naive_24h edge"


def test_an_agreement_champion_is_silent_where_its_naive_does_not_warn(
    engine, settings, write_hourly
):
    # The weekly spike is a week back, not a day: the 24 h naive projects 10 all day.
    sid = write_hourly(QIANWAN, "lots_on_site", weekly_spikes(), END)
    add_forecast_rule(engine, "lots_on_site", THRESHOLD)
    save_rule(engine, "lots_on_site", DecisionRule("probability", 0.0, method="agreement_24h"))
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    at, probability, lead, published = crossing(engine, sid)
    origin = END - pd.Timedelta(hours=1)
    eager = DecisionRule("probability", 0.0)  # Prophet alone fires at its first step
    alone = decide(stored_forecast(engine, sid), THRESHOLD, "above", eager, origin=origin, now=NOW)
    assert alone.crossing_at is not None and alone.raw_probability > 0
    assert (at, lead, probability, raw_probability(engine, sid)) == (None, None, 0.0, 0.0)
    assert published == "prophet & seasonal_naive_24h p>=0"

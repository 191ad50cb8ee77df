from __future__ import annotations

import pandas as pd
import pytest

from forecaster.crossings.decision import CANDIDATES, DecisionRule, agreed, decide, published
from forecaster.crossings.threshold_crossing import Calibration

ORIGIN = pd.Timestamp("2026-04-10 09:00")


def ramp(values, half_width: float = 1.2816) -> pd.DataFrame:
    ds = pd.date_range(ORIGIN + pd.Timedelta(hours=1), periods=len(values), freq="h")
    y = pd.Series(values, dtype=float)
    return pd.DataFrame(
        {"ds": ds, "yhat": y, "yhat_lower": y - half_width, "yhat_upper": y + half_width}
    )


def test_each_rule_is_a_cut_on_the_step_probability():
    fc = ramp([7.0, 8.0, 9.0, 10.0, 11.0])  # sigma = 1 for an 80 % band of half-width 1.28
    now = ORIGIN + pd.Timedelta(minutes=20)
    edge = decide(fc, 10.0, "above", DecisionRule("edge"), origin=ORIGIN, now=now)
    yhat = decide(fc, 10.0, "above", DecisionRule("yhat"), origin=ORIGIN, now=now)
    sure = decide(fc, 10.0, "above", DecisionRule("probability", 0.8), origin=ORIGIN, now=now)
    assert edge.crossing_at == fc["ds"][2] and yhat.crossing_at == fc["ds"][3]  # P 0.16, 0.5
    assert sure.crossing_at == fc["ds"][4]  # P = 0.84 at 11
    assert yhat.lead_hours == pytest.approx(3 + 40 / 60)
    assert yhat.raw_probability == pytest.approx(0.8413, abs=1e-3) == yhat.probability
    never = decide(fc, 20.0, "above", DecisionRule(), origin=ORIGIN, now=now)
    assert never.crossing_at is None and never.lead_hours is None and never.probability < 1e-6


def test_the_published_probability_is_calibrated_when_the_backtest_gave_a_map():
    rule = DecisionRule(calibration=Calibration((0.0, 1.0), (0.0, 0.5)))
    fc = ramp([7.0, 11.0])
    decision = decide(fc, 10.0, "above", rule, origin=ORIGIN, now=ORIGIN)
    assert decision.probability == pytest.approx(decision.raw_probability / 2)


def test_the_candidates_have_distinct_names():
    assert len({r.name for r in CANDIDATES}) == len(CANDIDATES) == 15


def test_widening_keeps_a_count_band_at_zero_or_above():
    band = {"yhat": [1.0, 5.0], "yhat_lower": [0.0, 4.0], "yhat_upper": [3.0, 6.0]}
    fc = pd.DataFrame({"ds": pd.date_range("2026-03-01", periods=2, freq="h"), **band})
    wide = published(fc, "UTC", 3.0)
    assert wide["yhat_lower"].tolist() == [0.0, 2.0]
    assert wide["yhat_upper"].tolist() == [7.0, 8.0]
    unwidened = published(fc, "UTC", None)
    assert unwidened[["yhat", "yhat_lower", "yhat_upper"]].to_dict("list") == band


def test_a_published_forecast_is_in_utc_whatever_the_local_zone():
    band = {"yhat": [1.0], "yhat_lower": [0.0], "yhat_upper": [3.0]}
    fc = pd.DataFrame({"ds": [pd.Timestamp("2026-03-01 08:00")], **band})
    assert published(fc, "Asia/Shanghai", None)["ds"].tolist() == [
        pd.Timestamp("2026-03-01 00:00", tz="UTC")
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_a_zoned_forecast_crosses_at_the_same_instant_whatever_the_zones_of_origin_and_rows(zone):
    naive = ramp([7.0, 8.0, 9.0, 10.0, 11.0, 12.0])
    zoned = naive.assign(ds=naive["ds"].dt.tz_localize("UTC").dt.tz_convert(zone))
    origin = ORIGIN.tz_localize("UTC")
    now = origin + pd.Timedelta(minutes=20)
    reference = decide(naive, 10.0, "above", DecisionRule(), origin=ORIGIN, now=ORIGIN)
    for start in (origin, origin.tz_convert("Asia/Shanghai")):
        got = decide(zoned, 10.0, "above", DecisionRule(), origin=start, now=now)
        assert got.crossing_at == reference.crossing_at.tz_localize("UTC")
        assert got.lead_hours == pytest.approx(3 + 40 / 60)
    # Rows at or before the origin never count, in any zone.
    later = decide(
        zoned, 10.0, "above", DecisionRule(), origin=origin + pd.Timedelta(hours=4), now=now
    )
    assert later.crossing_at == reference.crossing_at.tz_localize("UTC") + pd.Timedelta(hours=1)


def test_naive_utc_rows_against_a_zoned_origin_are_read_as_utc():
    fc = ramp([7.0, 11.0])
    got = decide(
        fc,
        10.0,
        "above",
        DecisionRule(),
        origin=ORIGIN.tz_localize("UTC"),
        now=ORIGIN.tz_localize("UTC"),
    )
    assert got.crossing_at == fc["ds"][1].tz_localize("UTC")


def test_an_agreement_is_named_as_the_backtest_scores_it_and_waits_for_its_naive():
    rule = DecisionRule("probability", 0.3, method="agreement_168h")
    assert rule.name == "prophet & seasonal_naive_168h p>=0.3"
    assert (rule.baseline, rule.is_agreement, rule.is_blend) == ("seasonal_naive_168h", True, False)
    assert DecisionRule(method="blend_24h").is_agreement is False


def test_an_agreement_keeps_prophets_decision_only_where_the_naive_warns_too():
    calibration = Calibration((0.0, 1.0), (0.05, 0.9))
    rule = DecisionRule("edge", calibration=calibration, method="agreement_24h")
    prophet = decide(ramp([7.0, 11.0]), 10.0, "above", rule, origin=ORIGIN, now=ORIGIN)
    assert prophet.crossing_at is not None
    warns, quiet = ramp([9.0, 12.0]), ramp([9.0, 9.5])
    kept = agreed(prophet, rule, warns, origin=ORIGIN, now=ORIGIN)
    assert kept == prophet
    for gate in (quiet, None):  # the naive does not warn, or has no forecast
        silenced = agreed(prophet, rule, gate, origin=ORIGIN, now=ORIGIN)
        assert (silenced.crossing_at, silenced.lead_hours, silenced.raw_probability) == (
            None,
            None,
            0.0,
        )
        assert silenced.probability == pytest.approx(0.05)  # the calibration's value at 0
        assert (silenced.threshold, silenced.rule) == (10.0, prophet.rule)

"""A no-data rule with `expected: learned` judges a feed's silence against the site's own event
rate at that hour of the week (alerter/evaluation/learned_rate.py)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from alert_rules import NOW, add_rule, instances, put_value

from alerter.evaluation.learned_rate import (
    NEVER,
    HistoricRates,
    improbable_gap_minutes,
    read_rates,
)
from alerter.evaluation.step import evaluate_all
from alerter.rules.kinds import RuleError, parse_rule
from cargo_events import ev
from cargo_events import store as store_events

SHEKOU, CHIWAN, YANGSHAN = "5304-SHEKOU", "5304-CHIWAN", "2201-YANGSHAN"
AT = NOW + timedelta(minutes=30)
LEARNED = {"name": "feed_silent", "kind": "no_data", "minutes": 15, "expected": "learned"}


def history(site: str, per_hour: int, weeks: int = 4) -> list:
    """`per_hour` events in each of the three hours before AT, on the same weekday of past weeks."""
    events = []
    for week in range(1, weeks + 1):
        for hour in (10, 11, 12):
            for i in range(per_hour):
                hours = hour + (i + 0.5) / per_hour - 24 * 7 * week
                events.append(ev(f"{site}-{week}-{hour}-{i}", "arrived", hours, site=site))
    return events


def test_a_gap_is_improbable_once_the_expected_count_reaches_minus_log_p():
    # 60 events an hour is one a minute: p = 0.001 after ln(1000) = 6.9 minutes
    minutes = improbable_gap_minutes({0: 60.0}, AT, 0.001)
    assert minutes == pytest.approx(math.log(1000))


def test_the_expected_count_sums_over_the_hours_the_gap_spans():
    # 30 minutes of this hour at 6/h is 3 events; the hour before at 12/h adds the other 3.9
    minutes = improbable_gap_minutes({0: 6.0, 1: 12.0}, AT, 0.001)
    assert minutes == pytest.approx(30 + (math.log(1000) - 3) * 5)


def test_a_quiet_hour_never_makes_a_gap_improbable():
    assert improbable_gap_minutes({0: 0.0, 1: 0.0, 2: 1.0}, AT, 0.001) == NEVER


def test_only_a_feed_silence_check_learns_a_rate():
    with pytest.raises(RuleError) as raised:
        parse_rule({**LEARNED, "check": "stale_series"})
    assert raised.value.errors == [("expected", "only a feed_silence check learns an event rate")]


def test_the_max_probability_is_a_probability():
    with pytest.raises(RuleError) as raised:
        parse_rule({**LEARNED, "max_probability": 1})
    assert raised.value.errors[0][0] == "max_probability"


def test_the_rate_is_the_median_of_each_hour_over_the_weeks_since_the_first_event(engine):
    store_events(engine, history(SHEKOU, 2) + history(CHIWAN, 9, weeks=1))
    with engine.connect() as conn:
        rates = read_rates(conn, AT)
    assert rates[SHEKOU] == {0: 2.0, 1: 2.0, 2: 2.0}
    assert rates[CHIWAN] == {0: 9.0, 1: 9.0, 2: 9.0}  # one week of history: that week
    assert YANGSHAN not in rates  # no history: a new site


def test_a_replay_derives_at_every_hour_the_rates_the_live_read_gives(engine):
    # Shekou: four weeks; Chiwan: one week, so some hours of the window have no learned rate yet;
    # Yangshan: events only inside the window.
    later = [ev(f"y{i}", "arrived", 11 - 24 * 3 + i / 3, site=YANGSHAN) for i in range(30)]
    store_events(engine, history(SHEKOU, 2) + history(CHIWAN, 9, weeks=1) + later)
    since, until = AT - timedelta(days=8), AT
    with engine.connect() as conn:
        replayed = HistoricRates.read(conn, since, until)
        moments = [since + timedelta(minutes=37 + 173 * k) for k in range(67)]
        for now in moments:
            live = read_rates(conn, now)
            for site in (SHEKOU, CHIWAN, YANGSHAN):
                assert replayed.at(site, now) == live.get(site), (site, now)
    assert any(replayed.at(CHIWAN, now) is None for now in moments)
    assert any(replayed.at(CHIWAN, now) for now in moments)


def test_a_quiet_site_stays_normal_through_a_silence_its_rate_expects(engine, settings):
    store_events(engine, history(SHEKOU, 2))
    add_rule(engine, LEARNED)
    put_value(engine, SHEKOU, "feed_silence_minutes", 60, AT)
    evaluate_all(engine, settings, AT)
    assert instances(engine) == []


def test_a_busy_site_fires_after_the_fixed_floor_and_a_new_site_falls_back_to_it(engine, settings):
    store_events(engine, history(CHIWAN, 120))
    add_rule(engine, LEARNED)
    put_value(engine, CHIWAN, "feed_silence_minutes", 20, AT)
    put_value(engine, YANGSHAN, "feed_silence_minutes", 20, AT)
    put_value(engine, SHEKOU, "feed_silence_minutes", 10, AT)
    evaluate_all(engine, settings, AT)
    firing = {i["node_id"]: i for i in instances(engine)}
    assert set(firing) == {CHIWAN, YANGSHAN}
    assert firing[CHIWAN]["annotations"]["threshold"] == "15"


def test_a_site_whose_rate_makes_the_gap_improbable_later_shows_the_learned_limit(engine, settings):
    store_events(engine, history(SHEKOU, 6))  # 6 an hour: p = 0.001 after 69 minutes
    add_rule(engine, {**LEARNED, "for": "0s"})
    put_value(engine, SHEKOU, "feed_silence_minutes", 60, AT)
    evaluate_all(engine, settings, AT)
    assert instances(engine) == []
    put_value(engine, SHEKOU, "feed_silence_minutes", 75, AT + timedelta(minutes=15))
    evaluate_all(engine, settings, AT + timedelta(minutes=15))
    [firing] = instances(engine)
    assert firing["annotations"]["threshold"] == "70"

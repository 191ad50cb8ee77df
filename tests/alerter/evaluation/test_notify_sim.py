from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerter.evaluation.notify_sim import AlertEvent, Timing, group_key, simulate

T0 = datetime(2026, 3, 2, tzinfo=UTC)
TIMING = Timing(timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=4))


def event(minutes, fp, status="firing", rule="r"):
    return AlertEvent(T0 + timedelta(minutes=minutes), fp, {"alertname": rule, "site": fp}, status)


def reasons(sent):
    return [n.reason for n in sent]


def test_one_alert_fired_and_resolved_costs_two_notifications():
    sent = simulate(
        [event(0, "a"), event(60, "a", "resolved")], ["alertname"], TIMING, T0 + timedelta(hours=2)
    )
    assert reasons(sent) == ["first notification", "all alerts resolved"]
    assert sent[0].at == T0 + timedelta(seconds=30)


def test_alerts_arriving_within_group_wait_share_one_notification():
    sent = simulate(
        [event(0, "a"), event(0.2, "b")], ["alertname"], TIMING, T0 + timedelta(hours=1)
    )
    assert reasons(sent) == ["first notification"]
    assert sent[0].firing == 2


def test_a_later_alert_waits_for_the_next_group_interval():
    sent = simulate([event(0, "a"), event(1, "b")], ["alertname"], TIMING, T0 + timedelta(hours=1))
    assert reasons(sent) == ["first notification", "new alerts added"]
    assert sent[1].at == T0 + timedelta(seconds=30) + timedelta(minutes=5)


def test_a_long_firing_alert_repeats_on_a_group_interval_boundary_after_repeat_interval():
    sent = simulate([event(0, "a")], ["alertname"], TIMING, T0 + timedelta(hours=9))
    assert reasons(sent) == [
        "first notification",
        "repeat interval elapsed",
        "repeat interval elapsed",
    ]
    # 4 h is a multiple of 5 m, so repeats land exactly 4 h after the first send.
    assert sent[1].at - sent[0].at == timedelta(hours=4)


def test_group_by_site_splits_notifications():
    events = [event(0, "a"), event(0, "b")]
    assert len(simulate(events, ["alertname"], TIMING, T0 + timedelta(hours=1))) == 1
    assert len(simulate(events, ["alertname", "site"], TIMING, T0 + timedelta(hours=1))) == 2


def test_an_alert_resolved_before_group_wait_sends_nothing():
    sent = simulate(
        [event(0, "a"), event(0.1, "a", "resolved")], ["alertname"], TIMING, T0 + timedelta(hours=1)
    )
    assert sent == []


def test_a_group_key_names_each_grouping_label():
    assert group_key({"alertname": "r", "site": "X"}, ["alertname", "site"]) == (
        '{alertname="r", site="X"}'
    )

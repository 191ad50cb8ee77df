from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerter.delivery.grouping import (
    ALL_RESOLVED,
    FIRST,
    NEW_ALERTS,
    REPEAT,
    SOME_RESOLVED,
    GroupTiming,
    SentState,
    decide,
    group_key,
    group_labels,
    next_flush,
)

NOW = datetime(2026, 8, 22, 3, 0, tzinfo=UTC)
TIMING = GroupTiming()
LABELS = {"alertname": "BerthQueueHigh", "site": "3101-BEILUN", "severity": "critical"}


def told(*firing: str, resolved: tuple[str, ...] = (), ago: float = 60) -> SentState:
    return SentState(frozenset(firing), frozenset(resolved), NOW - timedelta(seconds=ago))


def test_the_defaults_are_alertmanagers_30s_5m_4h():
    assert (TIMING.group_wait, TIMING.group_interval, TIMING.repeat_interval) == (30, 300, 14400)


def test_group_labels_keep_only_group_by_labels_and_dots_mean_all():
    assert group_labels(LABELS, ["alertname", "missing"]) == {"alertname": "BerthQueueHigh"}
    assert group_labels(LABELS, ["..."]) == dict(sorted(LABELS.items()))


def test_the_group_key_is_stable_and_escapes_quotes():
    key = group_key(7, {"site": "3101-BEILUN", "alertname": 'say "hi"'})
    assert key == 'channel/7:{alertname="say \\"hi\\"", site="3101-BEILUN"}'
    assert key == group_key(7, {"alertname": 'say "hi"', "site": "3101-BEILUN"})


def test_the_decision_follows_alertmanagers_dedup_order():
    a, b = "a", "b"
    assert decide(frozenset({a}), frozenset(), SentState(), NOW, TIMING).reason == FIRST
    assert decide(frozenset({a, b}), frozenset(), told(a), NOW, TIMING).reason == NEW_ALERTS
    assert decide(frozenset(), frozenset({a}), told(a), NOW, TIMING).reason == ALL_RESOLVED
    assert decide(frozenset({a}), frozenset({b}), told(a, b), NOW, TIMING).reason == SOME_RESOLVED
    assert decide(frozenset({a}), frozenset(), told(a, ago=14400), NOW, TIMING).reason == REPEAT
    assert decide(frozenset({a}), frozenset(), told(a, ago=14399), NOW, TIMING).reason is None


def test_nothing_is_sent_for_a_group_never_announced_that_has_nothing_firing():
    assert decide(frozenset(), frozenset({"a"}), SentState(), NOW, TIMING).send is False


def test_without_send_resolved_a_resolve_updates_the_memory_silently():
    resolved_all = decide(
        frozenset(), frozenset({"a"}), told("a"), NOW, TIMING, send_resolved=False
    )
    resolved_one = decide(frozenset({"a"}), frozenset({"b"}), told("a", "b"), NOW, TIMING, False)
    assert (resolved_all.reason, resolved_all.send) == (ALL_RESOLVED, False)
    assert (resolved_one.reason, resolved_one.send) == (SOME_RESOLVED, False)


def test_the_repeat_is_due_exactly_repeat_interval_after_the_last_notification():
    at, why = next_flush(NOW, TIMING, NOW - timedelta(minutes=7), True, False)
    assert (at, why) == (NOW - timedelta(minutes=7) + timedelta(hours=4), "repeat_interval")


def test_withheld_alerts_are_looked_at_again_after_group_interval():
    at, why = next_flush(NOW, TIMING, NOW, True, True)
    assert at == NOW + timedelta(minutes=5) and why.startswith("group_interval")
    assert next_flush(NOW, TIMING, NOW, False, False) is None

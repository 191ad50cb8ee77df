from __future__ import annotations

from alerter.evaluation.alert_state import State, fingerprint, notification


def test_a_fingerprint_ignores_label_order_but_not_rule_or_values():
    a = fingerprint(1, {"site": "X", "alertname": "r"})
    assert a == fingerprint(1, {"alertname": "r", "site": "X"})
    assert a != fingerprint(2, {"alertname": "r", "site": "X"})
    assert a != fingerprint(1, {"alertname": "r", "site": "Y"})
    assert len(a) == 32 and int(a, 16) >= 0


def test_a_fingerprint_does_not_confuse_label_boundaries():
    assert fingerprint(1, {"a": "b,c"}) != fingerprint(1, {"a": "b", "c": ""})


def test_firing_is_announced_once_and_resolved_only_after_firing():
    assert notification(State.FIRING, None) == "firing"
    assert notification(State.FIRING, "resolved") == "firing"
    assert notification(State.FIRING, "firing") is None
    assert notification(State.RECOVERING, "firing") is None
    assert notification(State.NORMAL, "firing") == "resolved"
    assert notification(State.NORMAL, None) is None
    assert notification(State.PENDING, None) is None


def test_nodata_and_error_hold_whatever_was_last_announced():
    for state in (State.NODATA, State.ERROR):
        assert notification(state, "firing") is None
        assert notification(state, None) is None

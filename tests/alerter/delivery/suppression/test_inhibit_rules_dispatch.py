"""Stored inhibit rules at a real receiver: custom rules, the shipped one disabled, a corrupt
row skipped, equal labels, the owner's subtree, and the status that GET /alerts shows."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import text

from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.matchers import Matcher
from alerter.delivery.suppression.inhibit_rules import create, enabled_rules, rule_sources
from alerter.delivery.suppression.inhibition import InhibitRule, source_filter
from alerter.evaluation.withheld import Candidate, statuses
from alerter.rules.store import Actor
from tests.alerter.helpers import FAST, T0, create_channel, emit
from tests.fakes.recording_receiver import RecordingReceiver

QUEUE_MUTES_DWELL = {
    "name": "a berth queue mutes dwell alerts of its site",
    "source_matchers": [{"name": "alertname", "op": "=", "value": "BerthQueueHigh"}],
    "target_matchers": [{"name": "alertname", "op": "=", "value": "DwellLong"}],
    "equal": ["site"],
}


def step(engine, settings, seconds: float = 0):
    return dispatch_once(engine, settings, T0 + timedelta(seconds=seconds), policy=FAST)


def sent(server: RecordingReceiver) -> set[str]:
    return {fp for arrival in server.accepted() for fp in arrival.fingerprints}


def add_rule(engine, node_id: str = "CN", **fields) -> int:
    with engine.begin() as conn:
        return create(conn, {"node_id": node_id, **fields}, Actor("test"))


def sql(engine, statement: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def test_a_rule_created_through_the_api_mutes_its_targets_at_the_receiver(
    engine, settings, client, auth
):
    created = client.post("/api/v1/inhibit-rules", json=QUEUE_MUTES_DWELL, headers=auth)
    assert created.status_code == 201, created.json
    with RecordingReceiver() as server:
        create_channel(engine, "webhook", {"url": server.url}, group_wait_s=0, group_by=["..."])
        queue = emit(engine, alertname="BerthQueueHigh")
        dwell = emit(engine, alertname="DwellLong")
        elsewhere = emit(engine, alertname="DwellLong", node_id="3101-DAXIE")

        step(engine, settings)

        assert sent(server) == {queue, elsewhere}  # equal: ["site"] keeps DAXIE's dwell
        assert dwell not in sent(server)


def test_with_the_shipped_rule_disabled_threshold_alerts_go_out_beside_no_data(
    engine, settings, client, auth
):
    [shipped] = client.get("/api/v1/inhibit-rules", headers=auth).json["items"]
    path = f"/api/v1/inhibit-rules/{shipped['inhibit_rule_id']}"
    assert client.patch(path, json={"enabled": False}, headers=auth).status_code == 200
    with RecordingReceiver() as server:
        create_channel(engine, "webhook", {"url": server.url}, group_wait_s=0, group_by=["..."])
        silent = emit(engine, alertname="SiteSilent", kind="no_data")
        queue = emit(engine, alertname="BerthQueueHigh", kind="threshold")

        step(engine, settings)

        assert sent(server) == {silent, queue}


def test_a_corrupt_rule_is_skipped_and_logged_once_while_the_others_still_inhibit(
    engine, settings, caplog
):
    broken = add_rule(engine, **QUEUE_MUTES_DWELL)
    sql(
        engine,
        "UPDATE inhibit_rule SET source_matchers = CAST(:m AS jsonb) WHERE inhibit_rule_id = :r",
        m=json.dumps([{"name": "alertname", "op": "~~", "value": "x"}]),
        r=broken,
    )
    with RecordingReceiver() as server, caplog.at_level(logging.WARNING):
        create_channel(engine, "webhook", {"url": server.url}, group_wait_s=0, group_by=["..."])
        silent = emit(engine, alertname="SiteSilent", kind="no_data")
        queue = emit(engine, alertname="BerthQueueHigh", kind="threshold")
        step(engine, settings, 0)
        dwell = emit(engine, alertname="DwellLong", node_id="3101-DAXIE")
        step(engine, settings, 1)
        step(engine, settings, 2)

        assert sent(server) == {silent, dwell}
        assert queue not in sent(server)  # the shipped rule still applies
    skipped = [r for r in caplog.records if f"inhibit_rule {broken}" in r.getMessage()]
    assert len(skipped) == 1 and "source_matchers" in skipped[0].getMessage()


def test_an_equal_label_missing_on_the_source_inhibits_nothing(engine, settings):
    add_rule(engine, **{**QUEUE_MUTES_DWELL, "equal": ["berth"]})
    with RecordingReceiver() as server:
        create_channel(engine, "webhook", {"url": server.url}, group_wait_s=0, group_by=["..."])
        queue = emit(engine, alertname="BerthQueueHigh")
        dwell = emit(engine, alertname="DwellLong")
        muted = emit(engine, alertname="DwellLong", berth="B7")
        emit(engine, alertname="BerthQueueHigh", berth="B7")

        step(engine, settings)

        assert {queue, dwell} <= sent(server)  # no berth on either: not "equal"
        assert muted not in sent(server)


def test_a_customs_rule_mutes_only_alerts_of_its_own_subtree(engine, settings):
    add_rule(engine, "3100", **{**QUEUE_MUTES_DWELL, "equal": []})
    with RecordingReceiver() as server:
        create_channel(engine, "webhook", {"url": server.url}, group_wait_s=0, group_by=["..."])
        emit(engine, alertname="BerthQueueHigh", node_id="5304-SHEKOU")
        shekou = emit(engine, alertname="DwellLong", node_id="5304-SHEKOU")
        emit(engine, alertname="BerthQueueHigh", node_id="3101-BEILUN")
        daxie = emit(engine, alertname="DwellLong", node_id="3101-DAXIE")

        step(engine, settings)

        assert shekou in sent(server)  # Shenzhen's alerts are outside Ningbo's rule
        assert daxie not in sent(server)  # equal: [] mutes all of Ningbo's dwell alerts


def test_sources_are_read_by_kind_or_alertname_when_every_rule_pins_one_and_all_otherwise(
    engine, settings
):
    emit(engine, alertname="SiteSilent", kind="no_data")
    emit(engine, alertname="BerthQueueHigh", kind="threshold")
    emit(engine, alertname="DwellLong", kind="threshold")
    step(engine, settings)  # routing fills active_alert

    def loaded() -> list[str]:
        with engine.connect() as conn:
            found = rule_sources(conn, enabled_rules(conn))
        assert all(s.node_path[0] == "CN" for s in found)
        return sorted(s.labels["alertname"] for s in found)

    with engine.connect() as conn:
        assert rule_sources(conn, []) == []
    assert loaded() == ["SiteSilent"]  # the shipped rule: kind = no_data
    add_rule(engine, **QUEUE_MUTES_DWELL)
    assert loaded() == ["BerthQueueHigh", "SiteSilent"]  # or alertname = BerthQueueHigh
    add_rule(engine, **{**QUEUE_MUTES_DWELL, "name": "any critical", "source_matchers": [
        {"name": "severity", "op": "=", "value": "critical"}
    ]})  # fmt: skip
    assert loaded() == ["BerthQueueHigh", "DwellLong", "SiteSilent"]  # every firing alert


def test_a_regex_of_alternatives_pins_the_source_and_any_other_regex_does_not():
    def rule(op: str, value: str, name: str = "kind") -> InhibitRule:
        return InhibitRule("r", (Matcher(name=name, op=op, value=value),), (), ())

    assert source_filter([rule("=~", "no_data|stale")]) == {"kind": ["no_data", "stale"]}
    assert source_filter([rule("=", "A", "alertname"), rule("=", "no_data")]) == {
        "alertname": ["A"],
        "kind": ["no_data"],
    }
    assert source_filter([rule("=~", "no_.*")]) is None
    assert source_filter([rule("!=", "no_data")]) is None
    assert source_filter([]) == {}


def test_the_alert_status_uses_the_stored_rules(engine):
    sql(
        engine,
        "INSERT INTO active_alert (fingerprint, status, labels, node_id, seq, updated_at)"
        " VALUES ('feedsilent', 'firing', CAST(:l AS jsonb), '5304-SHEKOU', 1, now())",
        l=json.dumps({"kind": "no_data", "node": "5304-SHEKOU"}),
    )
    candidate = Candidate("t1", {"kind": "threshold"}, "critical", "5304-SHEKOU", T0)
    with engine.connect() as conn:
        [before] = statuses(conn, [candidate], T0)
    sql(engine, "UPDATE inhibit_rule SET enabled = false")
    with engine.connect() as conn:
        [after] = statuses(conn, [candidate], T0)

    assert before.inhibited_by == ("feedsilent",)
    assert after.inhibited_by == ()

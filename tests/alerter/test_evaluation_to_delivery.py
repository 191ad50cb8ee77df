"""The contract with evaluation: what alerter.evaluation writes into the outbox is routed,
grouped, inhibited and linked to the right dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from alerter.delivery.dispatch import dispatch_once
from alerter.evaluation.step import evaluate_all
from tests.alert_rules import add_rule, rows, series_id
from tests.alerter.helpers import FAST, create_channel
from tests.fakes.recording_receiver import RecordingReceiver


def test_a_breach_found_by_evaluation_reaches_the_webhook_with_its_dashboard_link(engine, settings):
    # Any indicator where higher is worse; the first by code, so the run is repeatable.
    [first] = rows(
        engine,
        "SELECT code FROM indicator WHERE direction = 'higher_is_worse' ORDER BY code LIMIT 1",
    )
    code = first["code"]
    spec = {"name": "e2e", "kind": "threshold", "indicator": code, "operator": ">",
            "threshold": 100.0, "for": "0s"}  # fmt: skip
    add_rule(engine, spec)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO series_latest (series_id, time, value) VALUES (:s, now(), 150)"),
            {"s": series_id(conn, "3101-BEILUN", code)},
        )
    with RecordingReceiver() as receiver:
        create_channel(engine, "webhook", {"url": receiver.url}, node_id="3100", group_wait_s=0)

        evaluate_all(engine, settings)
        dispatch_once(engine, settings, datetime.now(UTC), policy=FAST)

        [arrival] = receiver.accepted()
    [alert] = arrival.body["alerts"]
    assert alert["labels"]["site"] == "3101-BEILUN" and alert["labels"]["kind"] == "threshold"
    assert arrival.body["commonLabels"]["alertname"] == "e2e"
    assert arrival.notification_id is not None
    link = urlsplit(alert["annotations"]["dashboard_url"])
    assert (link.netloc, link.path) == ("127.0.0.1:3000", "/d/qw-port")
    assert parse_qs(link.query)["var-site"] == ["3101-BEILUN"]

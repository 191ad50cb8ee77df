"""From a station's push to a warning in a receiver: a hazardous lot whose later events omit
its hazard facts still overstays into an alert, through the real metrics cycle, evaluation and
delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerter.delivery.dispatch import dispatch_once
from alerter.evaluation.step import evaluate_all
from alerter.rules.defaults import seed_default_rules
from collector.rollup import metrics_cycle
from tests.alerter.helpers import FAST, create_channel
from tests.fakes.recording_receiver import RecordingReceiver

SITE = "5304-SHEKOU"


def test_an_overdue_hazardous_lot_is_notified_though_its_later_events_omit_the_hazard(
    client, auth, engine, settings
):
    now = datetime.now(UTC).replace(microsecond=0)

    def event(n: int, kind: str, hours_ago: int, **facts: object) -> dict[str, object]:
        occurred_at = (now - timedelta(hours=hours_ago)).isoformat()
        return {"event_id": f"st-{n}", "kind": kind, "occurred_at": occurred_at, **facts}

    lot = {"site_id": SITE, "lot_id": "TGHU7654321"}
    hazard = {"hazard_class": "3", "un_number": "UN1203", "packing_group": "II", "teu": 2}
    arrived = event(1, "arrived", 130, **lot, **hazard)
    # Later events, as terminals often send them: the stage only.
    later = [
        event(2, "declared", 129, **lot, direction="import"),
        event(3, "inspection_started", 100, **lot),
    ]
    for batch in ([arrived], later):
        response = client.post("/api/v1/events", json=batch, headers=auth)
        assert response.status_code == 202 and response.json["rejected"] == 0
    state = client.get("/api/v1/lots/TGHU7654321", headers=auth).json
    assert state["hazard_class"] == "3" and state["deadline_at"] is not None

    with engine.begin() as conn:
        seed_default_rules(conn)
    metrics_cycle(engine)
    with RecordingReceiver() as receiver:
        create_channel(engine, "webhook", {"url": receiver.url}, node_id="5300", group_wait_s=0)
        evaluate_all(engine, settings)
        dispatch_once(engine, settings, datetime.now(UTC), policy=FAST)
        alerts = [alert for arrival in receiver.accepted() for alert in arrival.body["alerts"]]

    by_name = {alert["labels"]["alertname"]: alert for alert in alerts}
    assert by_name["hazardous_overdue"]["labels"]["site"] == SITE
    assert by_name["hazardous_overdue"]["status"] == "firing"
    per_lot = by_name["hazardous_deadline_12h"]
    assert per_lot["labels"]["lot_id"] == "TGHU7654321"
    assert "UN1203" in per_lot["annotations"]["summary"]

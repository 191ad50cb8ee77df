"""One object of each kind the API addresses by id, created through the API in a test's fresh
database, so that fuzzing reaches past the 404 of an id that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alert_rules import put_value, threshold_spec
from flask.testing import FlaskClient

from alerter.evaluation.step import evaluate_all

NOW = datetime.now(UTC).replace(microsecond=0)
SITE = "5304-SHEKOU"
# A closed port: test sends fail at once, without leaving the machine.
HOOK_URL = "http://127.0.0.1:9/hook"
_INDICATOR = {"name_en": "Held over 48 h", "name_zh": "滞留超48小时", "unit": "lots"}
_INDICATOR |= {"theme": "hazardous_goods", "direction": "higher_is_worse"}


def _created(client: FlaskClient, auth: dict[str, str], path: str, body: Any, key: str) -> Any:
    response = client.post(path, json=body, headers=auth)
    assert response.status_code in (201, 202), (path, response.json)
    return response.json[key]


def valid_bodies() -> dict[str, Any]:
    """Collection path -> a body its POST accepts (a batch route's is a list of one item)."""
    event = {
        "event_id": "ev-1",
        "kind": "arrived",
        "occurred_at": (NOW - timedelta(hours=2)).isoformat(),
        "site_id": SITE,
        "lot_id": "LOT-1",
    }
    declaration = {
        "declaration_id": "D00001",
        "declared_at": (NOW - timedelta(hours=2)).isoformat(),
        "site_id": SITE,
        "trader_id": "T1",
        "hs_code": "85171300",
        "origin": "VN",
        "declared_value": 7000,
        "currency": "CNY",
        "quantity": 10,
        "unit": "PCS",
        "gross_kg": 5.5,
        "net_kg": 5.0,
    }
    return {
        "/api/v1/events": [event],
        "/api/v1/declarations": [declaration],
        "/api/v1/rules": threshold_spec(),
        "/api/v1/indicators": {**_INDICATOR, "code": "shekou_held_over_48h"},
        "/api/v1/risk/rules": {"name": "all handsets", "conditions": {"hs_prefixes": ["8517"]}},
        "/api/v1/silences": {
            "matchers": [{"name": "site", "value": SITE}],
            "ends_at": (NOW + timedelta(hours=2)).isoformat(),
            "comment": "crane maintenance",
        },
        "/api/v1/mute-intervals": {
            "name": "night shift",
            "intervals": [{"times": [{"start_time": "22:00", "end_time": "06:00"}]}],
        },
        "/api/v1/channels": {"name": "ops", "kind": "webhook", "config": {"url": HOOK_URL}},
        "/api/v1/inhibit-rules": {
            "name": "queue mutes dwell",
            "source_matchers": [{"name": "alertname", "value": "BerthQueueHigh"}],
            "target_matchers": [{"name": "alertname", "value": "DwellLong"}],
            "equal": ["site"],
        },
        "/api/v1/tokens": {"name": "fuzzed station", "role": "station", "node_id": SITE},
    }


def _firing_alert(client: FlaskClient, auth: dict[str, str]) -> str:
    """An alert that fires: the created threshold rule (no `for`) evaluated over a breaching
    value, so the ack routes reach a real fingerprint."""
    app = client.application
    engine, settings = app.extensions["quaywatch.engine"], app.extensions["quaywatch.settings"]
    put_value(engine, SITE, "clearance_time_p90_hours", 72.0, NOW)
    evaluate_all(engine, settings, NOW)
    alerts = client.get("/api/v1/alerts", headers=auth).json["items"]
    assert alerts, "the created threshold rule should fire at 72 h"
    return str(alerts[0]["fingerprint"])


def existing_ids(client: FlaskClient, auth: dict[str, str]) -> dict[str, list[Any]]:
    """Path parameter name -> values naming an existing object (several kinds share a name)."""
    bodies = valid_bodies()

    def created(path: str, key: str) -> Any:
        return _created(client, auth, path, bodies[path], key)

    created("/api/v1/events", "accepted_ids")
    return {
        "lot_id": ["LOT-1"],
        "declaration_id": created("/api/v1/declarations", "accepted_ids"),
        "rule_id": [created("/api/v1/rules", "rule_id"), created("/api/v1/risk/rules", "rule_id")],
        "silence_id": [created("/api/v1/silences", "silence_id")],
        "interval_id": [created("/api/v1/mute-intervals", "mute_interval_id")],
        "channel_id": [created("/api/v1/channels", "channel_id")],
        "inhibit_rule_id": [created("/api/v1/inhibit-rules", "inhibit_rule_id")],
        "token_id": [created("/api/v1/tokens", "token_id")],
        "node_id": ["CN", "5300", SITE],
        "indicator": ["clearance_time_p90_hours"],
        "code": [created("/api/v1/indicators", "code"), "lots_on_site"],
        "fingerprint": [_firing_alert(client, auth)],
    }

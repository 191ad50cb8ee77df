"""Rules that can never fire are refused: an unknown indicator, level or node is a 422."""

from __future__ import annotations

import pytest

from tests.alert_rules import threshold_spec


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"indicator": "berth_queue_lenght"}, "indicator"),
        ({"kind": "forecast", "indicator": "no_such_indicator", "horizon_hours": 6}, "indicator"),
        ({"level": "planet"}, "level"),
        ({"node_id": "9999-NOWHERE"}, "node_id"),
    ],
)
def test_a_rule_naming_something_that_does_not_exist_is_refused_naming_the_field(
    client, auth, changes, field
):
    response = client.post("/api/v1/rules", json=threshold_spec(**changes), headers=auth)

    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"] == field
    assert client.get("/api/v1/rules", headers=auth).json["items"] == []


def test_a_preview_of_a_rule_on_an_unknown_indicator_is_refused_too(client, auth):
    draft = threshold_spec(indicator="berth_queue_lenght")

    response = client.post("/api/v1/alerts/preview", json={"rule": draft}, headers=auth)

    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"] == "indicator"


def test_a_rule_on_a_known_indicator_is_still_accepted(client, auth):
    response = client.post("/api/v1/rules", json=threshold_spec(), headers=auth)
    assert response.status_code == 201, response.json

"""Rules stored through the API for the rules API tests: one national, one of Shanghai customs."""

from __future__ import annotations

import pytest
from alert_rules import threshold_spec


@pytest.fixture
def national_rule(client, auth):
    response = client.post("/api/v1/rules", json=threshold_spec(), headers=auth)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def shanghai_rule(client, auth):
    spec = threshold_spec(name="shanghai_slow", node_id="2200", threshold=30)
    return client.post("/api/v1/rules", json=spec, headers=auth).json

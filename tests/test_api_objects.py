"""The objects the fuzzer addresses by id exist, so fuzzing reaches past their 404s."""

from __future__ import annotations

from api_objects import existing_ids


def test_a_firing_alert_exists_and_its_ack_routes_answer(client, auth):
    [fingerprint] = existing_ids(client, auth)["fingerprint"]
    acked = client.post(
        f"/api/v1/alerts/{fingerprint}/ack", json={"comment": "on it"}, headers=auth
    )
    assert acked.status_code in (200, 201), acked.json
    cleared = client.delete(f"/api/v1/alerts/{fingerprint}/ack", headers=auth)
    assert cleared.status_code in (200, 204), cleared.get_data(as_text=True)

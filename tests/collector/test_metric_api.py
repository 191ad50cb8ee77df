"""GET /api/v1/metrics/<node>/<indicator>: an indicator that does not exist is a 404."""

from __future__ import annotations

SITE = "5304-SHEKOU"


def test_an_unknown_indicator_is_not_found_naming_it(client, auth):
    response = client.get(f"/api/v1/metrics/{SITE}/berth_queue_lenght", headers=auth)

    assert response.status_code == 404, response.json
    assert response.mimetype == "application/problem+json"
    assert "berth_queue_lenght" in response.json["detail"]


def test_a_known_indicator_without_points_is_an_empty_series(client, auth):
    response = client.get(f"/api/v1/metrics/{SITE}/clearance_time_p90_hours", headers=auth)

    assert response.status_code == 200, response.json
    assert response.json["points"] == []

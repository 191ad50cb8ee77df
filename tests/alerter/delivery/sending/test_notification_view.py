"""The links a stored notification carries once viewed: externalURL is QuayWatch's alert API,
each alert's generatorURL the port dashboard (or, without a site, that alert's history)."""

from __future__ import annotations

from alerter.delivery.sending.notification_view import group_view

GRAFANA = "https://grafana.example"
PUBLIC = "https://quaywatch.example/"


def _content(labels: dict[str, str]) -> dict[str, object]:
    alert = {
        "fingerprint": "ab" * 16,
        "status": "firing",
        "labels": labels,
        "annotations": {},
        "starts_at": "2026-08-22T03:04:05+00:00",
        "ends_at": None,
    }
    return {"group_key": "g", "reason": "first notification", "alerts": [alert]}


def test_external_url_is_the_alert_api_and_generator_url_the_port_dashboard():
    view = group_view(_content({"alertname": "A", "site": "3101-BEILUN"}), "r", GRAFANA, PUBLIC)

    assert view.external_url == "https://quaywatch.example/api/v1/alerts"
    [alert] = view.alerts
    assert alert.generator_url == alert.dashboard_url
    assert alert.generator_url.startswith(f"{GRAFANA}/d/qw-port?var-site=3101-BEILUN&")


def test_an_alert_without_a_site_links_to_its_history_in_the_api():
    view = group_view(_content({"alertname": "A"}), "r", GRAFANA, PUBLIC)

    [alert] = view.alerts
    assert alert.generator_url == (
        "https://quaywatch.example/api/v1/alerts/history?fingerprint=" + "ab" * 16
    )

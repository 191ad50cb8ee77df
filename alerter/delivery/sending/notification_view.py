"""From stored notification content to the ``AlertGroupView`` channels render; pure.

A notification freezes its alerts as JSON at flush time (``GroupAlert.to_json``); this module
turns that back into the view ``alerter.channels.message.build_context`` reads, adding the
Grafana link: the port dashboard (uid ``qw-port``) for the alert's site, from an hour before
the alert started to an hour after it ended (or started, while firing).

Links back, as Alertmanager's webhook carries them: ``externalURL`` is QuayWatch's alert API
(``{QUAYWATCH_PUBLIC_URL}/api/v1/alerts``), and each alert's ``generatorURL`` is that port
dashboard, or for an alert without a site its history in the API
(``/api/v1/alerts/history?fingerprint=``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from alerter.channels.message import AlertGroupView, AlertView

DASHBOARD_UID = "qw-port"
DASHBOARD_MARGIN = timedelta(hours=1)


def dashboard_url(
    grafana_url: str, site: str, starts_at: datetime, ends_at: datetime | None = None
) -> str:
    """``{grafana}/d/qw-port?var-site=<site>&from=<ms>&to=<ms>`` around the alert's time."""
    start = starts_at - DASHBOARD_MARGIN
    end = (ends_at or starts_at) + DASHBOARD_MARGIN
    query = urlencode(
        {
            "var-site": site,
            "from": int(start.timestamp() * 1000),
            "to": int(end.timestamp() * 1000),
        }
    )
    return f"{grafana_url.rstrip('/')}/d/{DASHBOARD_UID}?{query}"


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def api_url(public_url: str, path: str) -> str:
    """``{public_url}/api/v1{path}``; empty when no public URL is known."""
    return f"{public_url.rstrip('/')}/api/v1{path}" if public_url else ""


def alert_view(alert: Mapping[str, Any], grafana_url: str, public_url: str = "") -> AlertView:
    labels = {str(k): str(v) for k, v in alert["labels"].items()}
    starts_at = datetime.fromisoformat(alert["starts_at"])
    ends_at = _time(alert.get("ends_at"))
    site = labels.get("site") or labels.get("node", "")
    notes = {str(k): str(v) for k, v in alert["annotations"].items()}
    link = dashboard_url(grafana_url, site, starts_at, ends_at) if site else ""
    if link:  # data channels (webhook v4, Alertmanager) carry it as an annotation
        notes.setdefault("dashboard_url", link)
    history = api_url(
        public_url, "/alerts/history?" + urlencode({"fingerprint": alert["fingerprint"]})
    )
    return AlertView(
        status="firing" if alert["status"] == "firing" else "resolved",
        labels=labels,
        starts_at=starts_at,
        annotations=notes,
        ends_at=ends_at,
        fingerprint=alert["fingerprint"],
        value=alert.get("value"),
        generator_url=notes.get("generator_url") or link or history,
        dashboard_url=link,
    )


def common_labels(alerts: Sequence[AlertView]) -> dict[str, str]:
    if not alerts:
        return {}
    first = dict(alerts[0].labels)
    return {k: v for k, v in first.items() if all(a.labels.get(k) == v for a in alerts[1:])}


def group_view(
    content: Mapping[str, Any], receiver: str, grafana_url: str, public_url: str = ""
) -> AlertGroupView:
    """The view of a stored notification; ``receiver`` is the channel's name."""
    alerts = [alert_view(a, grafana_url, public_url) for a in content["alerts"]]
    firing = any(a.status == "firing" for a in alerts)
    return AlertGroupView(
        status="firing" if firing else "resolved",
        group_key=content["group_key"],
        receiver=receiver,
        common_labels=common_labels(alerts),
        alerts=alerts,
        group_labels=dict(content.get("group_labels", {})),
        external_url=api_url(public_url, "/alerts"),
        notification_reason=content.get("reason", ""),
    )


def merge_contents(
    contents: Sequence[Mapping[str, Any]], group_key: str, reason: str
) -> dict[str, Any]:
    """One digest content from several: alerts by fingerprint, later contents winning."""
    by_fingerprint: dict[str, Any] = {}
    for content in contents:
        for alert in content["alerts"]:
            by_fingerprint[alert["fingerprint"]] = alert
    return {
        "group_key": group_key,
        "group_labels": {},
        "reason": reason,
        "alerts": list(by_fingerprint.values()),
    }

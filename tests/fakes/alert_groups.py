"""Alert groups for channel tests: a small realistic one and a long Chinese one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerter.channels.message import AlertGroupView, AlertView

NOW = datetime(2026, 8, 22, 3, 4, 5, 123000, tzinfo=UTC)
GROUP_KEY = '{}/{severity="critical"}:{alertname="BerthQueueHigh", port="CNNGB"}'


def berth_alert(site: str = "CNNGB-B3", name: str = "宁波港 B3", **labels: str) -> AlertView:
    return AlertView(
        status="firing",
        labels={
            "alertname": "BerthQueueHigh",
            "severity": "critical",
            "port": "CNNGB",
            "site": site,
            "site_name": name,
            "node_name": "宁波海关",
            **labels,
        },
        starts_at=NOW - timedelta(minutes=10),
        annotations={
            "summary": "泊位排队超过 40 已持续 10 分钟",
            "runbook_url": "https://wiki.example/rb",
        },
        value=45.0,
        generator_url="https://quaywatch.example/rules/42",
        dashboard_url="https://grafana.example/d/port?var-site=" + site,
    )


def forecast_alert() -> AlertView:
    return AlertView(
        status="firing",
        labels={
            "alertname": "BerthQueueForecast",
            "severity": "warning",
            "port": "CNNGB",
            "site": "CNNGB-B4",
            "site_name": "宁波港 B4",
            "kind": "forecast",
            "threshold": "40",
        },
        starts_at=NOW,
        annotations={"forecast_at": "2026-08-22T08:04:05+00:00", "probability": "0.8"},
        value=38.5,
    )


def sample_group(status: str = "firing") -> AlertGroupView:
    alerts = [berth_alert()]
    if status == "resolved":
        alerts = [AlertView(**{**a.__dict__, "status": "resolved", "ends_at": NOW}) for a in alerts]
    return AlertGroupView(
        status="firing" if status == "firing" else "resolved",
        group_key=GROUP_KEY,
        receiver="ningbo-ops",
        common_labels=dict(alerts[0].labels),
        alerts=alerts,
        group_labels={"alertname": "BerthQueueHigh", "port": "CNNGB"},
        external_url="https://quaywatch.example",
        notification_reason="first notification",
    )


LONG_SUMMARY = "危险品集装箱在堆场滞留时间超过规定期限，请立即安排移箱或提离。" * 6
LONG_DESCRIPTION = "第九类危险货物，联合国编号 UN3082，环境危害物质，液态，未另列明。" * 12


def long_chinese_group(count: int = 20) -> AlertGroupView:
    """``count`` alerts with long Chinese text: tens of kilobytes once rendered."""
    alerts = [
        AlertView(
            status="firing",
            labels={"alertname": f"危险品超期滞留{i:02d}", "severity": "critical", "site": "CNSHA"},
            starts_at=NOW - timedelta(hours=i),
            annotations={"summary": LONG_SUMMARY, "description": LONG_DESCRIPTION},
            value=float(i),
        )
        for i in range(count)
    ]
    return AlertGroupView(
        status="firing",
        group_key='{}:{site="CNSHA"}',
        receiver="shanghai-ops",
        common_labels={"severity": "critical", "site": "CNSHA"},
        alerts=alerts,
    )

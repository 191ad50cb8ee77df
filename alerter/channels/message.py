"""``build_context(group)``: the one context every template receives (STYLE.md G4); no tables.

Input is a plain view of an alert group, free of the database. Labels we read:
``alertname``, ``severity`` (critical|warning|info), ``site``/``site_name``,
``node``/``node_name`` (the org node), and for forecast warnings ``kind=forecast`` with
``threshold``, ``forecast_at`` (ISO 8601 predicted crossing) and ``probability``, taken from
labels or annotations. Annotations read: ``summary``, ``description``, ``runbook_url``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from alerter.channels.render import render_text

LANGS = ("zh", "en")
DEFAULT_TZ = "Asia/Shanghai"
SEVERITY_ORDER = ("critical", "warning", "info")
_FNV_OFFSET, _FNV_PRIME, _U64 = 14695981039346656037, 1099511628211, (1 << 64) - 1

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class AlertView:
    """One alert of a group, as a notification shows it."""

    status: Status
    labels: Mapping[str, str]
    starts_at: datetime
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    fingerprint: str = ""  # computed from labels when empty
    value: float | None = None
    generator_url: str = ""
    dashboard_url: str = ""


@dataclass(frozen=True)
class AlertGroupView:
    """A group of alerts routed to one receiver (Alertmanager's aggregation group)."""

    status: Status
    group_key: str
    receiver: str
    common_labels: Mapping[str, str]
    alerts: Sequence[AlertView]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    notification_reason: str = ""


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus ``LabelSet.Fingerprint()``: FNV-1a 64 over sorted name/value, 0xFF-separated."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            digest = ((digest ^ byte) * _FNV_PRIME) & _U64
    return f"{digest:016x}"


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as Alertmanager writes ``startsAt``."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def format_number(value: float | None) -> str | None:
    """45.0 -> "45", 0.1234 -> "0.123", 1234.567 -> "1234.57"."""
    if value is None:
        return None
    if value == 0 or abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _forecast(info: Mapping[str, str], now: datetime, tz: ZoneInfo) -> dict[str, Any] | None:
    if info.get("kind") != "forecast":
        return None
    try:
        crossing = datetime.fromisoformat(info["forecast_at"]) if "forecast_at" in info else None
    except ValueError:
        crossing = None
    if crossing is not None and crossing.tzinfo is None:
        crossing = crossing.replace(tzinfo=UTC)
    hours = (crossing - now).total_seconds() / 3600 if crossing else None
    return {
        "threshold": info.get("threshold"),
        "crossing_at": crossing.astimezone(tz).strftime("%m-%d %H:%M") if crossing else None,
        "in_hours": format_number(round(max(hours, 0.0), 1)) if hours is not None else None,
        "probability": info.get("probability"),
    }


def _alert(alert: AlertView, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    labels, notes = dict(alert.labels), dict(alert.annotations)
    return {
        "status": alert.status,
        "firing": alert.status == "firing",
        "labels": labels,
        "annotations": notes,
        "alertname": labels.get("alertname", ""),
        "severity": labels.get("severity", ""),
        "site": labels.get("site_name") or labels.get("site", ""),
        "node": labels.get("node_name") or labels.get("node", ""),
        "summary": notes.get("summary", ""),
        "description": notes.get("description", ""),
        "runbook_url": notes.get("runbook_url", ""),
        "value": format_number(alert.value),
        "threshold": labels.get("threshold") or notes.get("threshold"),
        "starts_at": iso_utc(alert.starts_at),
        "ends_at": iso_utc(alert.ends_at) if alert.ends_at else None,
        "starts_local": _local(alert.starts_at, tz),
        "ends_local": _local(alert.ends_at, tz),
        "fingerprint": alert.fingerprint or fingerprint(labels),  # ours: rule id + labels
        "label_fingerprint": fingerprint(labels),  # Alertmanager's, for data channels
        "generator_url": alert.generator_url,
        "dashboard_url": alert.dashboard_url,
        "forecast": _forecast({**labels, **notes}, now, tz),
    }


def common_pairs(mappings: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The name/value pairs every mapping has (Alertmanager's commonLabels/Annotations)."""
    if not mappings:
        return {}
    first = mappings[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in mappings[1:])}


def _shared(values: Sequence[str]) -> str:
    """The value every alert agrees on (ignoring blanks), else ""."""
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else ""


def _worst(severities: Sequence[str]) -> str:
    ranked = [s for s in SEVERITY_ORDER if s in severities]
    return ranked[0] if ranked else next((s for s in severities if s), "")


def build_context(
    group: AlertGroupView, lang: str = "zh", *, now: datetime | None = None, tz: str = DEFAULT_TZ
) -> dict[str, Any]:
    """The context for every template of every channel; ``lang`` is "zh" or "en"."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    zone, now = ZoneInfo(tz), now or datetime.now(UTC)
    alerts = [_alert(a, now, zone) for a in group.alerts]
    firing = [a for a in alerts if a["firing"]]
    common = dict(group.common_labels)
    context: dict[str, Any] = {
        "lang": lang,
        "status": group.status,
        "firing": group.status == "firing",
        "group_key": group.group_key,
        "receiver": group.receiver,
        "notification_reason": group.notification_reason,
        "external_url": group.external_url,
        "common_labels": common,
        "group_labels": dict(group.group_labels),
        "common_annotations": common_pairs([a["annotations"] for a in alerts]),
        "alertname": common.get("alertname") or _shared([a["alertname"] for a in alerts]),
        "severity": common.get("severity") or _worst([a["severity"] for a in firing or alerts]),
        "site": _shared([a["site"] for a in alerts]),
        "node": _shared([a["node"] for a in alerts]),
        "counts": {"firing": len(firing), "resolved": len(alerts) - len(firing)},
        "alerts": alerts,
        "dashboard_url": next((a["dashboard_url"] for a in alerts if a["dashboard_url"]), ""),
        # A forecast warning: every firing alert is a prediction, none a measured breach.
        "forecast": bool(firing) and all(a["forecast"] for a in firing),
        "now_local": _local(now, zone),
    }
    context["counts"]["total"] = len(alerts)
    context["title"] = render_text(f"title.{lang}.j2", context)
    return context

"""Delivery's pipeline writes: outbox claims, active alerts, groups, notifications.

Tables: alert_event.processed_at (the outbox consumer's mark), active_alert, notify_group,
group_alert, notification (new rows and those they supersede). With ``delivery.config_store``
(channels, silences, mute intervals) and ``delivery.sending.store``, the only writer of
sql/0105's tables. Functions run in the caller's transaction (claims: ``FOR UPDATE SKIP
LOCKED``, so replicas split the work) at the dispatcher's ``now``, never the database's, so a
test can step the clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, RowMapping

from alerter.delivery.grouping import SentState, group_key, group_labels
from alerter.delivery.routing import ChannelRoute, RoutableAlert


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# The theme channels match on: the rule's own label, else its indicator's theme (from the
# catalogue), else the theme of the rule kind that has no indicator.
_THEME = (
    "COALESCE(e.labels ->> 'theme', i.theme, CASE e.labels ->> 'kind'"
    " WHEN 'deadline' THEN 'hazardous_goods' WHEN 'no_data' THEN 'data_quality' END)"
)


def claim_events(conn: Connection, limit: int) -> list[RowMapping]:
    """Lock unprocessed outbox rows (oldest first) with their node path and theme."""
    rows = conn.execute(
        text(
            f"SELECT e.*, o.path AS node_path, {_THEME} AS theme FROM alert_event e"
            " JOIN org_node o ON o.node_id = e.node_id"
            " LEFT JOIN alert_rule r ON r.rule_id = e.rule_id"
            " LEFT JOIN indicator i"
            "  ON i.code = COALESCE(e.labels ->> 'indicator', r.indicator_code)"
            " WHERE e.processed_at IS NULL ORDER BY e.event_id LIMIT :n FOR UPDATE OF e SKIP LOCKED"
        ),
        {"n": limit},
    ).mappings()
    return list(rows)


def mark_processed(conn: Connection, event_ids: Sequence[int], now: datetime) -> None:
    conn.execute(
        text("UPDATE alert_event SET processed_at = :now WHERE event_id = ANY (:ids)"),
        {"now": now, "ids": list(event_ids)},
    )


def record_active_alert(conn: Connection, alert: RoutableAlert, now: datetime) -> bool:
    """Remember the alert's latest state; False when a later event already did (then the
    event is stale: two replicas handled one alert's events out of order)."""
    row = conn.execute(
        text(
            "INSERT INTO active_alert AS a (fingerprint, status, labels, node_id, seq, updated_at)"
            " VALUES (:fp, :status, CAST(:labels AS jsonb), :node, :seq, :now)"
            " ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status,"
            " labels = excluded.labels, node_id = excluded.node_id, seq = excluded.seq,"
            " updated_at = excluded.updated_at WHERE a.seq < excluded.seq RETURNING 1"
        ),
        {
            "fp": alert.fingerprint,
            "status": alert.status,
            "labels": _json(alert.labels),
            "node": alert.node_id,
            "seq": alert.seq,
            "now": now,
        },
    ).first()
    return row is not None


_ADD_TO_GROUP = text(
    "WITH g AS ("
    " INSERT INTO notify_group AS ng (channel_id, group_key, group_labels, created_at,"
    "  next_flush_at, next_reason)"
    " VALUES (:c, :key, CAST(:glabels AS jsonb), :now, :now + :wait, 'group_wait')"
    " ON CONFLICT (channel_id, group_key) DO UPDATE SET"
    # A change is sent no sooner than group_interval after the last flush (Alertmanager).
    "  next_flush_at = LEAST(ng.next_flush_at,"
    "   GREATEST(COALESCE(ng.last_flush_at + :interval, ng.created_at + :wait), :now)),"
    "  next_reason = CASE WHEN GREATEST(COALESCE(ng.last_flush_at + :interval,"
    "   ng.created_at + :wait), :now) < ng.next_flush_at"
    "   THEN 'group_interval: alerts changed' ELSE ng.next_reason END"
    " RETURNING group_id)"
    " INSERT INTO group_alert AS ga (group_id, fingerprint, status, labels, annotations, value,"
    "  starts_at, ends_at, node_path, rule_id, seq)"
    " SELECT group_id, :fp, :status, CAST(:labels AS jsonb), CAST(:notes AS jsonb), :value,"
    "  :starts, :ends, :path, :rule, :seq FROM g"
    " ON CONFLICT (group_id, fingerprint) DO UPDATE SET status = excluded.status,"
    "  labels = excluded.labels, annotations = excluded.annotations, value = excluded.value,"
    "  starts_at = excluded.starts_at, ends_at = excluded.ends_at, seq = excluded.seq"
    "  WHERE ga.seq < excluded.seq"
)


def add_to_group(
    conn: Connection, route: ChannelRoute, alert: RoutableAlert, now: datetime
) -> None:
    """Put the alert in its group of this channel, creating the group (flush after
    group_wait) or pulling its next flush forward to group_interval after the last one."""
    labels = group_labels(alert.labels, route.group_by)
    conn.execute(
        _ADD_TO_GROUP,
        {
            "c": route.channel_id,
            "key": group_key(route.channel_id, labels),
            "glabels": _json(labels),
            "now": now,
            "wait": timedelta(seconds=route.timing.group_wait),
            "interval": timedelta(seconds=route.timing.group_interval),
            "fp": alert.fingerprint,
            "status": alert.status,
            "labels": _json(alert.labels),
            "notes": _json(alert.annotations),
            "value": alert.value,
            "starts": alert.starts_at,
            "ends": alert.ends_at,
            "path": list(alert.node_path),
            "rule": alert.rule_id,
            "seq": alert.seq,
        },
    )


def resolve_held(conn: Connection, alert: RoutableAlert, now: datetime) -> int:
    """Resolve the alert in every group that holds it, whatever routing says today, and
    bring those groups' next flush forward as a change does. Returns the groups touched."""
    rows = conn.execute(
        text(
            "WITH r AS (UPDATE group_alert SET status = 'resolved', ends_at = :ends, seq = :seq"
            " WHERE fingerprint = :fp AND seq < :seq RETURNING group_id)"
            " UPDATE notify_group g SET next_flush_at = LEAST(g.next_flush_at, GREATEST("
            "  COALESCE(g.last_flush_at + make_interval(secs => c.group_interval_s),"
            "  g.created_at + make_interval(secs => c.group_wait_s)), :now))"
            " FROM channel c WHERE c.channel_id = g.channel_id"
            " AND g.group_id IN (SELECT group_id FROM r) RETURNING g.group_id"
        ),
        {"fp": alert.fingerprint, "seq": alert.seq, "ends": alert.ends_at or now, "now": now},
    )
    return len(rows.all())


# --- flushing groups into notifications -----------------------------------------------------


def claim_due_groups(conn: Connection, now: datetime, limit: int) -> list[RowMapping]:
    from alerter.delivery.reads import ROUTE_COLUMNS

    rows = conn.execute(
        text(
            f"SELECT g.*, {ROUTE_COLUMNS} FROM notify_group g JOIN channel c USING (channel_id)"
            " WHERE g.next_flush_at <= :now AND c.enabled ORDER BY g.next_flush_at"
            " LIMIT :n FOR UPDATE OF g SKIP LOCKED"
        ),
        {"now": now, "n": limit},
    ).mappings()
    return list(rows)


def enqueue(
    conn: Connection,
    channel_id: int,
    key: str,
    content: Mapping[str, Any],
    now: datetime,
    *,
    group_id: int | None = None,
    kind: str = "group",
    fallback_of: int | None = None,
) -> int:
    """A new pending notification. A group's older pending one is superseded: the new one
    carries the group's whole current state."""
    new_id = int(
        conn.execute(
            text(
                "INSERT INTO notification (channel_id, group_id, group_key, kind, reason, content,"
                " alert_count, created_at, next_attempt_at, fallback_of)"
                " VALUES (:c, :g, :key, :kind, :reason, CAST(:content AS jsonb), :count, :now,"
                " :now, :fallback_of) RETURNING notification_id"
            ),
            {
                "c": channel_id,
                "g": group_id,
                "key": key,
                "kind": kind,
                "reason": content["reason"],
                "content": _json(content),
                "count": len(content["alerts"]),
                "now": now,
                "fallback_of": fallback_of,
            },
        ).scalar_one()
    )
    if kind == "group":
        conn.execute(
            text(
                "UPDATE notification SET state = 'superseded', replaced_by = :new"
                " WHERE channel_id = :c AND group_key = :key AND state = 'pending'"
                " AND notification_id < :new"
            ),
            {"new": new_id, "c": channel_id, "key": key},
        )
    return new_id


def save_group(
    conn: Connection,
    group_id: int,
    next_flush: tuple[datetime, str],
    sent: SentState,
    now: datetime,
) -> None:
    """The group's next flush (time, reason) and what its receiver now knows."""
    conn.execute(
        text(
            "UPDATE notify_group SET next_flush_at = :next, next_reason = :why,"
            " sent_firing = :firing, sent_resolved = :resolved, last_notified_at = :notified,"
            " last_flush_at = :now WHERE group_id = :g"
        ),
        {
            "g": group_id,
            "next": next_flush[0],
            "why": next_flush[1],
            "firing": sorted(sent.firing),
            "resolved": sorted(sent.resolved),
            "notified": sent.last_notified_at,
            "now": now,
        },
    )


def postpone_group(conn: Connection, group_id: int, now: datetime, seconds: int) -> None:
    """Look at the group again ``seconds`` from now, changing nothing else (its channel's row
    does not parse today; once fixed, the group flushes as it would have)."""
    conn.execute(
        text("UPDATE notify_group SET next_flush_at = :next WHERE group_id = :g"),
        {"g": group_id, "next": now + timedelta(seconds=max(int(seconds or 0), 60))},
    )


def prune_resolved(conn: Connection, group_id: int, keep: Iterable[str]) -> None:
    """Forget resolved alerts, except those the receiver still believes firing (``keep``)."""
    conn.execute(
        text(
            "DELETE FROM group_alert WHERE group_id = :g AND status = 'resolved'"
            " AND NOT (fingerprint = ANY (:keep))"
        ),
        {"g": group_id, "keep": list(keep)},
    )


def delete_group(conn: Connection, group_id: int) -> None:
    conn.execute(text("DELETE FROM notify_group WHERE group_id = :g"), {"g": group_id})


def prune(conn: Connection, before: datetime) -> dict[str, int]:
    """Drop finished notifications, attempts and resolved alert memory older than ``before``."""
    counts = {}
    for name, sql in (
        ("attempts", "DELETE FROM delivery_attempt WHERE started_at < :b"),
        (
            "notifications",
            "DELETE FROM notification WHERE created_at < :b"
            " AND state IN ('sent', 'superseded', 'folded')",
        ),
        ("alerts", "DELETE FROM active_alert WHERE status = 'resolved' AND updated_at < :b"),
    ):
        counts[name] = conn.execute(text(sql), {"b": before}).rowcount
    return counts

"""Reads of the delivery tables, for dispatch and the API; writes nothing (the stores do).

API reads take ``root``, the node of the token asking, and return only rows owned by nodes in
its subtree (``root = ANY (org_node.path)``): the boundary holds in both directions, a customs
token sees neither its siblings' channels nor the national ones.

Channel secrets come back opened (``channel_config.stored_secrets``): a channel whose sealed
secrets no key opens reads with none, and its sends fail with the reason as its own error.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery.channel_config import ChannelRecord, stored_secrets
from alerter.delivery.matchers import describe
from alerter.delivery.routing import ChannelRoute
from alerter.delivery.stages import GroupAlert
from alerter.delivery.suppression.silences import MuteInterval, Silence

ROUTE_COLUMNS = (
    "c.channel_id, c.node_id, c.name, c.matchers, c.group_by, c.group_wait_s,"
    " c.group_interval_s, c.repeat_interval_s, c.send_resolved, c.kind"
)
CHANNEL_READ_COLUMNS = (
    ROUTE_COLUMNS + ", c.config, c.lang, c.rate_per_minute, c.fallback_channel_id,"
    " c.enabled, c.created_by, c.created_at, c.updated_at, c.secrets, c.secrets_encrypted,"
    " s.blocked_until,"
    " s.last_error, s.last_error_at, s.last_success_at, s.meta_firing,"
    " COALESCE((SELECT array_agg(m.mute_interval_id ORDER BY m.mute_interval_id)"
    " FROM channel_mute_interval m WHERE m.channel_id = c.channel_id), '{}') AS mute_interval_ids"
)
log = logging.getLogger(__name__)
T = TypeVar("T")
_IN_SUBTREE = (
    "EXISTS (SELECT 1 FROM org_node o_ WHERE o_.node_id = {col} AND :root = ANY (o_.path))"
)


def in_subtree(column: str) -> str:
    """SQL: the row's node (``column``, table-qualified) is in the subtree of ``:root``."""
    assert "." in column, "qualify the column: inside the subquery org_node.node_id would win"
    return _IN_SUBTREE.format(col=column)


def node_path(conn: Connection, node_id: str) -> list[str] | None:
    row = conn.execute(text("SELECT path FROM org_node WHERE node_id = :n"), {"n": node_id}).first()
    return list(row[0]) if row else None


# --- dispatch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    """A stored row dispatch could not parse, and skipped: ``reason`` names the field."""

    table: str  # channel | silence | mute_interval | active_alert
    row_id: int | str
    reason: str


@lru_cache(maxsize=4096)
def _warn_once(skipped: Unreadable) -> None:
    # Dispatch runs every 2 s: a row that stays broken is logged when first seen, not
    # 43,200 times a day. The channel's own health (channel_state.last_error) keeps it visible.
    log.warning("skipping %s %s: %s", skipped.table, skipped.row_id, skipped.reason)


def parse_each(
    rows: Iterable[Mapping[Any, Any]],
    table: str,
    key: str,
    parse: Callable[[Mapping[Any, Any]], T],
    bad: list[Unreadable] | None,
) -> list[T]:
    """``parse`` of every row; a row it cannot parse is skipped, logged once, and added to
    ``bad`` (one corrupt row must not stop routing for every other channel)."""
    found: list[T] = []
    for row in rows:
        try:
            found.append(parse(row))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            skipped = Unreadable(table, row[key], _reason(exc))
            _warn_once(skipped)
            if bad is not None:
                bad.append(skipped)
    return found


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError) or not isinstance(exc, ValueError):
        return f"unreadable row{describe(exc)}"
    return str(exc)  # UnreadableRow, or a ValueError of ours: it names the field


def channel_routes(conn: Connection, bad: list[Unreadable] | None = None) -> list[ChannelRoute]:
    rows = conn.execute(
        text(f"SELECT {ROUTE_COLUMNS} FROM channel c WHERE c.enabled ORDER BY c.channel_id")
    ).mappings()
    return parse_each(rows, "channel", "channel_id", ChannelRoute.from_row, bad)


def active_silences(
    conn: Connection, now: datetime, bad: list[Unreadable] | None = None
) -> list[Silence]:
    rows = conn.execute(
        text("SELECT * FROM silence WHERE starts_at <= :now AND ends_at > :now"), {"now": now}
    ).mappings()
    return parse_each(rows, "silence", "silence_id", Silence.from_row, bad)


_CHANNEL_MUTE_INTERVALS = text(
    "SELECT cm.channel_id, m.* FROM channel_mute_interval cm"
    " JOIN mute_interval m USING (mute_interval_id) WHERE cm.channel_id = ANY (:ids)"
)


def channel_mute_intervals(
    conn: Connection, channel_ids: Iterable[int], bad: list[Unreadable] | None = None
) -> dict[int, list[MuteInterval]]:
    rows = conn.execute(_CHANNEL_MUTE_INTERVALS, {"ids": list(channel_ids)}).mappings()
    found: dict[int, list[MuteInterval]] = defaultdict(list)
    for row in rows:
        for parsed in parse_each(
            [row], "mute_interval", "mute_interval_id", MuteInterval.from_row, bad
        ):
            found[row["channel_id"]].append(parsed)
    return found


def group_alerts(conn: Connection, group_ids: Sequence[int]) -> dict[int, list[GroupAlert]]:
    rows = conn.execute(
        text(
            "SELECT * FROM group_alert WHERE group_id = ANY (:ids) ORDER BY starts_at, fingerprint"
        ),
        {"ids": list(group_ids)},
    ).mappings()
    found: dict[int, list[GroupAlert]] = defaultdict(list)
    for row in rows:
        found[row["group_id"]].append(
            GroupAlert(
                fingerprint=row["fingerprint"],
                status=row["status"],
                labels=dict(row["labels"]),
                annotations=dict(row["annotations"]),
                starts_at=row["starts_at"],
                node_path=tuple(row["node_path"]),
                value=row["value"],
                ends_at=row["ends_at"],
                rule_id=row["rule_id"],
            )
        )
    return found


# A notification is due when it waits, or its sender's lease ran out (the sender died), on an
# enabled channel that no rate limit blocks.
_CHANNELS_WITH_DUE_WORK = text(
    "SELECT DISTINCT n.channel_id FROM notification n"
    " JOIN channel c USING (channel_id) LEFT JOIN channel_state s USING (channel_id)"
    " WHERE c.enabled AND n.next_attempt_at <= :now"
    " AND (n.state = 'pending' OR (n.state = 'sending' AND n.claimed_until < :now))"
    " AND (s.blocked_until IS NULL OR s.blocked_until <= :now)"
    " ORDER BY n.channel_id"
)


def channels_with_due_work(conn: Connection, now: datetime) -> list[int]:
    rows = conn.execute(_CHANNELS_WITH_DUE_WORK, {"now": now})
    return [row[0] for row in rows]


def channel_record(conn: Connection, channel_id: int) -> ChannelRecord | None:
    row = (
        conn.execute(text("SELECT * FROM channel WHERE channel_id = :c"), {"c": channel_id})
        .mappings()
        .first()
    )
    if row is None:
        return None
    secrets, problem = stored_secrets(conn, row)
    return ChannelRecord.from_row({**row, "secrets": secrets}, problem)


# A bot's quota is shared by every channel that posts to it, so usage counts by bot, and
# in-flight sends count too: each will be a request once it lands.
_BOT_ATTEMPTS = text(
    "SELECT COALESCE(SUM(parts) FILTER (WHERE started_at > :minute), 0),"
    " COALESCE(SUM(parts) FILTER (WHERE started_at > :second), 0)"
    " FROM delivery_attempt WHERE bot_key = :k AND started_at > :minute"
)
_BOT_IN_FLIGHT = text(
    "SELECT count(*) FROM notification n JOIN channel c USING (channel_id)"
    " WHERE c.bot_key = :k AND n.state = 'sending' AND n.claimed_until >= :now"
)


def bot_usage(conn: Connection, bot_key: str, now: datetime) -> tuple[int, int]:
    """Requests to this bot in the last minute and the last second, in-flight leases included."""
    windows = {"minute": now - timedelta(minutes=1), "second": now - timedelta(seconds=1)}
    row = conn.execute(_BOT_ATTEMPTS, {"k": bot_key, **windows}).one()
    in_flight = conn.execute(_BOT_IN_FLIGHT, {"k": bot_key, "now": now}).scalar_one()
    return int(row[0]) + in_flight, int(row[1]) + in_flight


# --- API ------------------------------------------------------------------------------------


def _page(sql: str, params: Mapping[str, Any], conn: Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(text(sql), dict(params)).mappings()]


def _owned(
    conn: Connection,
    select: str,
    key: str,
    order: str,
    root: str,
    limit: int,
    offset: int,
    ident: int | None,
) -> list[dict[str, Any]]:
    """Rows of ``select`` whose node (the ``node_id`` of ``key``'s table) is in the subtree of
    ``root``: one page of them, or the row whose ``key`` is ``ident``."""
    where = in_subtree(key.split(".")[0] + ".node_id")
    if ident is not None:
        where += f" AND {key} = :id"
    sql = f"{select} WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset"
    return _page(sql, {"root": root, "limit": limit, "offset": offset, "id": ident}, conn)


def channels(
    conn: Connection, root: str, limit: int, offset: int, channel_id: int | None = None
) -> list[dict[str, Any]]:
    select = (
        f"SELECT {CHANNEL_READ_COLUMNS} FROM channel c LEFT JOIN channel_state s USING (channel_id)"
    )
    key = "c.channel_id"
    found = _owned(conn, select, key, key, root, limit, offset, channel_id)
    for row in found:
        row["secrets"], _ = stored_secrets(conn, row)
        del row["secrets_encrypted"]
    return found


def silences(
    conn: Connection, root: str, limit: int, offset: int, silence_id: int | None = None
) -> list[dict[str, Any]]:
    select, key = "SELECT s.* FROM silence s", "s.silence_id"
    return _owned(conn, select, key, f"{key} DESC", root, limit, offset, silence_id)


def mute_intervals(
    conn: Connection, root: str, limit: int, offset: int, interval_id: int | None = None
) -> list[dict[str, Any]]:
    select, key = "SELECT m.* FROM mute_interval m", "m.mute_interval_id"
    return _owned(conn, select, key, key, root, limit, offset, interval_id)


def deliveries(
    conn: Connection, root: str, filters: Mapping[str, Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    clauses = [in_subtree("c.node_id")]
    for name, column in (
        ("channel_id", "a.channel_id"),
        ("status", "a.status"),
        ("notification_id", "a.notification_id"),
    ):
        if filters.get(name) is not None:
            clauses.append(f"{column} = :{name}")
    if filters.get("since") is not None:
        clauses.append("a.started_at >= :since")
    sql = (
        "SELECT a.attempt_id, a.notification_id, a.channel_id, c.name AS channel_name, c.kind,"
        " a.attempt, a.started_at, a.status, a.vendor_code, a.latency_ms, a.parts, a.error,"
        " a.retry_at, a.test FROM delivery_attempt a JOIN channel c USING (channel_id)"
        f" WHERE {' AND '.join(clauses)} ORDER BY a.attempt_id DESC LIMIT :limit OFFSET :offset"
    )
    return _page(sql, {**filters, "root": root, "limit": limit, "offset": offset}, conn)


NOTIFICATION_COLUMNS = (
    "n.notification_id, n.channel_id, c.name AS channel_name, n.group_key, n.kind, n.reason,"
    " n.alert_count, n.state, n.created_at, n.next_attempt_at, n.attempts, n.failures,"
    " n.sent_at, n.dead_at, n.last_error, n.replaced_by, n.fallback_of"
)


def notifications(
    conn: Connection,
    root: str,
    state: str | None,
    limit: int,
    offset: int,
    notification_id: int | None = None,
) -> list[dict[str, Any]]:
    clauses = [in_subtree("c.node_id")]
    if state:
        clauses.append("n.state = :state")
    if notification_id:
        clauses.append("n.notification_id = :id")
    sql = (
        f"SELECT {NOTIFICATION_COLUMNS} FROM notification n JOIN channel c USING (channel_id)"
        f" WHERE {' AND '.join(clauses)} ORDER BY n.notification_id DESC LIMIT :limit OFFSET :offset"
    )
    params = {"root": root, "state": state, "limit": limit, "offset": offset, "id": notification_id}
    return _page(sql, params, conn)


def groups(conn: Connection, channel_id: int, limit: int, offset: int) -> list[dict[str, Any]]:
    sql = (
        "SELECT g.group_id, g.group_key, g.group_labels, g.created_at, g.next_flush_at,"
        " g.next_reason, g.last_flush_at, g.last_notified_at,"
        " (SELECT count(*) FROM group_alert a WHERE a.group_id = g.group_id"
        "  AND a.status = 'firing') AS firing"
        " FROM notify_group g WHERE g.channel_id = :c ORDER BY g.group_id LIMIT :limit OFFSET :offset"
    )
    return _page(sql, {"c": channel_id, "limit": limit, "offset": offset}, conn)

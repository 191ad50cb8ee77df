"""The dispatcher's step: route outbox events, flush due groups, send; writes via the stores.

``dispatch_once(engine, settings)`` is the one call the scheduler runs every few seconds, on
as many replicas as wanted: the outbox rows, groups and notifications are all claimed with
``FOR UPDATE SKIP LOCKED``, so replicas share the work and each notification is sent once
(at least once across a crash: see ``keyed_client``). Nothing lives in process memory.

    alert_event --route--> notify_group/group_alert --flush (stages.STAGES)--> notification
                --send (sending.send_pass)--> delivery_attempt
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from alerter.delivery import config_store, reads, store
from alerter.delivery.grouping import SentState, next_flush
from alerter.delivery.routing import ChannelRoute, RoutableAlert, routes_for, routing_labels
from alerter.delivery.sending.retry import RetryPolicy
from alerter.delivery.sending.send_pass import send_due
from alerter.delivery.stages import FlushContext, GroupAlert, run
from alerter.delivery.suppression.acks import active_acks
from alerter.delivery.suppression.inhibit_rules import enabled_rules, rule_sources
from alerter.delivery.suppression.inhibition import InhibitRule, Source
from alerter.delivery.suppression.silences import MuteInterval, Silence
from quaywatch.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH = 500  # outbox rows and groups per transaction
RETENTION = timedelta(days=30)


@dataclass
class DispatchResult:
    routed: int = 0  # alert events consumed from the outbox
    flushed: int = 0  # groups looked at
    enqueued: int = 0  # notifications created
    sent: int = 0
    failed: int = 0  # attempts that failed and will be retried
    dead: int = 0  # dead-lettered
    folded: int = 0  # notifications merged into a digest by a rate limit
    more: bool = False  # work is left that is due now: run again without waiting

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def dispatch_once(
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    *,
    policy: RetryPolicy | None = None,  # None: the default pacing, settings.retry_budget_s
) -> DispatchResult:
    """Route, flush and send once; cheap when idle (three indexed queries)."""
    now = now or datetime.now(UTC)
    result = DispatchResult()
    routed = retry_on_conflict(route_events)(engine, now)
    flushed = retry_on_conflict(flush_groups)(engine, now)
    result.routed = routed or 0
    result.flushed, result.enqueued = flushed or (0, 0)
    sent = send_due(engine, settings, now, policy)
    result.sent, result.failed, result.dead, result.folded = (
        sent.sent, sent.failed, sent.dead, sent.folded,
    )  # fmt: skip
    rolled_back = routed is None or flushed is None
    result.more = sent.more or rolled_back or result.routed == BATCH or result.flushed == BATCH
    return result


def prune_once(engine: Engine, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Hourly: drop finished notifications and attempts older than 30 days."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        return store.prune(conn, now - RETENTION)


# --- routing --------------------------------------------------------------------------------


def alert_from_event(row: Mapping[Any, Any]) -> RoutableAlert:
    return RoutableAlert(
        fingerprint=row["fingerprint"],
        status=row["status"],
        labels=routing_labels(row["labels"], row["severity"], row["node_id"], row["theme"]),
        annotations={str(k): str(v) for k, v in row["annotations"].items()},
        starts_at=row["starts_at"],
        node_id=row["node_id"],
        node_path=list(row["node_path"]),
        seq=row["event_id"],
        value=row["value"],
        ends_at=row["ends_at"],
        rule_id=row["rule_id"],
    )


def retry_on_conflict(step: Callable[..., T]) -> Callable[..., T | None]:
    """A deadlock or serialization failure between replicas rolls the step back; the next
    pass does the work again (nothing was committed), so report it and carry on."""

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> T | None:
        try:
            return step(*args, **kwargs)
        except DBAPIError as exc:
            if not isinstance(exc.orig, psycopg.errors.TransactionRollback):
                raise
            log.info(
                "%s rolled back (%s); retried next pass", step.__name__, type(exc.orig).__name__
            )
            return None

    return wrapper


def route_events(engine: Engine, now: datetime, batch: int = BATCH) -> int:
    """Consume up to ``batch`` outbox rows into groups, in one transaction."""
    with engine.begin() as conn:
        rows = store.claim_events(conn, batch)
        if not rows:
            return 0
        alerts = [alert_from_event(row) for row in rows]
        # Lock rows in one global order (fingerprint, then group) so that two replicas
        # routing overlapping alerts cannot deadlock.
        latest = _latest_per_fingerprint(alerts)
        fresh = [
            a
            for a in sorted(latest, key=lambda a: a.fingerprint)
            if store.record_active_alert(conn, a, now)
        ]
        for alert in fresh:
            if alert.status == "resolved":
                store.resolve_held(conn, alert, now)
        bad: list[reads.Unreadable] = []
        routes = reads.channel_routes(conn, bad)
        _record_unreadable(conn, bad, now)
        pairs = [(r, a) for a in fresh for r in routes_for(a, routes)]
        for route, alert in sorted(pairs, key=lambda p: (p[0].channel_id, p[1].fingerprint)):
            store.add_to_group(conn, route, alert, now)
        store.mark_processed(conn, [row["event_id"] for row in rows], now)
    return len(rows)


def _record_unreadable(conn: Connection, bad: Sequence[reads.Unreadable], now: datetime) -> None:
    """A skipped channel row shows on that channel's health; other tables have no health
    column, so their skipped rows are only logged (once, by reads)."""
    for skipped in bad:
        if skipped.table == "channel" and isinstance(skipped.row_id, int):
            config_store.record_unreadable(conn, skipped.row_id, skipped.reason, now)


def _latest_per_fingerprint(alerts: Sequence[RoutableAlert]) -> list[RoutableAlert]:
    latest: dict[str, RoutableAlert] = {}
    for alert in alerts:
        if alert.fingerprint not in latest or latest[alert.fingerprint].seq < alert.seq:
            latest[alert.fingerprint] = alert
    return list(latest.values())


# --- flushing -------------------------------------------------------------------------------


@dataclass
class FlushInputs:
    """What every group flush of one pass reads, loaded once."""

    silences: list[Silence]
    sources: list[Source]
    mutes: Mapping[int, list[MuteInterval]] = field(default_factory=dict)
    rules: Sequence[InhibitRule] = ()  # the enabled inhibit rules; none loaded: none apply


def flush_groups(engine: Engine, now: datetime, batch: int = BATCH) -> tuple[int, int]:
    """Flush due groups through the pipeline; returns (groups flushed, notifications made)."""
    with engine.begin() as conn:
        groups = store.claim_due_groups(conn, now, batch)
        if not groups:
            return 0, 0
        rules = enabled_rules(conn)  # once per pass; a corrupt rule is skipped, logged once
        inputs = FlushInputs(
            reads.active_silences(conn, now),
            rule_sources(conn, rules),
            reads.channel_mute_intervals(conn, {g["channel_id"] for g in groups}),
            rules,
        )
        alerts = reads.group_alerts(conn, [g["group_id"] for g in groups])
        bad: list[reads.Unreadable] = []
        made = 0
        for group in groups:
            route = _route_of(group, bad)
            if route is None:  # its channel row is corrupt: try again a group_interval later
                store.postpone_group(conn, group["group_id"], now, group["group_interval_s"])
                continue
            made += _flush(conn, group, route, alerts.get(group["group_id"], []), inputs, now)
        _record_unreadable(conn, bad, now)
    return len(groups), made


def _route_of(group: Mapping[Any, Any], bad: list[reads.Unreadable]) -> ChannelRoute | None:
    found = reads.parse_each([group], "channel", "channel_id", ChannelRoute.from_row, bad)
    return found[0] if found else None


def _flush(
    conn: Connection,
    group: Mapping[Any, Any],
    route: ChannelRoute,
    alerts: list[GroupAlert],
    inputs: FlushInputs,
    now: datetime,
) -> int:
    sent = SentState(
        frozenset(group["sent_firing"]),
        frozenset(group["sent_resolved"]),
        group["last_notified_at"],
    )
    ctx = FlushContext(
        route, now, sent, inputs.silences, inputs.sources, inputs.mutes.get(route.channel_id, [])
    )
    ctx.rules = inputs.rules  # stages.inhibit
    ctx.acks = active_acks(conn, [a.fingerprint for a in alerts], now)  # stages.acknowledged
    out = run(ctx, list(alerts))
    made = 0
    if ctx.decision.send:
        content = {
            "group_key": group["group_key"],
            "group_labels": group["group_labels"],
            "reason": ctx.decision.reason,
            "alerts": [a.to_json() for a in out],
        }
        store.enqueue(
            conn, route.channel_id, group["group_key"], content, now, group_id=group["group_id"]
        )
        made = 1
    if ctx.decision.reason is not None:
        told_firing = {a.fingerprint for a in out if a.firing}
        sent = SentState(
            frozenset(told_firing | (sent.firing & ctx.withheld.keys())),
            frozenset(a.fingerprint for a in out if not a.firing),
            now if ctx.decision.send else sent.last_notified_at,
        )
    _reschedule(conn, group, route, alerts, sent, ctx, now)
    return made


def _reschedule(
    conn: Connection,
    group: Mapping[Any, Any],
    route: ChannelRoute,
    alerts: Sequence[GroupAlert],
    sent: SentState,
    ctx: FlushContext,
    now: datetime,
) -> None:
    """Save what the receiver now knows, forget resolved alerts, and set the next flush."""
    group_id = group["group_id"]
    store.prune_resolved(conn, group_id, sent.firing)
    firing_left = any(a.firing for a in alerts)
    kept_resolved = any(not a.firing and a.fingerprint in sent.firing for a in alerts)
    upcoming = next_flush(now, route.timing, sent.last_notified_at, firing_left, bool(ctx.withheld))
    if upcoming is None and not kept_resolved:
        store.delete_group(conn, group_id)
        return
    upcoming = upcoming or (now + timedelta(seconds=route.timing.group_interval), "group_interval")
    store.save_group(conn, group_id, upcoming, sent, now)

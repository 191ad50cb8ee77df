"""The collector's HTTP API: event ingest, lots, org tree, indicators and metric reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, request
from sqlalchemy import text

from collector.events import CONFLICT_REASON, CargoEvent, FieldError, TimePolicy, parse_items
from collector.store import save_events
from quaywatch.db import raw_connection
from quaywatch.errors import ApiError
from quaywatch.http.openapi import body
from quaywatch.http.request_body import request_items
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    Param,
    bad_arg,
    in_subtree,
    int_arg,
    jsonable,
    node_path,
    principal,
)
from quaywatch.web import app_engine, app_settings, app_telemetry, batch_answer

bp = Blueprint("collector", __name__, url_prefix="/api/v1")


def read_batch(noun: str) -> tuple[list[Any], list[FieldError]]:
    """The request's items (JSON array or NDJSON, decoded strictly by quaywatch.http.request_body)
    within the batch limit, and the NDJSON lines that failed as item errors; shared by every
    batch ingest route."""
    items, line_errors = request_items()
    if not isinstance(items, list):
        raise ApiError(400, "Invalid body", "body: must be a JSON array or NDJSON lines")
    limit = app_settings().max_batch
    if len(items) > limit:
        raise ApiError(
            413, "Batch too long", f"{len(items)} {noun} in one request; the limit is {limit}"
        )
    errors = [FieldError(e.index, "item", f"invalid JSON: {e.reason}") for e in line_errors]
    return items, errors


def time_policy() -> TimePolicy:
    """How far event times may run ahead of the clock, and the zone of naive ones (settings)."""
    settings = app_settings()
    return TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)


def _visible_sites(node_id: str) -> set[str]:
    with app_engine().connect() as conn:
        rows = conn.execute(
            text("SELECT node_id FROM org_node WHERE level = 'site' AND :n = ANY (path)"),
            {"n": node_id},
        )
        return {row[0] for row in rows}


@bp.post("/events")
@allow("events:write")
@body(CargoEvent, many=True)
def ingest_events() -> Any:
    """Store a batch of cargo events (JSON array or NDJSON); 202 after commit."""
    items, decode_errors = read_batch("events")
    failed_lines = {error.index for error in decode_errors}
    valid, errors = parse_items(
        items, time_policy(), known_sites=_visible_sites(principal().node_id), skip=failed_lines
    )
    errors += decode_errors
    received_at = datetime.now(UTC)
    with raw_connection(app_engine()) as conn:
        result = save_events(conn, [event.as_row("push", received_at) for _, event in valid])
    conflicted = set(result.conflicts)
    for position in result.conflicts:
        index, event = valid[position]
        errors.append(FieldError(index, "event_id", CONFLICT_REASON, event.event_id))
    accepted = [event for position, (_, event) in enumerate(valid) if position not in conflicted]
    telemetry = app_telemetry()
    telemetry.events_accepted.labels("push").inc(result.stored)
    telemetry.events_rejected.labels("push").inc(len(errors))
    body = {
        "accepted": len(accepted),
        "stored": result.stored,
        "duplicates": result.duplicates,
        "rejected": len(errors),
        # Each id once, in the order first sent (a re-sent copy is accepted, not listed twice).
        "accepted_ids": list(dict.fromkeys(event.event_id for event in accepted)),
        "errors": [error.as_dict() for error in sorted(errors, key=lambda e: e.index)],
    }
    return batch_answer(body)


def _check_visible(node_id: str) -> None:
    """404 unless the node is in the token's subtree. The answer is the one an absent object
    gets and names only what the URL named: a foreign lot's 404 must not reveal its site."""
    with app_engine().connect() as conn:
        path = node_path(conn, node_id)
    if not in_subtree(path):
        asked = next(iter((request.view_args or {}).items()), None)
        detail = f"no {asked[0].removesuffix('_id')} {asked[1]!r}" if asked else "not found"
        raise ApiError(404, "Not found", detail)


# What GET /lots shows of a visit: its state, not the fold's bookkeeping (stamps).
_LOT_FIELDS = (
    "lot_id, site_id, visit_no, stage, on_hold, direction, hazard_class, un_number,"
    " packing_group, teu, arrived_at, declared_at, inspection_started_at,"
    " inspection_finished_at, released_at, removed_at, held_at, hold_lifted_at, limit_hours,"
    " deadline_at, warn_at, event_count, first_event_at, last_event_at, updated_at"
)


LOT_QUERY = (Param("site_id"), Param("visit_no", "integer", "one visit", 1, 2**31 - 1))


@bp.get("/lots")
@allow("read", Param("lot_id", required=True, description='any lot id, "/" included'), *LOT_QUERY)
def find_lot() -> Any:
    """A lot by `?lot_id=`: the same answer as GET /lots/<lot_id>, for any id whatever it holds."""
    lot_id = request.args.get("lot_id")
    if not lot_id:
        raise bad_arg("lot_id", "is required")
    return get_lot(lot_id)


@bp.get("/lots/<path:lot_id>")
@allow("read", *LOT_QUERY)
def get_lot(lot_id: str) -> Any:
    """A lot's merged state, stage and deadline: its latest visit in the token's subtree.

    A lot is one visit of a container or consignment at a site; `visits` lists every visit of
    this lot id the token may see, and `?site_id=` and `?visit_no=` pick one of them."""
    site_id = request.args.get("site_id")
    visit_no = int_arg("visit_no", None, 1, 2**31 - 1)
    with app_engine().connect() as conn:
        rows = (
            conn.execute(
                text(
                    f"SELECT {', '.join('l.' + c.strip() for c in _LOT_FIELDS.split(','))}"
                    " FROM lot l JOIN org_node n ON n.node_id = l.site_id"
                    " WHERE l.lot_id = :id AND :root = ANY (n.path)"
                    " ORDER BY l.last_event_at DESC NULLS LAST, l.site_id, l.visit_no DESC"
                ),
                {"id": lot_id, "root": principal().node_id},
            )
            .mappings()
            .all()
        )
    visits = [
        {k: jsonable(row[k]) for k in ("site_id", "visit_no", "stage", "arrived_at", "removed_at")}
        for row in rows
    ]
    chosen = [
        row
        for row in rows
        if (site_id is None or row["site_id"] == site_id)
        and (visit_no is None or row["visit_no"] == visit_no)
    ]
    if not chosen:
        raise ApiError(404, "Not found", f"no lot {lot_id!r}")
    return {**jsonable(chosen[0]), "visits": visits}


@bp.get("/nodes")
@allow("read", Param("level", description="nation, customs, office or site"))
def list_nodes() -> Any:
    """The org tree under the token's node."""
    level = request.args.get("level")
    sql = (
        "SELECT node_id, parent_id, level, code, name_en, name_zh, site_type, locode, longitude,"
        " latitude, timezone FROM org_node WHERE :root = ANY (path)"
    )
    if level:
        sql += " AND level = :level"
    with app_engine().connect() as conn:
        rows = conn.execute(
            text(sql + " ORDER BY path"), {"root": principal().node_id, "level": level}
        )
        return {"items": [dict(row) for row in rows.mappings()]}


@bp.get("/nodes/<node_id>")
@allow("read")
def get_node(node_id: str) -> Any:
    """One org node."""
    _check_visible(node_id)
    with app_engine().connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM org_node WHERE node_id = :n"), {"n": node_id})
            .mappings()
            .one()
        )
    return dict(row)


# GET /indicators (the catalogue a token sees) is collector/indicators/api.py.


_RECENT_POINTS = text(
    "SELECT p.time, p.value FROM metric_point p JOIN series s USING (series_id)"
    " WHERE s.node_id = :n AND s.indicator_code = :i"
    " AND p.time > now() - make_interval(hours => :h) ORDER BY p.time"
)


@bp.get("/metrics/<node_id>/<indicator>")
@allow("read", Param("hours", "integer", "how far back (default 24)", 1, 24 * 90))
def get_metric(node_id: str, indicator: str) -> Any:
    """Recent points of one indicator at one node."""
    _check_visible(node_id)
    hours = int_arg("hours", 24, 1, 24 * 90)
    with app_engine().connect() as conn:
        known = conn.execute(text("SELECT 1 FROM indicator WHERE code = :i"), {"i": indicator})
        if known.first() is None:
            raise ApiError(404, "Not found", f"no indicator {indicator!r}")
        rows = conn.execute(_RECENT_POINTS, {"n": node_id, "i": indicator, "h": hours})
        points = [{"time": row[0].isoformat(), "value": row[1]} for row in rows]
    return {"node_id": node_id, "indicator": indicator, "points": points}

"""The collector's HTTP API: event ingest, lots, org tree, indicators and metric reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, g, request
from sqlalchemy import text

from collector.events import CargoEvent, FieldError, TimePolicy, parse_batch
from collector.store import save_events
from quaywatch.auth import require
from quaywatch.db import raw_connection
from quaywatch.errors import ApiError
from quaywatch.openapi import body
from quaywatch.web import app_engine, app_settings, app_telemetry

bp = Blueprint("collector", __name__, url_prefix="/api/v1")


def _decode_items(body: bytes, content_type: str) -> tuple[list[Any], list[FieldError]]:
    """A JSON array, or NDJSON (one object per line); a bad NDJSON line is that item's error."""
    text_body = body.decode("utf-8", errors="replace")
    stripped = text_body.lstrip()
    if "ndjson" not in content_type and "jsonl" not in content_type and stripped.startswith("["):
        try:
            items = json.loads(text_body)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "Invalid JSON", f"body: {exc.msg} at line {exc.lineno}") from None
        return items, []
    items, errors = [], []
    for index, line in enumerate(line for line in text_body.splitlines() if line.strip()):
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            items.append(None)
            errors.append(FieldError(index, "item", f"invalid JSON: {exc.msg}"))
    return items, errors


def read_batch(noun: str) -> tuple[list[Any], list[FieldError]]:
    """The request's items (JSON array or NDJSON) within the batch limit, and NDJSON line errors;
    shared by every batch ingest route."""
    items, decode_errors = _decode_items(request.get_data(cache=False), request.content_type or "")
    if not isinstance(items, list):
        raise ApiError(400, "Invalid body", "body: must be a JSON array or NDJSON lines")
    limit = app_settings().max_batch
    if len(items) > limit:
        raise ApiError(
            413, "Batch too long", f"{len(items)} {noun} in one request; the limit is {limit}"
        )
    return items, decode_errors


def _visible_sites(node_id: str) -> set[str]:
    with app_engine().connect() as conn:
        rows = conn.execute(
            text("SELECT node_id FROM org_node WHERE level = 'site' AND :n = ANY (path)"),
            {"n": node_id},
        )
        return {row[0] for row in rows}


@bp.post("/events")
@require("events:write")
@body(CargoEvent, many=True)
def ingest_events() -> Any:
    """Store a batch of cargo events (JSON array or NDJSON); 202 after commit."""
    settings = app_settings()
    items, decode_errors = read_batch("events")
    failed_lines = {error.index for error in decode_errors}
    policy = TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)
    valid, errors = parse_batch(
        items, policy, known_sites=_visible_sites(g.principal.node_id), skip=failed_lines
    )
    errors += decode_errors
    received_at = datetime.now(UTC)
    with raw_connection(app_engine()) as conn:
        result = save_events(conn, [event.as_row("push", received_at) for event in valid])
    telemetry = app_telemetry()
    telemetry.events_accepted.labels("push").inc(result.stored)
    telemetry.events_rejected.labels("push").inc(len(errors))
    body = {
        "accepted": len(valid),
        "stored": result.stored,
        "duplicates": result.duplicates,
        "rejected": len(errors),
        "accepted_ids": [event.event_id for event in valid],
        "errors": [error.as_dict() for error in sorted(errors, key=lambda e: e.index)],
    }
    return body, 202 if valid or not errors else 422


def _check_visible(node_id: str) -> None:
    with app_engine().connect() as conn:
        row = conn.execute(
            text("SELECT path FROM org_node WHERE node_id = :n"), {"n": node_id}
        ).first()
    if row is None or g.principal.node_id not in row[0]:
        raise ApiError(404, "Not found", f"no node {node_id!r} in this token's subtree")


@bp.get("/lots/<lot_id>")
@require("read")
def get_lot(lot_id: str) -> Any:
    """A lot's merged state, stage and deadline."""
    with app_engine().connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM lot WHERE lot_id = :id"), {"id": lot_id})
            .mappings()
            .first()
        )
    if row is None:
        raise ApiError(404, "Not found", f"no lot {lot_id!r}")
    _check_visible(row["site_id"])
    return {key: _json_value(value) for key, value in row.items()}


@bp.get("/nodes")
@require("read")
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
            text(sql + " ORDER BY path"), {"root": g.principal.node_id, "level": level}
        )
        return {"items": [dict(row) for row in rows.mappings()]}


@bp.get("/nodes/<node_id>")
@require("read")
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


@bp.get("/indicators")
@require("read")
def list_indicators() -> Any:
    """The indicator catalogue."""
    with app_engine().connect() as conn:
        rows = conn.execute(text("SELECT * FROM indicator ORDER BY theme, code")).mappings()
        return {"items": [{k: _json_value(v) for k, v in row.items()} for row in rows]}


@bp.get("/metrics/<node_id>/<indicator>")
@require("read")
def get_metric(node_id: str, indicator: str) -> Any:
    """Recent points of one indicator at one node."""
    _check_visible(node_id)
    hours = request.args.get("hours", "24")
    if not hours.isdigit() or not 0 < int(hours) <= 24 * 90:
        raise ApiError(400, "Invalid parameter", "hours: must be a whole number from 1 to 2160")
    with app_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.time, p.value FROM metric_point p JOIN series s USING (series_id)"
                " WHERE s.node_id = :n AND s.indicator_code = :i"
                " AND p.time > now() - make_interval(hours => :h) ORDER BY p.time"
            ),
            {"n": node_id, "i": indicator, "h": int(hours)},
        )
        points = [{"time": row[0].isoformat(), "value": row[1]} for row in rows]
    return {"node_id": node_id, "indicator": indicator, "points": points}


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value

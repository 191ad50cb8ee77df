"""The risk screening API: declaration ingest, the review queue, reviews and precision; risk
rules come from api_rules.py as a nested blueprint. All under /api/v1.

Ingest behaves as POST /api/v1/events does: a JSON array or NDJSON, every item validated on its
own (errors name index, field and reason; the valid rest is kept), sites limited to the token's
subtree, and 202 only after the commit that also stored the declarations' flags.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field

from collector.api import _visible_sites, read_batch, time_policy
from collector.events import FieldError
from collector.risk import queue
from collector.risk.api_rules import actor, rules_bp
from collector.risk.declarations import Declaration, load_rates, parse_indexed
from collector.risk.features import FEATURES
from collector.risk.store import save_declarations
from quaywatch.db import raw_connection
from quaywatch.errors import ApiError
from quaywatch.http.openapi import body as documented
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    NODE,
    PAGE,
    Param,
    bad_arg,
    body,
    bool_arg,
    float_arg,
    int_arg,
    jsonable,
    node_arg,
    page,
    page_args,
    principal,
    time_arg,
)
from quaywatch.web import app_engine, batch_answer

bp = Blueprint("risk", __name__, url_prefix="/api/v1")
bp.register_blueprint(rules_bp)

QUEUE_WINDOW = timedelta(days=30)


def _error(error: FieldError) -> dict[str, Any]:
    out = error.as_dict()
    if "event_id" in out:
        out["declaration_id"] = out.pop("event_id")
    return out


@bp.post("/declarations")
@allow("events:write")
@documented(Declaration, many=True)
def ingest_declarations() -> Any:
    """Store and screen declarations (JSON array or NDJSON); 202 once flags are committed."""
    items, decode_errors = read_batch("declarations")
    policy = time_policy()
    with app_engine().connect() as conn:
        rates = load_rates(conn)
    sites = _visible_sites(principal().node_id)
    valid, errors = parse_indexed(
        items, policy, rates, known_sites=sites, skip={error.index for error in decode_errors}
    )
    errors += decode_errors
    received_at = datetime.now(UTC)
    with raw_connection(app_engine()) as conn:
        result = save_declarations(
            conn, [d.as_row("push", received_at) for _, d in valid], writable_sites=sites
        )
    refused = {r.position for r in result.rejected}
    errors += [
        FieldError(valid[r.position][0], r.field, r.reason, r.declaration_id)
        for r in result.rejected
    ]
    accepted = [d.declaration_id for n, (_, d) in enumerate(valid) if n not in refused]
    response = {
        "accepted": len(accepted),
        "stored": result.stored,
        "amended": result.amended,
        "duplicates": result.duplicates,
        "rejected": len(errors),
        "accepted_ids": list(dict.fromkeys(accepted)),
        "flagged": [flag.__dict__ for flag in result.flagged],
        "errors": [_error(e) for e in sorted(errors, key=lambda e: e.index)],
    }
    return batch_answer(response)


@bp.get("/risk/queue")
@allow(
    "read",
    *PAGE,
    NODE,
    Param("since", "date-time", "flagged since (default: 30 days ago)"),
    Param("feature", enum=(*FEATURES, "rule")),
    Param("min_score", "number"),
    Param("reviewed", "boolean"),
    Param("rule_id", "integer", "flags of this risk rule", 0, 2**31 - 1),
)
def risk_queue() -> Any:
    """Flagged declarations in a subtree, highest score first, with their flags and review."""
    feature = request.args.get("feature") or None
    if feature is not None and feature not in (*FEATURES, "rule"):
        raise bad_arg("feature", f"must be one of {', '.join(FEATURES)}, rule")
    rule_id = int_arg("rule_id")
    limit, offset = page_args()
    with app_engine().connect() as conn:
        where = queue.QueueFilter(
            node_id=node_arg(conn),
            since=time_arg("since") or datetime.now(UTC) - QUEUE_WINDOW,
            feature=feature,
            min_score=float_arg("min_score"),
            reviewed=bool_arg("reviewed"),
            rule_id=rule_id,
        )
        items = queue.list_queue(conn, where, limit + 1, offset)
    return page(items, limit, offset)


@bp.get("/risk/declarations/<path:declaration_id>")
@allow("read")
def get_declaration(declaration_id: str) -> Any:
    """A declaration with its risk mark, flags and review (ids may contain "/")."""
    sites = _visible_sites(principal().node_id)
    with app_engine().connect() as conn:
        items = [i for i in queue.get_declaration(conn, declaration_id) if i["site_id"] in sites]
    if not items:
        # The same answer whether it does not exist or lies outside the subtree.
        raise ApiError(404, "Not found", f"no declaration {declaration_id!r}")
    return {"items": jsonable(items)}


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["confirmed", "cleared"]
    note: str = Field(default="", max_length=4000)


@bp.post("/risk/flags/<int:flag_id>/review")
@allow("alerts:write")
@documented(ReviewBody)
def review_flag(flag_id: int) -> Any:
    """Record the outcome for the flag's declaration (operators and admins of its subtree)."""
    outcome = body(ReviewBody)
    with app_engine().begin() as conn:
        flag = queue.flag_site(conn, flag_id)
        if flag is None or principal().node_id not in flag["path"]:
            raise ApiError(404, "Not found", f"no flag {flag_id} in this token's subtree")
        review = queue.review(conn, flag, outcome.outcome, outcome.note, actor())
    return jsonable(review)


@bp.get("/risk/precision")
@allow("read", NODE)
def precision_by_feature() -> Any:
    """Confirmed / reviewed per feature among flagged declarations in a subtree."""
    with app_engine().connect() as conn:
        node = node_arg(conn)
        return {"node_id": node, "items": queue.feature_precision(conn, node)}

"""Indicators over HTTP: list, read, create, change (a new version), retire, propose, publish.

Writes through collector.indicators.store (indicator, series, indicator_spec), the lifecycle
columns of `indicator` (sql/0101) and one audit_log row per change (quaywatch.audit), all in
the request's transaction. Visibility is the rules': a token sees the indicators owned in its
subtree (and may change them, with indicators:write), those of its ancestors read-only, and the
built-ins read-only; another customs' indicator is a 404 naming only the code asked for. A new
code below the nation must be in its owner's namespace (collector.indicators.namespace), so a
409 "taken" never tells a customs about a tree it cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.indicators.compile import compile_spec
from collector.indicators.namespace import code_problem
from collector.indicators.spec import IndicatorSpec
from collector.indicators.store import NATIONAL, apply_spec
from collector.metric_definitions import BY_CODE
from quaywatch.audit import write_audit
from quaywatch.errors import ApiError
from quaywatch.http import proposals
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    PAGE,
    Param,
    field_problem,
    json_object,
    jsonable,
    node_path,
    page,
    page_args,
    principal,
    require_in_subtree,
    validated,
)
from quaywatch.web import app_engine

bp = Blueprint("indicators", __name__, url_prefix="/api/v1")

_SELECT = text(
    "SELECT i.code, i.name_en, i.name_zh, i.unit, i.theme, i.direction, i.definition,"
    " i.forecastable, i.builtin, i.state, i.proposal_status, i.proposed_at, i.proposed_by,"
    " i.proposal_comment, i.published_at, i.published_by, i.retired_at, i.retired_by,"
    " s.version, s.node_scope, s.spec, n.path @> ARRAY[CAST(:root AS text)] AS editable"
    " FROM indicator i"
    " LEFT JOIN LATERAL (SELECT version, node_scope, spec FROM indicator_spec x"
    "   WHERE x.code = i.code ORDER BY version DESC LIMIT 1) s ON true"
    " LEFT JOIN org_node n ON n.node_id = s.node_scope"
    " WHERE (i.builtin OR n.path @> ARRAY[CAST(:root AS text)]"
    "   OR s.node_scope = ANY (CAST(:ancestors AS text[])))"
    " AND (CAST(:code AS text) IS NULL OR i.code = :code)"
    " ORDER BY i.theme, i.code"
)


@dataclass(frozen=True)
class Actor:
    name: str
    token_id: int | None
    node_id: str | None


def _actor() -> Actor:
    caller = principal()
    return Actor(caller.name, caller.token_id, caller.node_id)


def _item(row: Any) -> dict[str, Any]:
    builtin = row.builtin
    source = BY_CODE[row.code].source if row.code in BY_CODE else None
    if not builtin and row.spec is not None:
        source = compile_spec(IndicatorSpec.model_validate(row.spec)).source
    item: dict[str, Any] = jsonable(
        {
            "code": row.code,
            "name_en": row.name_en,
            "name_zh": row.name_zh,
            "unit": row.unit,
            "theme": row.theme,
            "direction": row.direction,
            "forecastable": row.forecastable,
            "source": source,
            "builtin": builtin,
            "owner_node_id": NATIONAL if builtin else row.node_scope,
            "state": row.state,
            "proposal_status": row.proposal_status,
            "version": None if builtin else row.version,
            "editable": bool(row.editable) and not builtin,
            # Only the English text is generated from a spec; name_zh names it in Chinese.
            "definition": {"en": row.definition, "zh": None},
            "proposal": {
                "proposed_at": row.proposed_at,
                "proposed_by": row.proposed_by,
                "comment": row.proposal_comment,
                "published_at": row.published_at,
                "published_by": row.published_by,
            },
            "retired": {"at": row.retired_at, "by": row.retired_by},
        }
    )
    return item


def _visible(conn: Connection, code: str | None = None) -> list[Any]:
    root = principal().node_id
    ancestors = list(node_path(conn, root) or (root,))
    params = {"root": root, "ancestors": ancestors, "code": code}
    return list(conn.execute(_SELECT, params))


def _one(conn: Connection, code: str) -> Any:
    rows = _visible(conn, code)
    if not rows:
        raise ApiError(404, "Not found", f"no indicator {code!r}")
    return rows[0]


def _detail(conn: Connection, row: Any) -> dict[str, Any]:
    body = _item(row)
    body["spec"] = BY_CODE[row.code].spec if row.builtin and row.code in BY_CODE else row.spec
    versions = conn.execute(
        text(
            "SELECT version, node_scope, created_by, created_at, spec FROM indicator_spec"
            " WHERE code = :c ORDER BY version"
        ),
        {"c": row.code},
    ).mappings()
    body["versions"] = jsonable([dict(v) for v in versions])
    return body


def _editable(conn: Connection, code: str) -> Any:
    """The caller's own indicator, active; 409 for a built-in or retired one, 403 above it."""
    row = _one(conn, code)
    if row.builtin:
        raise ApiError(
            409,
            "Built-in indicator",
            f"{code} is built in (collector/data/builtin_indicators.yaml): it changes with the"
            " code, not through the API",
        )
    if not row.editable:
        raise ApiError(
            403,
            "Forbidden",
            f"indicator {code} belongs to {row.node_scope}, above this token's node"
            f" {principal().node_id}: it is read-only here",
        )
    if row.state == "retired":
        raise ApiError(409, "Retired", f"indicator {code} is retired")
    return row


@bp.get("/indicators")
@allow("read", *PAGE, Param("theme"), Param("source"), Param("scope", description="owner node"))
def list_indicators() -> Any:
    """The indicators the token sees, filtered by ?theme=, ?source=, ?scope= (owner node)."""
    limit, offset = page_args()
    wanted = {k: request.args[k] for k in ("theme", "source", "scope") if request.args.get(k)}
    with app_engine().connect() as conn:
        items = [_item(row) for row in _visible(conn)]
    keys = {"theme": "theme", "source": "source", "scope": "owner_node_id"}
    # The catalogue is tens of rows: filtered and paged here, after the visibility query.
    items = [i for i in items if all(i[keys[k]] == v for k, v in wanted.items())]
    chunk = items[offset : offset + limit + 1]
    return page(chunk, limit, offset)


@bp.get("/indicators/<code>")
@allow("read")
def get_indicator(code: str) -> Any:
    """One indicator: its spec, definition, versions, owner node and state."""
    with app_engine().connect() as conn:
        return _detail(conn, _one(conn, code))


def _spec(data: dict[str, Any]) -> IndicatorSpec:
    return validated(IndicatorSpec, data, title="Invalid indicator")


@bp.post("/indicators")
@allow("indicators:write")
def create_indicator() -> Any:
    """Create an indicator owned by the caller's node or `scope`, a node of its subtree."""
    data = json_object(422, "Invalid indicator")
    scope = data.pop("scope", None)
    if scope is not None and not isinstance(scope, str):
        raise field_problem("scope", "must be an org node id (a string)")
    spec = _spec(data)
    if spec.code in BY_CODE:
        raise field_problem("code", f"{spec.code!r} is a built-in indicator", 409, "Code taken")
    with app_engine().begin() as conn:
        owner = scope or principal().node_id
        require_in_subtree(conn, owner, "scope")
        # Checked before the code is looked up: a taken code can then only be one the caller
        # sees (collector.indicators.namespace), so the 409 below reveals nothing.
        problem = code_problem(spec.code, owner)
        if problem is not None:
            raise field_problem("code", problem)
        taken = conn.execute(text("SELECT 1 FROM indicator WHERE code = :c"), {"c": spec.code})
        if taken.first() is not None:
            raise field_problem("code", f"{spec.code!r} is taken", 409, "Code taken")
        apply_spec(conn, spec, owner, principal().name)
        body = _detail(conn, _one(conn, spec.code))
        write_audit(conn, _actor(), "create", "indicator", spec.code, owner, None, body)
    return body, 201, {"Location": f"/api/v1/indicators/{spec.code}"}


@bp.patch("/indicators/<code>")
@allow("indicators:write")
def change_indicator(code: str) -> Any:
    """Change fields of the spec; a changed definition is stored as the next version."""
    data = json_object(422, "Invalid indicator")
    if data.get("code", code) != code:
        raise field_problem("code", "cannot change; create a new indicator instead")
    if "scope" in data:
        raise field_problem("scope", "cannot change; propose the indicator for national scope")
    with app_engine().begin() as conn:
        before = _editable(conn, code)
        spec = _spec({**before.spec, **data, "code": code})
        apply_spec(conn, spec, before.node_scope, principal().name)
        after = _detail(conn, _one(conn, code))
        old = {"version": before.version, "spec": before.spec}
        new = {"version": after["version"], "spec": after["spec"]}
        write_audit(conn, _actor(), "update", "indicator", code, before.node_scope, old, new)
    return after


@bp.delete("/indicators/<code>")
@allow("indicators:write")
def retire_indicator(code: str) -> Any:
    """Retire: the indicator stops computing; its versions and points stay."""
    with app_engine().begin() as conn:
        before = _editable(conn, code)
        _set(conn, code, "state = 'retired', retired_at = now(), retired_by = :by")
        _log(conn, "retire", before)
    return Response(status=204)


def _set(conn: Connection, code: str, assignments: str, **params: Any) -> None:
    sql = f"UPDATE indicator SET {assignments} WHERE code = :c"  # fixed fragments only
    conn.execute(text(sql), {"c": code, "by": principal().name, **params})


def _log(conn: Connection, action: str, before: Any) -> dict[str, Any]:
    after = _detail(conn, _one(conn, before.code))
    write_audit(
        conn, _actor(), action, "indicator", before.code, before.node_scope, _item(before), after
    )
    return after


def propose_indicator(conn: Connection, comment: str, code: str) -> Any:
    """Propose a customs' (or office's) indicator for national scope."""
    before = _editable(conn, code)
    proposals.must_not_be_national(before.node_scope == NATIONAL, f"indicator {code}")
    _set(
        conn,
        code,
        "proposal_status = 'proposed', proposed_at = now(), proposed_by = :by,"
        " proposal_comment = :comment",
        comment=comment,
    )
    return _log(conn, "propose", before)


proposals.add_propose_route(bp, "/indicators/<code>/propose", "indicators:write", propose_indicator)


@bp.post("/indicators/<code>/publish")
@allow("indicators:write")
def publish_indicator(code: str) -> Any:
    """Publish a proposed indicator nationwide (a national admin only): a new version at CN."""
    proposals.national_only("indicators")
    with app_engine().begin() as conn:
        before = _editable(conn, code)
        proposals.must_be_proposed(before.proposal_status, f"indicator {code}")
        apply_spec(conn, _spec(before.spec), NATIONAL, principal().name)
        _set(
            conn,
            code,
            "proposal_status = 'published', published_at = now(), published_by = :by",
        )
        return _log(conn, "publish", before)

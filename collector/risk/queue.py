"""Reads of the review queue and precision figures, and the review write.

The queue lists flagged declarations (risk_score set) at sites in a subtree, highest score first,
each with its flags. A review belongs to the declaration: whichever flag the reviewer opened,
the outcome (confirmed or cleared) counts for every feature and rule that flagged it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.risk.rules import Actor, write_audit

_ITEM = (
    "d.declaration_id, d.declared_at, d.received_at, d.site_id, d.trader_id, d.hs_code,"
    " d.origin, d.declared_value, d.currency, d.value_cny, d.quantity, d.unit, d.gross_kg,"
    " d.net_kg, d.amendment_no, d.risk_score, d.risk_features, d.risk_rules,"
    " v.outcome, v.note, v.reviewer, v.reviewed_at"
)
_FLAG = (
    "flag_id, declaration_id, declared_at, feature, rule_id, score, observed, expected,"
    " reference, reason, computed_at"
)


@dataclass(frozen=True)
class QueueFilter:
    node_id: str
    since: datetime
    feature: str | None = None
    min_score: float | None = None
    reviewed: bool | None = None
    rule_id: int | None = None


def list_queue(
    conn: Connection, where: QueueFilter, limit: int, offset: int
) -> list[dict[str, Any]]:
    clauses = ["d.risk_score IS NOT NULL", "d.declared_at >= :since", ":node = ANY (n.path)"]
    if where.feature == "rule":
        clauses.append("d.risk_rules IS NOT NULL")
    elif where.feature:
        clauses.append(":feature = ANY (d.risk_features)")
    if where.min_score is not None:
        clauses.append("d.risk_score >= :min_score")
    if where.reviewed is not None:
        clauses.append(f"v.outcome IS {'NOT ' if where.reviewed else ''}NULL")
    if where.rule_id is not None:
        clauses.append(":rule_id = ANY (d.risk_rules)")
    rows = conn.execute(
        text(
            f"SELECT {_ITEM} FROM declaration d JOIN org_node n ON n.node_id = d.site_id"
            " LEFT JOIN risk_review v ON v.declaration_id = d.declaration_id"
            " AND v.declared_at = d.declared_at"
            f" WHERE {' AND '.join(clauses)}"
            " ORDER BY d.risk_score DESC, d.declared_at DESC, d.declaration_id"
            " LIMIT :limit OFFSET :offset"
        ),
        {
            "since": where.since,
            "node": where.node_id,
            "feature": where.feature,
            "min_score": where.min_score,
            "rule_id": where.rule_id,
            "limit": limit,
            "offset": offset,
        },
    ).mappings()
    items = [_item(row) for row in rows]
    _attach_flags(conn, items)
    return items


def _item(row: Any) -> dict[str, Any]:
    item = {
        k: row[k] for k in row.keys() if k not in ("outcome", "note", "reviewer", "reviewed_at")
    }
    item["review"] = (
        {k: row[k] for k in ("outcome", "note", "reviewer", "reviewed_at")}
        if row["outcome"]
        else None
    )
    return item


def _attach_flags(conn: Connection, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    rows = conn.execute(
        text(
            f"SELECT {_FLAG} FROM risk_flag WHERE declaration_id = ANY (:ids) ORDER BY score DESC"
        ),
        {"ids": [item["declaration_id"] for item in items]},
    ).mappings()
    by_key: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
    for row in rows:
        flag = dict(row)
        key = (flag.pop("declaration_id"), flag.pop("declared_at"))
        by_key.setdefault(key, []).append(flag)
    for item in items:
        item["flags"] = by_key.get((item["declaration_id"], item["declared_at"]), [])


def get_declaration(conn: Connection, declaration_id: str) -> list[dict[str, Any]]:
    """The declaration(s) with this id (one per declared_at), with flags and review."""
    rows = conn.execute(
        text(
            f"SELECT {_ITEM} FROM declaration d LEFT JOIN risk_review v"
            " ON v.declaration_id = d.declaration_id AND v.declared_at = d.declared_at"
            " WHERE d.declaration_id = :id ORDER BY d.declared_at"
        ),
        {"id": declaration_id},
    ).mappings()
    items = [_item(row) for row in rows]
    _attach_flags(conn, items)
    return items


def flag_site(conn: Connection, flag_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            "SELECT f.flag_id, f.declaration_id, f.declared_at, f.site_id, n.path"
            " FROM risk_flag f JOIN org_node n ON n.node_id = f.site_id WHERE f.flag_id = :id"
        ),
        {"id": flag_id},
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def review(
    conn: Connection, flag: dict[str, Any], outcome: str, note: str, actor: Actor
) -> dict[str, Any]:
    """Record (or change) the outcome for the flag's declaration; audited."""
    key = {"d": flag["declaration_id"], "at": flag["declared_at"]}
    before = (
        conn.execute(
            text("SELECT * FROM risk_review WHERE declaration_id = :d AND declared_at = :at"), key
        )
        .mappings()
        .first()
    )
    after = (
        conn.execute(
            text(
                "INSERT INTO risk_review (declaration_id, declared_at, site_id, outcome, note,"
                " reviewer, reviewer_token_id, via_flag_id) VALUES (:d, :at, :site, :outcome, :note,"
                " :reviewer, :token, :flag) ON CONFLICT (declaration_id, declared_at) DO UPDATE SET"
                " outcome = EXCLUDED.outcome, note = EXCLUDED.note, reviewer = EXCLUDED.reviewer,"
                " reviewer_token_id = EXCLUDED.reviewer_token_id, via_flag_id = EXCLUDED.via_flag_id,"
                " reviewed_at = now() RETURNING *"
            ),
            {
                **key,
                "site": flag["site_id"],
                "outcome": outcome,
                "note": note,
                "reviewer": actor.name,
                "token": actor.token_id,
                "flag": flag["flag_id"],
            },
        )
        .mappings()
        .one()
    )
    write_audit(
        conn,
        actor,
        "review",
        flag["declaration_id"],
        flag["site_id"],
        dict(before) if before else None,
        dict(after),
        object_type="risk_review",
    )
    return dict(after)


_PRECISION = """
SELECT {group} count(*) AS flagged, count(v.outcome) AS reviewed,
       count(*) FILTER (WHERE v.outcome = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE v.outcome = 'cleared') AS cleared
FROM (SELECT DISTINCT {group} f.declaration_id, f.declared_at FROM risk_flag f
      JOIN org_node n ON n.node_id = f.site_id
      WHERE :root = ANY (n.path) {where}) f
LEFT JOIN risk_review v ON v.declaration_id = f.declaration_id AND v.declared_at = f.declared_at
{group_by}
"""


def _with_precision(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["precision"] = round(out["confirmed"] / out["reviewed"], 4) if out["reviewed"] else None
    return out


def rule_precision(conn: Connection, rule_id: int, root: str) -> dict[str, Any]:
    """Confirmed / reviewed among the declarations the rule hit in the subtree of `root`."""
    sql = _PRECISION.format(
        group="", where="AND f.feature = 'rule' AND f.rule_id = :rule", group_by=""
    )
    row = conn.execute(text(sql), {"root": root, "rule": rule_id}).mappings().one()
    return {"rule_id": rule_id, "node_id": root, **_with_precision(row)}


def feature_precision(conn: Connection, root: str) -> list[dict[str, Any]]:
    sql = _PRECISION.format(
        group="f.feature,", where="AND f.feature <> 'rule'", group_by="GROUP BY f.feature"
    )
    rows = conn.execute(text(sql + " ORDER BY f.feature"), {"root": root}).mappings()
    return [_with_precision(row) for row in rows]

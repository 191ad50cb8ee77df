"""Reads of the rule tables: alert_rule, alert_rule_override and audit_log; writes none.

``rules.store`` does the writes; the instance, history and health reads are in
``alerter.evaluation.reads.alerts``.

Visibility is part of every list: ``root`` is the caller's org node, and only rows whose node
lies in root's subtree come back (``:root = ANY (org_node.path)``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.rules.inheritance import Override


@dataclass(frozen=True)
class StoredRule:
    rule_id: int
    name: str
    node_id: str
    kind: str
    enabled: bool
    spec: dict[str, Any]
    proposal_status: str
    origin_node_id: str
    version: int
    meta: dict[str, Any]  # who/when fields, for the API

    def as_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            **self.spec,
            "version": self.version,
            "origin_node_id": self.origin_node_id,
            "proposal_status": self.proposal_status,
            **{k: _json(v) for k, v in self.meta.items()},
        }


_META = (
    "proposed_at",
    "proposed_by",
    "proposal_comment",
    "published_at",
    "published_by",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
)
RULE_SELECT = (
    "SELECT r.rule_id, r.name, r.node_id, r.kind, r.enabled, r.spec, r.proposal_status,"
    " r.origin_node_id, r.version, " + ", ".join(f"r.{c}" for c in _META) + " FROM alert_rule r"
)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rule(row: Any) -> StoredRule:
    values = list(row)
    spec = values[5] if isinstance(values[5], dict) else json.loads(values[5])
    return StoredRule(
        rule_id=values[0],
        name=values[1],
        node_id=values[2],
        kind=values[3],
        enabled=values[4],
        spec=spec,
        proposal_status=values[6],
        origin_node_id=values[7],
        version=values[8],
        meta=dict(zip(_META, values[9:], strict=True)),
    )


def get_rule(conn: Connection, rule_id: int) -> StoredRule | None:
    if not 0 < rule_id < 2**31:  # rule_id is an int column: larger ids cannot exist
        return None
    row = conn.execute(text(RULE_SELECT + " WHERE r.rule_id = :id"), {"id": rule_id}).first()
    return _rule(row) if row else None


def get_rule_by_name(conn: Connection, name: str) -> StoredRule | None:
    row = conn.execute(text(RULE_SELECT + " WHERE r.name = :n"), {"n": name}).first()
    return _rule(row) if row else None


def all_rules(conn: Connection) -> list[StoredRule]:
    return [_rule(row) for row in conn.execute(text(RULE_SELECT + " ORDER BY r.rule_id"))]


RULE_FILTERS = {
    "kind": "r.kind = :kind",
    "severity": "r.severity = :severity",
    "node_id": "r.node_id = :node_id",
    "proposal_status": "r.proposal_status = :proposal_status",
    "indicator": "r.indicator_code = :indicator",
    "enabled": "r.enabled = CAST(:enabled AS boolean)",
}


def list_rules(
    conn: Connection,
    root_path: tuple[str, ...],
    filters: Mapping[str, Any],
    limit: int,
    offset: int,
) -> list[tuple[StoredRule, bool]]:
    """(rule, editable) for the rules a token at root_path[-1] can see: those in its subtree
    (editable) and those of its ancestors (which reach into its subtree), never a sibling's."""
    where = [
        "(n.path @> ARRAY[CAST(:root AS text)] OR r.node_id = ANY (CAST(:ancestors AS text[])))"
    ]
    where += [RULE_FILTERS[key] for key in filters]
    sql = (
        RULE_SELECT.replace(" FROM", ", n.path @> ARRAY[CAST(:root AS text)] FROM", 1)
        + " JOIN org_node n ON n.node_id = r.node_id WHERE "
        + " AND ".join(where)
        + " ORDER BY r.rule_id LIMIT :limit OFFSET :offset"
    )
    params = {
        **filters,
        "root": root_path[-1],
        "ancestors": list(root_path),
        "limit": limit,
        "offset": offset,
    }
    return [(_rule(row[:-1]), bool(row[-1])) for row in conn.execute(text(sql), params)]


def rules_reaching(conn: Connection, path: tuple[str, ...], level: str) -> list[StoredRule]:
    """Rules set at any node of `path` that evaluate nodes of `level` (effective-rules)."""
    sql = RULE_SELECT + (
        " WHERE r.node_id = ANY (CAST(:path AS text[])) AND r.level = :level ORDER BY r.rule_id"
    )
    return [_rule(row) for row in conn.execute(text(sql), {"path": list(path), "level": level})]


def node_info(conn: Connection, node_id: str) -> tuple[str, tuple[str, ...], str] | None:
    """(level, root-to-self path, name) of a node, or None when it does not exist."""
    row = conn.execute(
        text("SELECT level, path, coalesce(name_zh, name_en) FROM org_node WHERE node_id = :n"),
        {"n": node_id},
    ).first()
    return (row[0], tuple(row[1]), row[2]) if row else None


def load_overrides(
    conn: Connection, rule_ids: list[int] | None = None
) -> dict[int, list[Override]]:
    sql = (
        "SELECT o.rule_id, o.node_id, n.path, o.threshold, o.recovery_threshold,"
        " o.override_policy, o.set_by, o.comment FROM alert_rule_override o"
        " JOIN org_node n ON n.node_id = o.node_id"
    )
    params: dict[str, Any] = {}
    if rule_ids is not None:
        sql += " WHERE o.rule_id = ANY (CAST(:ids AS int[]))"
        params["ids"] = rule_ids
    out: dict[int, list[Override]] = defaultdict(list)
    for rule_id, node_id, path, *rest in conn.execute(text(sql), params):
        out[rule_id].append(Override(node_id, tuple(path), *rest))
    return out


def override_rows(conn: Connection, rule_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT node_id, threshold, recovery_threshold, override_policy, comment, set_by,"
            " set_at FROM alert_rule_override WHERE rule_id = :id ORDER BY node_id"
        ),
        {"id": rule_id},
    ).mappings()
    return [{k: _json(v) for k, v in row.items()} for row in rows]


@dataclass(frozen=True)
class SubtreeListing:
    """A list the API pages through in a token's subtree: ``select`` joins ``org_node n`` (the
    rows' node), and each filter a request names applies by its clause in ``clauses``."""

    select: str
    clauses: Mapping[str, str]
    order: str

    def page(
        self, conn: Connection, root: str, filters: Mapping[str, Any], limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """Rows in root's subtree matching ``filters``; times as ISO 8601, as the API shows them."""
        where = ["n.path @> ARRAY[CAST(:root AS text)]", *(self.clauses[k] for k in filters)]
        sql = (
            f"{self.select} WHERE {' AND '.join(where)} ORDER BY {self.order}"
            " LIMIT :limit OFFSET :offset"
        )
        return json_rows(conn, sql, {**filters, "root": root, "limit": limit, "offset": offset})


AUDIT = SubtreeListing(
    select="SELECT a.audit_id, a.at, a.actor, a.actor_token_id, a.actor_node_id, a.action,"
    " a.object_type, a.object_id, a.node_id, a.before, a.after FROM audit_log a"
    " JOIN org_node n ON n.node_id = a.node_id",
    clauses={
        "object_type": "a.object_type = :object_type",
        "object_id": "a.object_id = :object_id",
        "action": "a.action = :action",
        "actor": "a.actor = :actor",
    },
    order="a.audit_id DESC",
)


def json_rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of a query, their times as ISO 8601 strings."""
    rows = conn.execute(text(sql), params).mappings()
    return [{k: _json(v) for k, v in row.items()} for row in rows]

"""The org tree: loading the shipped reference data, and subtree/ancestor look-ups.

The tree (national -> 42 directly-affiliated customs -> offices -> sites) and the default storage
limits ship as CSV files in collector/data/, loaded idempotently by `quaywatch db seed`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

LEVELS = ("national", "customs", "office", "site")


@dataclass(frozen=True)
class OrgNode:
    node_id: str
    parent_id: str | None
    level: str
    code: str | None
    name_en: str
    name_zh: str | None
    site_type: str | None
    locode: str | None
    longitude: float | None
    latitude: float | None
    timezone: str
    weight: float


def _blank(value: str) -> str | None:
    return value.strip() or None


def _float(value: str) -> float | None:
    return float(value) if value.strip() else None


def read_org_nodes() -> list[OrgNode]:
    with resources.files("collector").joinpath("data/org_nodes.csv").open(encoding="utf-8") as fh:
        return [
            OrgNode(
                node_id=row["node_id"].strip(),
                parent_id=_blank(row["parent_id"]),
                level=row["level"].strip(),
                code=_blank(row["code"]),
                name_en=row["name_en"].strip(),
                name_zh=_blank(row["name_zh"]),
                site_type=_blank(row["site_type"]),
                locode=_blank(row["locode"]),
                longitude=_float(row["longitude"]),
                latitude=_float(row["latitude"]),
                timezone=row["timezone"].strip() or "Asia/Shanghai",
                weight=_float(row["weight"]) or 0.0,
            )
            for row in csv.DictReader(fh)
        ]


def read_storage_limits() -> Iterator[dict[str, Any]]:
    path = resources.files("collector").joinpath("data/storage_limits.csv")
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield {
                "hazard_class": row["hazard_class"].strip(),
                "packing_group": _blank(row["packing_group"]),
                "tier": row["tier"].strip(),
                "limit_hours": float(row["limit_hours"]),
                "warn_fraction": float(row["warn_fraction"]),
                "summer_limit_hours": _float(row["summer_limit_hours"]),
                "note": _blank(row.get("note") or ""),
            }


def paths(nodes: list[OrgNode]) -> dict[str, list[str]]:
    """Root-to-self path of every node; parents must come before their children."""
    out: dict[str, list[str]] = {}
    for node in nodes:
        if node.parent_id is None:
            out[node.node_id] = [node.node_id]
        elif node.parent_id not in out:
            raise ValueError(
                f"org node {node.node_id}: parent {node.parent_id} is not defined before it"
            )
        else:
            out[node.node_id] = [*out[node.parent_id], node.node_id]
    return out


_UPSERT_NODE = text("""
INSERT INTO org_node (node_id, parent_id, level, code, name_en, name_zh, site_type, locode,
                      longitude, latitude, timezone, weight, path)
VALUES (:node_id, :parent_id, :level, :code, :name_en, :name_zh, :site_type, :locode,
        :longitude, :latitude, :timezone, :weight, :path)
ON CONFLICT (node_id) DO UPDATE SET parent_id = EXCLUDED.parent_id, level = EXCLUDED.level,
    code = EXCLUDED.code, name_en = EXCLUDED.name_en, name_zh = EXCLUDED.name_zh,
    site_type = EXCLUDED.site_type, locode = EXCLUDED.locode, longitude = EXCLUDED.longitude,
    latitude = EXCLUDED.latitude, timezone = EXCLUDED.timezone, weight = EXCLUDED.weight,
    path = EXCLUDED.path
""")

_UPSERT_LIMIT = text("""
INSERT INTO storage_limit (site_id, hazard_class, packing_group, tier, limit_hours, warn_fraction,
                           summer_limit_hours, note)
VALUES (NULL, :hazard_class, :packing_group, :tier, :limit_hours, :warn_fraction,
        :summer_limit_hours, :note)
ON CONFLICT (coalesce(site_id, ''), hazard_class, coalesce(packing_group, '')) DO UPDATE SET
    tier = EXCLUDED.tier, limit_hours = EXCLUDED.limit_hours,
    warn_fraction = EXCLUDED.warn_fraction, summer_limit_hours = EXCLUDED.summer_limit_hours,
    note = EXCLUDED.note
""")


def seed_org_tree(conn: Connection) -> int:
    """Upsert the shipped org tree and national storage limits; return the number of nodes."""
    nodes = read_org_nodes()
    node_paths = paths(nodes)
    conn.execute(
        _UPSERT_NODE,
        [{**node.__dict__, "path": node_paths[node.node_id]} for node in nodes],
    )
    conn.execute(_UPSERT_LIMIT, list(read_storage_limits()))
    return len(nodes)


def subtree(conn: Connection, node_id: str) -> list[str]:
    rows = conn.execute(text("SELECT node_id FROM org_node WHERE :n = ANY (path)"), {"n": node_id})
    return [row[0] for row in rows]


def ancestors(conn: Connection, node_id: str) -> list[str]:
    """Root-to-self path of a node (empty when the node is unknown)."""
    row = conn.execute(text("SELECT path FROM org_node WHERE node_id = :n"), {"n": node_id}).first()
    return list(row[0]) if row else []

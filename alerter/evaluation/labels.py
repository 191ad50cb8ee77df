"""What alerts are labelled and described with: the org tree, the indicator catalogue, and a
rule ready to evaluate (overrides resolved). Loaded once per cycle; writes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.rules.inheritance import Resolution
from alerter.rules.kinds import AnyRule


@dataclass(frozen=True)
class Node:
    node_id: str
    level: str
    path: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class IndicatorInfo:
    code: str
    name: str
    unit: str
    theme: str


@dataclass(frozen=True)
class World:
    """What labels and contexts are made of: the org tree and the indicator catalogue."""

    nodes: Mapping[str, Node]
    indicators: Mapping[str, IndicatorInfo]


@dataclass(frozen=True)
class Target:
    """An enabled rule ready to evaluate, with its overrides resolved."""

    rule_id: int
    resolution: Resolution

    @property
    def rule(self) -> AnyRule:
        return self.resolution.rule


def load_world(conn: Connection) -> World:
    nodes = {
        row[0]: Node(row[0], row[1], tuple(row[2]), row[3])
        for row in conn.execute(
            text("SELECT node_id, level, path, coalesce(name_zh, name_en) FROM org_node")
        )
    }
    indicators = {
        row[0]: IndicatorInfo(*row)
        for row in conn.execute(
            text("SELECT code, coalesce(name_zh, name_en), unit, theme FROM indicator")
        )
    }
    return World(nodes, indicators)


def node_labels(node: Node) -> dict[str, str]:
    labels = {"node": node.node_id, "level": node.level, "node_name": node.name}
    if len(node.path) > 1:
        labels["customs"] = node.path[1]
    if len(node.path) > 2:
        labels["office"] = node.path[2]
    if node.level == "site":
        labels.update(site=node.node_id, site_name=node.name)
    return labels


def series_context(labels: Mapping[str, str], indicator: IndicatorInfo | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "node": labels["node"],
        "node_name": labels["node_name"],
        "level": labels["level"],
        "site": labels.get("site", ""),
        "site_name": labels.get("site_name", labels["node_name"]),
    }
    if indicator is not None:
        context.update(indicator=indicator.code, indicator_name=indicator.name, unit=indicator.unit)
    return context

"""The effective rules at one node, explained: which node's value wins, and why; reads only.

For every rule set at the node or one of its ancestors that evaluates nodes of its level, the
answer names the winning node and value and lists the reason chain: the base value, each
override on the way down (accepted or refused, with the reason), and what the node itself may
still do (the policy in force for its own overrides).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from alerter.rules import reads
from alerter.rules.inheritance import Effective, Resolution, Step, resolve
from alerter.rules.kinds import RuleError, parse_rule
from alerter.rules.reads import StoredRule

_MAY = {
    "none": "may not override it",
    "tighten_only": "may tighten it (override with a stricter value)",
    "any": "may override it with any value",
}


def effective_rules(conn: Connection, node_id: str) -> dict[str, Any]:
    info = reads.node_info(conn, node_id)
    assert info is not None
    level, path, name = info
    names = _names(conn, path)
    stored = reads.rules_reaching(conn, path, level)
    overrides = reads.load_overrides(conn, [s.rule_id for s in stored])
    items = []
    for row in stored:
        try:
            rule = parse_rule(row.spec)
        except RuleError as exc:
            items.append({"rule_id": row.rule_id, "name": row.name, "error": str(exc)})
            continue
        resolution = resolve(rule, overrides.get(row.rule_id, []))
        items.append(_item(row, resolution, path, names))
    return {"node_id": node_id, "name": name, "level": level, "path": list(path), "items": items}


def _names(conn: Connection, path: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for node in path:
        info = reads.node_info(conn, node)
        out[node] = info[2] if info else node
    return out


def _item(
    row: StoredRule, resolution: Resolution, path: tuple[str, ...], names: dict[str, str]
) -> dict[str, Any]:
    rule = resolution.rule
    effective = resolution.at(path)
    chain = resolution.explain(path)
    return {
        "rule_id": row.rule_id,
        "name": rule.name,
        "kind": rule.kind,
        "indicator": rule.indicator_code,
        "severity": rule.severity,
        "enabled": rule.enabled,
        "owner_node_id": rule.node_id,
        "parameter": rule.TUNABLE,
        "operator": getattr(rule, "operator", None),
        "value": effective.value,
        "recovery_threshold": effective.recovery_threshold,
        "winning_node_id": effective.node_id,
        "winning_node_name": names.get(effective.node_id, effective.node_id),
        "override_policy": effective.policy,
        "condition": resolution.rule_at(path).describe(),
        "chain": [_step(step, names) for step in chain],
        "reason": _summary(rule.TUNABLE, effective, chain, names) + "; " + _may(resolution, path),
    }


def _step(step: Step, names: dict[str, str]) -> dict[str, Any]:
    return {
        "node_id": step.node_id,
        "node_name": names.get(step.node_id, step.node_id),
        "action": step.action,
        "value": step.value,
        "recovery_threshold": step.recovery_threshold,
        "outcome": step.outcome,
        "reason": step.reason,
    }


def _may(resolution: Resolution, path: tuple[str, ...]) -> str:
    """What the node itself may do: governed by the value it inherits from above."""
    if resolution.rule.node_id == path[-1]:
        return f"{path[-1]} owns the rule"
    return f"{path[-1]} {_MAY[resolution.at(path[:-1]).policy]}"


def _summary(parameter: str, effective: Effective, chain: list[Step], names: dict[str, str]) -> str:
    winner = f"{effective.node_id} ({names.get(effective.node_id, effective.node_id)})"
    text = f"{parameter} {effective.value:g} from {winner}"
    refused = [step.node_id for step in chain if step.outcome == "refused"]
    if refused:
        text += f"; override refused at {', '.join(refused)}"
    return text

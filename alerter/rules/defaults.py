"""Rules files (YAML) and the shipped national defaults (alerter/data), applied via rules.store.

A rules file is a list of rules, or a mapping with a ``rules:`` list; each rule is keyed by its
stable ``name``. Validation reports every problem as ``FILE: rule NAME (#N): field: reason``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from sqlalchemy.engine import Connection

from alerter.rules import reads, store
from alerter.rules.kinds import AnyRule, RuleError, level_problem, parse_rule

SEED_ACTOR = store.Actor("seed")


class RulesFileError(ValueError):
    """A rules file failed to parse or validate; `problems` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _items(document: Any, source: str) -> list[Any]:
    if isinstance(document, dict) and "rules" in document:
        document = document["rules"]
    if not isinstance(document, list):
        raise RulesFileError([f"{source}: expected a list of rules or a mapping with 'rules:'"])
    return document


def parse_rules_text(content: str, source: str) -> list[AnyRule]:
    """Every rule of a YAML document, or RulesFileError naming file, rule and field."""
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RulesFileError([f"{source}:{where} invalid YAML: {exc}"]) from None
    rules, problems = [], []
    names: dict[str, int] = {}
    for number, item in enumerate(_items(document, source), start=1):
        name = item.get("name", "?") if isinstance(item, dict) else "?"
        where = f"{source}: rule {name} (#{number})"
        try:
            rule = parse_rule(item)
        except RuleError as exc:
            problems += [f"{where}: {field}: {reason}" for field, reason in exc.errors]
            continue
        if rule.name in names:
            problems.append(f"{where}: name: repeats rule #{names[rule.name]}")
        names[rule.name] = number
        rules.append(rule)
    if problems:
        raise RulesFileError(problems)
    return rules


def check_nodes(conn: Connection, rules: list[AnyRule], source: str) -> None:
    """Each rule's node must exist and its level fit (needs the database, unlike parsing)."""
    problems = []
    for number, rule in enumerate(rules, start=1):
        info = reads.node_info(conn, rule.node_id)
        problem = level_problem(rule, info[0] if info else None)
        if problem:
            problems.append(f"{source}: rule {rule.name} (#{number}): {problem[0]}: {problem[1]}")
    if problems:
        raise RulesFileError(problems)


def _shipped(name: str) -> list[AnyRule]:
    path = resources.files("alerter").joinpath(f"data/{name}")
    return parse_rules_text(path.read_text(encoding="utf-8"), name)


def default_rules() -> list[AnyRule]:
    return _shipped("default_rules.yaml")


def superseded_default_rules() -> list[AnyRule]:
    """Earlier shipped versions of the default rules, oldest first per name."""
    return _shipped("superseded_default_rules.yaml")


def seed_default_rules(conn: Connection) -> int:
    """Create the national default rules that do not exist yet; return how many were created.

    Existing rules (same name) are left alone, so a threshold tuned after seeding survives."""
    created = 0
    for rule in default_rules():
        outcome, _ = store.apply_rule(conn, rule, SEED_ACTOR, only_if_absent=True)
        created += outcome == "created"
    return created


def upgrade_superseded_defaults(conn: Connection) -> list[str]:
    """Bring stored default rules that still read exactly as an earlier shipped version up to
    today's; return their names. Seeding alone never touches an existing rule, so without this a
    database seeded before a default changed (e.g. ``feed_silent`` learning each site's rate)
    would keep the old behaviour for good. A rule a person changed, in any field, matches no
    shipped version and is left alone; overrides are separate rows and always kept."""
    earlier: dict[str, list[dict[str, Any]]] = {}
    for rule in superseded_default_rules():
        earlier.setdefault(rule.name, []).append(rule.as_spec())
    upgraded = []
    for rule in default_rules():
        stored = reads.get_rule_by_name(conn, rule.name)
        if stored is None or stored.node_id != rule.node_id:
            continue
        try:
            as_stored = parse_rule(stored.spec).as_spec()
        except RuleError:
            continue  # no longer parses: a person's problem to fix, not ours to overwrite
        if as_stored != rule.as_spec() and as_stored in earlier.get(rule.name, []):
            store.update_rule(conn, stored, rule, SEED_ACTOR)
            upgraded.append(rule.name)
    return upgraded

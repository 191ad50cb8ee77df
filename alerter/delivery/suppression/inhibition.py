"""Inhibition: a firing source alert mutes target alerts sharing some labels; pure.

Alertmanager's ``inhibit_rules`` (source_matchers, target_matchers, equal;
https://prometheus.io/docs/alerting/latest/configuration/#inhibit_rule), stored in the table
``inhibit_rule`` (sql/0105, ``delivery.suppression.inhibit_rules``) and edited through
``/api/v1/inhibit-rules``. The rule we ship, seeded there as a national row: a site that
stopped reporting (a ``kind="no_data"`` alert) mutes its own threshold and forecast alerts,
which would otherwise fire or flap on stale numbers while the one alert that matters is
"no data". ``equal`` compares the ``node`` routing label, which dispatch always sets from the
event's org node, so an office-level threshold alert is not muted by one site's silence.

Two differences from Alertmanager:

- an ``equal`` label must be present on the source; a source without it inhibits nothing
  (Alertmanager treats "absent on both" as equal, which lets a label-less source mute
  everything);
- a stored rule belongs to an org node and applies only when both the source and the target
  alert were raised inside that node's subtree, so a customs centre's rule can neither mute
  nor be triggered by another customs' alerts. ``DEFAULT_RULES`` (no node) apply everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerter.delivery.matchers import Matcher, UnreadableRow, all_match, parse_matchers

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # as Matcher.name
# A regex that is only literal words joined by "|" ("threshold|forecast") lists its values.
_ALTERNATION = re.compile(r"^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$")
# Source alerts are looked up by these labels: firing active alerts are indexed on each
# (sql/0105).
INDEXED_LABELS = ("kind", "alertname")


@dataclass(frozen=True)
class InhibitRule:
    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]
    node_id: str | None = None  # the owner; None: everywhere (a built-in rule)
    rule_id: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> InhibitRule:
        """Raises UnreadableRow naming the field when the stored row no longer parses."""
        source = parse_matchers(row["source_matchers"], "source_matchers")
        target = parse_matchers(row["target_matchers"], "target_matchers")
        for field, matchers in (("source_matchers", source), ("target_matchers", target)):
            if not matchers:
                raise UnreadableRow(field, ValueError("empty"))
        equal = row["equal"]
        if not isinstance(equal, list) or not all(
            isinstance(n, str) and LABEL_NAME.match(n) for n in equal
        ):
            raise UnreadableRow("equal", ValueError("not a list of label names"))
        return cls(
            row["name"],
            tuple(source),
            tuple(target),
            tuple(equal),
            row["node_id"],
            row["inhibit_rule_id"],
        )

    def covers(self, node_path: Sequence[str]) -> bool:
        """Is an alert raised at ``node_path`` inside this rule's subtree?"""
        return self.node_id is None or self.node_id in node_path

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return (
            all_match(self.source, source)
            and all_match(self.target, target)
            and all(source.get(k) and source.get(k) == target.get(k) for k in self.equal)
        )

    def source_values(self) -> tuple[str, frozenset[str]] | None:
        """(an indexed label, the values a source of this rule must have in it), or None when
        the source matchers pin no indexed label down (then every firing alert may be one)."""
        for label in INDEXED_LABELS:
            for m in self.source:
                if m.name != label:
                    continue
                if m.op == "=":
                    return label, frozenset({m.value})
                if m.op == "=~" and _ALTERNATION.match(m.value):
                    return label, frozenset(m.value.split("|"))
        return None


NO_DATA_MUTES_THRESHOLDS = InhibitRule(
    "no data at a node mutes its threshold and forecast alerts",
    source=(Matcher(name="kind", op="=", value="no_data"),),
    target=(Matcher(name="kind", op="=~", value="threshold|forecast"),),
    equal=("node",),
)
# The pure default (and what sql/0105 seeds); dispatch and the status use the stored rules.
DEFAULT_RULES: tuple[InhibitRule, ...] = (NO_DATA_MUTES_THRESHOLDS,)


def source_filter(rules: Iterable[InhibitRule]) -> dict[str, list[str]] | None:
    """Indexed label -> the values a source of one of the rules can have there (an alert is
    a candidate when any label has one of its values); None when some rule's sources are not
    pinned by an indexed label (then every firing alert is a candidate)."""
    wanted: dict[str, set[str]] = {}
    for rule in rules:
        pinned = rule.source_values()
        if pinned is None:
            return None
        wanted.setdefault(pinned[0], set()).update(pinned[1])
    return {label: sorted(values) for label, values in wanted.items()}


@dataclass(frozen=True)
class Source:
    """A firing alert that may inhibit others; ``node_path`` is where it was raised (empty
    when unknown: then only rules without a node see it)."""

    fingerprint: str
    labels: Mapping[str, str]
    node_path: tuple[str, ...] = ()


def inhibited_by(
    fingerprint: str,
    labels: Mapping[str, str],
    sources: Iterable[Source],
    rules: Iterable[InhibitRule] = DEFAULT_RULES,
    node_path: Sequence[str] = (),
) -> list[str]:
    """Fingerprints of the firing sources that mute this alert (``status.inhibitedBy``);
    ``node_path`` is where the alert was raised, for the rules' subtrees."""
    applicable = tuple(r for r in rules if r.covers(node_path))
    return [
        s.fingerprint
        for s in sources
        if s.fingerprint != fingerprint
        and any(r.covers(s.node_path) and r.inhibits(s.labels, labels) for r in applicable)
    ]

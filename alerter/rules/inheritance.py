"""Effective rules down the org tree: whose value of a rule's tunable parameter wins; pure.

A rule set at node R applies to R's subtree. A strict descendant D may override the tunable
value (threshold, hours before a deadline, silence minutes) for D's subtree, if the policy in
force above D allows it:

- ``none``: no overrides below; ``any``: any value;
- ``tighten_only``: only a value at least as strict as the one D inherits (lower for a ``>``
  threshold, higher for ``<``, more hours ahead for a deadline, fewer minutes for silence).

An override may narrow the policy for its own subtree (``any`` -> ``tighten_only`` -> ``none``),
never widen it. Overrides are judged top-down against the nearest *accepted* ancestor value, so
a parent that later tightens its value turns a child's now-looser override into a refusal,
which the reason chain shows. All of this is pure; the API and the evaluator feed it rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from alerter.rules.kinds import POLICY_RANK, AnyRule, RuleBase, ThresholdRule


@dataclass(frozen=True)
class Override:
    node_id: str
    path: tuple[str, ...]  # root-to-self path of node_id
    threshold: float
    recovery_threshold: float | None = None
    override_policy: str | None = None
    set_by: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Step:
    """One link of a reason chain: who set or tried to set what, and the outcome."""

    node_id: str
    action: Literal["set", "override"]
    value: float
    recovery_threshold: float | None
    outcome: Literal["base", "accepted", "refused"]
    reason: str


@dataclass(frozen=True)
class Effective:
    value: float
    recovery_threshold: float | None
    node_id: str  # the node whose value wins
    policy: str  # the policy in force for overrides below node_id
    chain: tuple[Step, ...]


def _recovery(rule: AnyRule) -> float | None:
    return rule.recovery_threshold if isinstance(rule, ThresholdRule) else None


def _param(rule: RuleBase) -> str:
    operator = getattr(rule, "operator", None)
    return (
        f"{rule.TUNABLE} {operator}" if rule.TUNABLE == "threshold" and operator else rule.TUNABLE
    )


def _fmt(value: float, recovery: float | None) -> str:
    return f"{value:g}" + (f" (recovery {recovery:g})" if recovery is not None else "")


@dataclass
class Resolution:
    """The outcome of every override of one rule; ask it for the value at any node's path."""

    rule: AnyRule
    base: Effective
    accepted: dict[str, Effective] = field(default_factory=dict)
    refused: dict[str, Step] = field(default_factory=dict)
    _rules: dict[str, AnyRule] = field(default_factory=dict)  # by winning node
    _by_node: dict[str, AnyRule] = field(default_factory=dict)

    def at(self, path: Sequence[str]) -> Effective:
        """The effective value for a node with this root-to-self path."""
        for node_id in reversed(path):
            found = self.accepted.get(node_id)
            if found is not None:
                return found
        return self.base

    def rule_at(self, path: Sequence[str]) -> AnyRule:
        """The rule with the effective tunable value for this node (cached per node: the
        evaluator asks once per series per cycle)."""
        cached = self._by_node.get(path[-1])
        if cached is None:
            effective = self.at(path)
            cached = self._rules.get(effective.node_id)
            if cached is None:
                cached = self.rule
                if effective is not self.base:
                    cached = self.rule.tuned(effective.value, effective.recovery_threshold)
                self._rules[effective.node_id] = cached
            self._by_node[path[-1]] = cached
        return cached

    def explain(self, path: Sequence[str]) -> list[Step]:
        """Every step along the path: the base, then each override in depth order."""
        accepted = {step.node_id: step for step in self.at(path).chain}
        steps = []
        for node_id in path:
            if node_id in accepted:
                steps.append(accepted[node_id])
            elif node_id in self.refused:
                steps.append(self.refused[node_id])
        return steps


def base_of(rule: AnyRule) -> Effective:
    recovery = _recovery(rule)
    reason = (
        f"{rule.node_id} set {_param(rule)} {_fmt(rule.tunable_value, recovery)};"
        f" override policy {rule.override_policy}"
    )
    step = Step(rule.node_id, "set", rule.tunable_value, recovery, "base", reason)
    return Effective(rule.tunable_value, recovery, rule.node_id, rule.override_policy, (step,))


def judge(rule: AnyRule, parent: Effective, override: Override) -> str | None:
    """Why this override is refused under the value it inherits, or None when it is accepted."""
    if parent.policy == "none":
        return f"refused: policy none at {parent.node_id} allows no overrides"
    lower = rule.lower_is_stricter()
    if parent.policy == "tighten_only":
        looser = override.threshold > parent.value if lower else override.threshold < parent.value
        if looser:
            bound = "at or below" if lower else "at or above"
            return (
                f"refused: policy tighten_only at {parent.node_id} allows only values {bound}"
                f" {parent.value:g}, and {override.threshold:g} is looser"
            )
    if isinstance(rule, ThresholdRule) and override.recovery_threshold is not None:
        wrong_side = (
            override.recovery_threshold > override.threshold
            if lower
            else override.recovery_threshold < override.threshold
        )
        if wrong_side:
            return f"refused: recovery {override.recovery_threshold:g} is past the threshold"
    return None


def _accept(rule: AnyRule, parent: Effective, override: Override) -> Effective:
    recovery = override.recovery_threshold
    if recovery is None and parent.recovery_threshold is not None:
        recovery = override.threshold - (parent.value - parent.recovery_threshold)
    policy = parent.policy
    if override.override_policy is not None:
        # Narrowing only: a child cannot open its subtree wider than its parent allowed.
        policy = min(override.override_policy, parent.policy, key=POLICY_RANK.__getitem__)
    compare = (
        "equal to"
        if override.threshold == parent.value
        else (
            "stricter than"
            if (override.threshold < parent.value) == rule.lower_is_stricter()
            else "looser than"
        )
    )
    reason = (
        f"{override.node_id} overrode {_param(rule)} to {_fmt(override.threshold, recovery)}:"
        f" accepted, {compare} {parent.value:g} from {parent.node_id}"
        f" (policy {parent.policy})"
    )
    if policy != parent.policy:
        reason += f"; narrows the policy below it to {policy}"
    step = Step(override.node_id, "override", override.threshold, recovery, "accepted", reason)
    return Effective(override.threshold, recovery, override.node_id, policy, (*parent.chain, step))


def resolve(rule: AnyRule, overrides: Iterable[Override]) -> Resolution:
    """Judge every override of a rule top-down; overrides outside the rule's subtree are refused."""
    resolution = Resolution(rule, base_of(rule))
    for override in sorted(overrides, key=lambda o: (len(o.path), o.node_id)):
        if rule.node_id not in override.path[:-1]:
            reason = f"refused: {override.node_id} is not below the rule's node {rule.node_id}"
            resolution.refused[override.node_id] = _refusal(rule, override, reason)
            continue
        parent = resolution.at(override.path[:-1])
        refusal = judge(rule, parent, override)
        if refusal is None:
            resolution.accepted[override.node_id] = _accept(rule, parent, override)
        else:
            resolution.refused[override.node_id] = _refusal(rule, override, refusal)
    return resolution


def _refusal(rule: AnyRule, override: Override, why: str) -> Step:
    reason = f"{override.node_id} overrode {_param(rule)} to {override.threshold:g}: {why}"
    return Step(
        override.node_id,
        "override",
        override.threshold,
        override.recovery_threshold,
        "refused",
        reason,
    )


def check_new_override(rule: AnyRule, overrides: Iterable[Override], new: Override) -> str | None:
    """Why `new` would be refused given the rule's other overrides (None when it is accepted)."""
    others = [o for o in overrides if o.node_id != new.node_id]
    resolution = resolve(rule, [*others, new])
    if new.node_id in resolution.refused:
        return resolution.refused[new.node_id].reason
    return None

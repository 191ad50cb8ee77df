"""Deadline rules' reads: hazardous lots near their storage deadline or predicted to breach it.

One query returns every present hazardous lot within the largest effective hours_before of any
deadline rule (or with a breach prediction above the lowest min_breach_probability); each rule
then keeps the lots of its subtree, with its site's effective hours_before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.evaluation.labels import Target, World, node_labels, series_context
from alerter.evaluation.observations import Observation
from alerter.rules.kinds import DeadlineRule

DEADLINE_SQL = """
SELECT l.lot_id, l.site_id, l.hazard_class, l.un_number, l.deadline_at,
       p.breach_probability, p.predicted_breach_at
FROM lot l
LEFT JOIN LATERAL (
    SELECT bp.breach_probability, bp.predicted_breach_at FROM lot_breach_prediction bp
    WHERE bp.site_id = l.site_id AND bp.lot_id = l.lot_id AND bp.visit_no = l.visit_no
      -- a prediction older than 6 h is stale (the forecaster runs every 15 minutes), and the
      -- bound lets TimescaleDB skip old chunks of the hypertable
      AND bp.computed_at > CAST(:now AS timestamptz) - interval '6 hours'
      AND bp.computed_at <= CAST(:now AS timestamptz)
    ORDER BY bp.computed_at DESC LIMIT 1) p ON true
WHERE l.hazard_class IS NOT NULL AND l.deadline_at IS NOT NULL AND l.removed_at IS NULL
  AND l.arrived_at <= CAST(:now AS timestamptz)
  AND (l.deadline_at <= CAST(:now AS timestamptz) + make_interval(secs => :horizon)
       OR p.breach_probability >= :min_probability)
"""


def read_deadlines(
    conn: Connection, targets: Sequence[Target], world: World, now: datetime
) -> Iterable[tuple[int, Observation]]:
    rules: list[tuple[Target, DeadlineRule]] = [
        (t, t.rule) for t in targets if isinstance(t.rule, DeadlineRule)
    ]
    horizon = max(
        max(e.value for e in (t.resolution.base, *t.resolution.accepted.values())) for t, _ in rules
    )
    probabilities = [r.min_breach_probability for _, r in rules if r.min_breach_probability]
    params = {
        "now": now,
        "horizon": horizon * 3600,
        "min_probability": min(probabilities, default=2.0),
    }
    lots = conn.execute(text(DEADLINE_SQL), params).all()
    for target, rule in rules:
        for lot in lots:
            obs = deadline_observation(world, target, rule, lot, now)
            if obs is not None:
                yield target.rule_id, obs


def deadline_observation(
    world: World, target: Target, rule: DeadlineRule, lot: Any, now: datetime
) -> Observation | None:
    lot_id, site_id, hazard_class, un_number, deadline_at, probability, predicted_at = lot
    node = world.nodes.get(site_id)
    if node is None or rule.node_id not in node.path:
        return None
    if rule.hazard_classes and not _class_matches(hazard_class, rule.hazard_classes):
        return None
    effective = target.resolution.rule_at(node.path)
    hours_left = (deadline_at - now).total_seconds() / 3600
    labels = node_labels(node)
    labels.update(lot_id=lot_id, hazard_class=hazard_class, theme="hazardous_goods")
    if un_number:
        labels["un_number"] = un_number
    minimum = rule.min_breach_probability
    context = {
        **series_context(labels, None),
        "lot_id": lot_id,
        "hazard_class": hazard_class,
        "un_number": un_number or "",
        "deadline_at": deadline_at.isoformat(),
        "hours_to_deadline": hours_left,
        "breach_probability": probability,
        "predicted_breach_at": predicted_at.isoformat() if predicted_at else None,
    }
    breach = minimum is not None and probability is not None and probability >= minimum
    return Observation(labels, site_id, hours_left, effective, context, breach)


def _class_matches(hazard_class: str, wanted: Sequence[str]) -> bool:
    # "5" matches divisions 5.1 and 5.2; "5.1" matches only itself.
    return hazard_class in wanted or hazard_class.split(".")[0] in wanted

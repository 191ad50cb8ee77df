"""The thresholds each series is watched against, read from the alerter's rules.

Two sources, both resolved down the org tree the way the alerter applies rules (a rule of
level L owned by node N covers every level-L node whose path contains N; an override at node
O covers O's subtree):

- ``alert_forecast_target``: what forecast rules need (the alerter reads these crossings);
- enabled threshold rules and their overrides: so Grafana and ``forecast plot`` can show when a
  series is predicted to cross a limit that is alerted on today.

An overridden base threshold still gets its crossing computed; one spare row is cheaper than
re-implementing the override policy here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from forecaster.crossings.threshold_crossing import Direction

_DIRECTION = "CASE WHEN r.spec ->> 'operator' IN ('<', '<=') THEN 'below' ELSE 'above' END"

_TARGETS_SQL = f"""
WITH target AS (
    SELECT node_id, level, indicator_code, threshold, direction, horizon_hours
    FROM alert_forecast_target
    UNION ALL
    SELECT r.node_id, r.level, r.indicator_code, (r.spec ->> 'threshold')::float8,
           {_DIRECTION}, NULL
    FROM alert_rule r WHERE r.kind = 'threshold' AND r.enabled
    UNION ALL
    SELECT o.node_id, r.level, r.indicator_code, o.threshold, {_DIRECTION}, NULL
    FROM alert_rule r JOIN alert_rule_override o ON o.rule_id = r.rule_id
    WHERE r.kind = 'threshold' AND r.enabled
)
SELECT s.series_id, t.threshold, t.direction, max(t.horizon_hours)
FROM target t
JOIN series s ON s.indicator_code = t.indicator_code
JOIN org_node n ON n.node_id = s.node_id AND n.level = t.level AND t.node_id = ANY (n.path)
WHERE s.series_id = ANY (CAST(:ids AS int[])) AND t.threshold IS NOT NULL
GROUP BY s.series_id, t.threshold, t.direction
ORDER BY s.series_id, t.threshold
"""


@dataclass(frozen=True)
class Target:
    """One threshold to forecast a crossing of; ``horizon_hours`` is the longest horizon a
    forecast rule asks for (None for threshold rules)."""

    threshold: float
    direction: Direction
    horizon_hours: float | None = None


def targets_for(conn: Connection, series_ids: Sequence[int]) -> dict[int, list[Target]]:
    """Distinct ``(threshold, direction)`` pairs per series id; series without any are absent."""
    out: dict[int, list[Target]] = {}
    rows = conn.execute(text(_TARGETS_SQL), {"ids": list(series_ids)}).all()
    for series_id, threshold, direction, horizon in rows:
        out.setdefault(series_id, []).append(Target(float(threshold), direction, horizon))
    return out

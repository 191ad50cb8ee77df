"""Each site's learned event rate at this hour of the week, and the feed silence it makes
improbable (no_data rules with ``expected: learned``); reads cargo_event only.

P(no event in a gap) = exp(-expected events in the gap), the expected count summed over the
hours the gap spans, each hour's rate the median count of that hour of the week over the last
LEARN_WEEKS weeks (only the weeks since the site's first event in that window). A site with no
such week yet is new: it has no learned rate, and its rule keeps the fixed window.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.rules.kinds import AnyRule, NoDataRule

LEARN_WEEKS = 4
# feed_silence_minutes caps at 120, so a gap is never seen longer than about 2 h: the hour now
# and the two before it cover every gap the rule can judge.
SLOTS = 3
# A limit past the look-back: that silence is never improbable (the rule stays quiet).
NEVER = 60.0 * 24 * 7

# One statement for every site: its first event in the window (an index probe per site), then
# the event count of each (site, hour back, week back) hour; sites x 3 x 4 small range counts.
RATE_SQL = """
WITH site AS (
    SELECT n.node_id, f.first_at
    FROM org_node n
    CROSS JOIN LATERAL (
        SELECT e.occurred_at AS first_at FROM cargo_event e
        WHERE e.site_id = n.node_id
          AND e.occurred_at >= CAST(:since AS timestamptz)
        ORDER BY e.occurred_at LIMIT 1
    ) f
    WHERE n.level = 'site'
), hour_slot AS (
    SELECT back, week,
           date_trunc('hour', CAST(:now AS timestamptz)) - back * interval '1 hour'
               - week * interval '7 days' AS start
    FROM generate_series(0, CAST(:slots AS int) - 1) AS back,
         generate_series(1, CAST(:weeks AS int)) AS week
)
SELECT s.node_id, h.back,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.n) AS per_hour
FROM site s
JOIN hour_slot h ON h.start >= date_trunc('hour', s.first_at)
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM cargo_event e
    WHERE e.site_id = s.node_id AND e.occurred_at >= h.start
      AND e.occurred_at < h.start + interval '1 hour'
) c
GROUP BY s.node_id, h.back
"""


def read_rates(conn: Connection, now: datetime) -> dict[str, dict[int, float]]:
    """Events per hour by site and hours back from now's hour (0 = this hour); a site absent
    from the result has no learned rate."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    since = hour - timedelta(hours=SLOTS - 1, days=7 * LEARN_WEEKS)
    params = {"now": now, "since": since, "slots": SLOTS, "weeks": LEARN_WEEKS}
    rates: dict[str, dict[int, float]] = defaultdict(dict)
    for node_id, back, per_hour in conn.execute(text(RATE_SQL), params).all():
        rates[node_id][int(back)] = float(per_hour)
    return dict(rates)


def improbable_gap_minutes(
    rates: Mapping[int, float], now: datetime, max_probability: float
) -> float:
    """The shortest silence ending now whose probability exp(-expected) is below
    max_probability, walking back through the hours; NEVER when the look-back is too quiet."""
    target = -math.log(max_probability)
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    expected = 0.0
    edge = now
    for back in range(SLOTS):
        start = hour_start - timedelta(hours=back)
        per_minute = rates.get(back, 0.0) / 60
        span = (edge - start).total_seconds() / 60
        if per_minute > 0 and expected + per_minute * span >= target:
            inside = (target - expected) / per_minute
            return (now - edge).total_seconds() / 60 + inside
        expected += per_minute * span
        edge = start
    return NEVER


def learned_rule(rule: AnyRule, rates: Mapping[int, float] | None, now: datetime) -> AnyRule | None:
    """The rule with `minutes` stretched to the improbable gap at the site's learned rate;
    None (the rule as it is) for a fixed rule or a site with no learned rate yet."""
    if not isinstance(rule, NoDataRule) or rule.expected != "learned" or rates is None:
        return None
    gap = improbable_gap_minutes(rates, now, rule.max_probability)
    # Whole minutes: the silence is measured once a minute, and the limit shows in messages.
    return rule.model_copy(update={"minutes": max(rule.minutes, float(math.ceil(gap)))})

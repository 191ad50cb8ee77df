"""Each site's learned event rate at this hour of the week, and the feed silence it makes
improbable (no_data rules with ``expected: learned``); reads cargo_event only.

P(no event in a gap) = exp(-expected events in the gap), the expected count summed over the
hours the gap spans, each hour's rate the median count of that hour of the week over the last
LEARN_WEEKS weeks (only the weeks since the site's first event in that window). A site with no
such week yet is new: it has no learned rate, and its rule keeps the fixed window.
"""

from __future__ import annotations

import math
import statistics
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


# --- the same rates for a replay, from hourly counts read once --------------------------------
# A rule replay steps through days of history; one RATE_SQL per step would be thousands of
# statements. It reads each site's hourly event counts once (HOURLY_SQL) and derives, per hour,
# exactly what RATE_SQL would have answered then (a test compares the two).

HOURLY_SQL = """
SELECT site_id, date_trunc('hour', occurred_at) AS hour, count(*) AS n
FROM cargo_event
WHERE occurred_at >= CAST(:since AS timestamptz) AND occurred_at < CAST(:until AS timestamptz)
GROUP BY 1, 2
"""


class HistoricRates:
    """Learned rates at any hour of a replay window: ``at(site, now)`` is ``read_rates`` as it
    would have answered at ``now`` for that site (None: no learned rate then)."""

    def __init__(self, counts: Mapping[str, Mapping[datetime, int]]) -> None:
        self._counts = counts
        self._hours = {site: sorted(by_hour) for site, by_hour in counts.items()}
        self._cache: dict[tuple[str, datetime], dict[int, float] | None] = {}

    @classmethod
    def read(cls, conn: Connection, since: datetime, until: datetime) -> HistoricRates:
        start = since.replace(minute=0, second=0, microsecond=0) - timedelta(
            hours=SLOTS - 1, days=7 * LEARN_WEEKS
        )
        counts: dict[str, dict[datetime, int]] = defaultdict(dict)
        params = {"since": start, "until": until}
        for site, hour, n in conn.execute(text(HOURLY_SQL), params).all():
            counts[site][hour] = int(n)
        return cls(counts)

    def at(self, site: str, now: datetime) -> dict[int, float] | None:
        hour = now.replace(minute=0, second=0, microsecond=0)
        key = (site, hour)
        if key not in self._cache:
            self._cache[key] = self._rates(site, hour)
        return self._cache[key]

    def _rates(self, site: str, hour: datetime) -> dict[int, float] | None:
        since = hour - timedelta(hours=SLOTS - 1, days=7 * LEARN_WEEKS)
        first = next((h for h in self._hours.get(site, ()) if h >= since), None)
        if first is None or first > hour:
            return None
        counts = self._counts[site]
        rates: dict[int, float] = {}
        for back in range(SLOTS):
            slots = [
                hour - timedelta(hours=back, days=7 * week) for week in range(1, LEARN_WEEKS + 1)
            ]
            seen = [counts.get(start, 0) for start in slots if start >= first]
            if seen:
                rates[back] = float(statistics.median(seen))
        return rates or None

"""The rows a `source: events` spec aggregates: the cargo events that occurred in the window
before t, one more source of collector.metrics next to metric_definitions.SOURCES.

The built-in `events` source reads only two hours and three columns, for the hand-written
data-quality indicators; a spec filters on the event's own facts, so it has its own statement,
run only when a spec of this source is active. It reads the widest window of the specs it
computes (a bound parameter, at most EVENTS_WINDOW_HOURS), not always the most any spec may ask
for: a 24 h read of a national day of events costs ten times a 2 h one. cargo_event is a
hypertable on occurred_at: the candidate filter bounds occurred_at on both sides so only the
chunks of the batch are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.indicators.base import Indicator
from collector.indicators.spec import EVENTS_SOURCE
from collector.metric_definitions import Source

SPAN = f"{EVENTS_SOURCE}__hours"
_SINCE = f"CAST(:{SPAN} AS float8) * interval '1 hour'"

EVENTS = Source(
    EVENTS_SOURCE,
    "cargo_event",
    f"occurred_at > CAST(:tmin AS timestamptz) - {_SINCE} AND occurred_at <= :tmax",
    f"occurred_at > t - {_SINCE} AND occurred_at <= t",
    columns="site_id, kind, direction, hazard_class, un_number, packing_group, occurred_at,"
    " received_at",
)


def span_params(indicators: Sequence[Indicator]) -> dict[str, float]:
    """The window the events statement reads: the widest of its specs' (none without one)."""
    windows = [
        float(i.spec["window_hours"])
        for i in indicators
        if i.source == EVENTS_SOURCE and i.spec is not None
    ]
    return {SPAN: max(windows)} if windows else {}

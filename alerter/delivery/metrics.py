"""Delivery metrics for ``/metrics``, read from the database at scrape time; writes nothing.

The dispatcher may run in another process than the API (``--role alerter``) or on several
replicas, so counters live in ``delivery_counter`` (written with each attempt) and queue sizes
are counted when Prometheus scrapes. ``install(app)`` registers the collector on the app's own
registry (quaywatch.web.Telemetry), once per app.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

# Seconds. IM vendors answer in 50-500 ms; 10 s is the request timeout.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUEUE_STATES = ("pending", "sending", "dead")


class DeliveryCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "quaywatch_delivery_metrics_up", "1 if delivery metrics could be read from the database"
        )
        try:
            families = self._families()
        except Exception as exc:  # a scrape must not fail because the database is away
            log.warning("delivery metrics unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> list[Metric]:
        with self.engine.connect() as conn:
            counters = conn.execute(
                text("SELECT kind, status, attempts, latency_sum_s, buckets FROM delivery_counter")
            ).all()
            queue: dict[str, int] = dict(
                conn.execute(
                    text(
                        "SELECT state, count(*) FROM notification"
                        " WHERE state = ANY (:states) GROUP BY state"
                    ),
                    {"states": list(QUEUE_STATES)},
                ).all()
            )
            oldest = conn.execute(
                text(
                    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
                    " FROM notification WHERE state IN ('pending', 'sending')"
                )
            ).scalar_one()
        return [*_counter_families(list(counters)), *_queue_families(queue, float(oldest))]


def _counter_families(rows: list[Any]) -> list[Metric]:
    attempts = CounterMetricFamily(
        "quaywatch_delivery_attempts",
        "Notification delivery attempts by channel kind and outcome",
        labels=["kind", "status"],
    )
    latency = HistogramMetricFamily(
        "quaywatch_delivery_latency_seconds",
        "Time to deliver one notification (all parts), by channel kind",
        labels=["kind"],
    )
    per_kind: dict[str, tuple[list[int], float, int]] = {}
    for kind, status, count, latency_sum, buckets in rows:
        attempts.add_metric([kind, status], count)
        summed, total, n = per_kind.get(kind, ([0] * len(BUCKETS), 0.0, 0))
        per_kind[kind] = (
            [a + b for a, b in zip(summed, buckets, strict=False)],
            total + latency_sum,
            n + count,
        )
    for kind, (summed, total, n) in sorted(per_kind.items()):
        pairs = [(str(bound), count) for bound, count in zip(BUCKETS, summed, strict=True)]
        latency.add_metric([kind], [*pairs, ("+Inf", n)], total)
    return [attempts, latency]


def _queue_families(queue: dict[str, int], oldest_s: float) -> list[Metric]:
    queued = GaugeMetricFamily(
        "quaywatch_notifications_queued",
        "Notifications by state: pending and sending are in flight, dead are dead letters",
        labels=["state"],
    )
    for state in QUEUE_STATES:
        queued.add_metric([state], queue.get(state, 0))
    age = GaugeMetricFamily(
        "quaywatch_notification_oldest_pending_seconds",
        "Age of the oldest notification not yet delivered",
    )
    age.add_metric([], oldest_s)
    return [queued, age]


def install(app: Any) -> None:
    """Register the collector on the app's registry (called from the blueprint, once)."""
    telemetry = app.extensions["quaywatch.telemetry"]
    telemetry.registry.register(DeliveryCollector(app.extensions["quaywatch.engine"]))

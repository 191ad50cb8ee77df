"""Notification delivery: draining a queue at a receiver's rate limit, and end-to-end latency.

1. drain_limited: 5,000 queued notifications (one group each) for a webhook receiver that
   accepts 600 a minute and answers 429 beyond. The channel's rate limit is set to the same
   600/min, so the dispatcher sends 599 on their own and folds the rest into a digest: every
   alert must arrive, no minute may carry more than 600 requests, no 429 may be needed.
2. drain_unlimited: the same 5,000 to a receiver without a limit (throughput, no folding).
3. latency: a metric value is written, evaluation runs right after the metrics cycle (as the
   scheduler does), and the dispatcher runs as the scheduler's 2 s dispatch job does, with
   group_wait 0: metric written -> webhook received, p50/p95. Alertmanager's default path
   for comparison: Prometheus' 1 min evaluation_interval + 30 s group_wait.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from alerter.delivery import config_store
from alerter.delivery.channel_config import bot_key, validate
from alerter.delivery.dispatch import dispatch_once, flush_groups, route_events
from bench.common import bench_server, seeded_database, template_database
from quaywatch.settings import Settings
from tests.fakes.recording_receiver import RecordingReceiver

QUEUED = 5_000
RATE = 600
LATENCY_SAMPLES = 60
TARGET_P95_S = 5.0
DISPATCH_INTERVAL_S = 2.0  # quaywatch.scheduler JOBS "dispatch"


def _channel(engine: Engine, url: str, **fields: Any) -> int:
    readable, secrets = validate("webhook", {"url": url})
    values = {
        "node_id": "CN",
        "name": "bench",
        "kind": "webhook",
        "config": readable,
        "secrets": secrets,
        "bot_key": bot_key("webhook", secrets),
        "group_wait_s": 0,
        "group_by": ["..."],
        **fields,
    }
    with engine.begin() as conn:
        return config_store.create_channel(conn, values, "bench")


def _events(engine: Engine, count: int, now: datetime) -> None:
    rows = [
        {
            "fp": f"{i:016x}",
            "labels": json.dumps({"alertname": "BenchAlert", "site": "3101-BEILUN", "n": str(i)}),
            "now": now,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert_event (fingerprint, rule_id, node_id, status, severity, labels,"
                " starts_at) VALUES (:fp, 0, '3101-BEILUN', 'firing', 'warning',"
                " CAST(:labels AS jsonb), :now)"
            ),
            rows,
        )


def _queue(engine: Engine, count: int) -> datetime:
    """Route and flush ``count`` alerts into as many pending notifications (nothing sent)."""
    now = datetime.now(UTC)
    _events(engine, count, now)
    while route_events(engine, now):
        pass
    while flush_groups(engine, now)[0]:
        pass
    return now


def _drain(engine: Engine, settings: Settings, limit_s: float = 600) -> tuple[float, int]:
    started, passes = time.perf_counter(), 0
    while _unsent(engine) and time.perf_counter() - started < limit_s:
        result = dispatch_once(engine, settings)
        passes += 1
        if not result.sent and not result.more:
            time.sleep(0.5)
    return time.perf_counter() - started, passes


def _unsent(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM notification WHERE state IN ('pending', 'sending')")
            ).scalar_one()
        )


def _drain_case(engine: Engine, per_minute: int | None) -> dict[str, Any]:
    settings = Settings(database_url=engine.url.render_as_string(False), allow_private_urls=True)
    with RecordingReceiver(per_minute=per_minute) as receiver:
        _channel(engine, receiver.url, rate_per_minute=per_minute)
        _queue(engine, QUEUED)
        seconds, passes = _drain(engine, settings)
        accepted = receiver.accepted()
        alerts = {fp for a in accepted for fp in a.fingerprints}
        return {
            "queued": QUEUED,
            "drain_s": round(seconds, 2),
            "requests": len(accepted),
            "refused_429": len(receiver.arrivals) - len(accepted),
            "most_in_a_minute": receiver.most_in_any_minute(),
            "alerts_delivered": len(alerts),
            "lost": QUEUED - len(alerts),
            "dispatch_passes": passes,
        }


def _latency_rule(engine: Engine) -> dict[int, str]:
    """A threshold rule no value breaches yet; returns its site series (id -> site)."""
    from alerter.rules import store
    from alerter.rules.kinds import parse_rule

    with engine.begin() as conn:
        code = (
            conn.execute(
                text("SELECT code FROM indicator WHERE direction = 'higher_is_worse' ORDER BY code")
            )
            .scalars()
            .first()
        )
        spec = {
            "name": "bench_latency",
            "kind": "threshold",
            "indicator": code,
            "operator": ">",
            "threshold": 1e9,
            "for": "0s",
        }
        store.create_rule(conn, parse_rule(spec), store.Actor("bench"))
        series = dict(
            conn.execute(
                text(
                    "SELECT s.series_id, s.node_id FROM series s JOIN org_node n USING (node_id)"
                    " WHERE n.level = 'site' AND s.indicator_code = :c ORDER BY s.series_id"
                ),
                {"c": code},
            ).all()
        )
        conn.execute(
            text(
                "INSERT INTO series_latest (series_id, time, value) SELECT unnest(CAST(:ids AS int[])),"
                " now(), 0 ON CONFLICT (series_id) DO UPDATE SET value = 0"
            ),
            {"ids": list(series)},
        )
    return series


def _latency_case(engine: Engine) -> dict[str, Any]:
    from alerter.evaluation.step import evaluate_all

    settings = Settings(database_url=engine.url.render_as_string(False), allow_private_urls=True)
    series = _latency_rule(engine)
    stop, written = threading.Event(), dict[str, float]()
    with RecordingReceiver() as receiver:
        _channel(engine, receiver.url)

        def dispatcher() -> None:  # quaywatch.scheduler's 2 s dispatch job
            while not stop.is_set():
                if not dispatch_once(engine, settings).more:
                    stop.wait(DISPATCH_INTERVAL_S)

        thread = threading.Thread(target=dispatcher, daemon=True)
        thread.start()
        evaluate_all(engine, settings)  # warm up: plans and caches
        for series_id in random.Random(7).sample(sorted(series), LATENCY_SAMPLES):
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE series_latest SET value = 2e9, time = now() WHERE series_id = :s"),
                    {"s": series_id},
                )
            written[series[series_id]] = time.monotonic()
            evaluate_all(engine, settings)  # runs right after the metrics cycle
            time.sleep(random.Random(series_id).uniform(0.1, 0.4))
        deadline = time.monotonic() + 30
        while len(receiver.accepted()) < LATENCY_SAMPLES and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        thread.join()
        arrived = {a.body["alerts"][0]["labels"]["node"]: a.at for a in receiver.accepted()}
    latencies = sorted(arrived[site] - at for site, at in written.items() if site in arrived)
    return {
        "samples": len(latencies),
        "p50_s": round(latencies[len(latencies) // 2], 3),
        "p95_s": round(latencies[int(len(latencies) * 0.95) - 1], 3),
        "max_s": round(latencies[-1], 3),
        "dispatch_interval_s": DISPATCH_INTERVAL_S,
        "target_p95_s": TARGET_P95_S,
        "alertmanager_default_path_s": 60 + 30,
    }


def run() -> dict[str, Any]:
    with bench_server() as server:
        template = template_database(server)
        figures: dict[str, Any] = {}
        for label, limit in (("drain_limited", RATE), ("drain_unlimited", None)):
            _, engine = seeded_database(server, template)
            figures[label] = _drain_case(engine, limit)
            engine.dispose()
        _, engine = seeded_database(server, template)
        figures["latency"] = _latency_case(engine)
        engine.dispose()
    limited = figures["drain_limited"]
    figures["ok"] = (
        limited["lost"] == 0
        and figures["drain_unlimited"]["lost"] == 0
        and limited["most_in_a_minute"] <= RATE
        and figures["latency"]["p95_s"] < TARGET_P95_S
    )
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

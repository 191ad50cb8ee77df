"""A migrated database filled with a few days of national activity, for running panel SQL.

History comes from the simulator (collector.sim_runs.backfill) when it is there, otherwise from
lots stored through the collector's ingest path; metrics are computed from it with the
collector's own definitions. Alerts, feeds, deliveries and the forecaster's rows
(filled_forecasts.py) are written directly (their writers
are other packages), with a few deterministic lots at the dashboards' default site so that every
panel has something to show whatever the simulator drew.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from cargo_events import store
from collector.events import CargoEvent
from collector.rollup import backfill_metrics, metrics_cycle
from tests.grafana.filled_forecasts import fill_forecasts

DEFAULT_SITE, DEFAULT_CUSTOMS = "2201-YANGSHAN", "2200"
OTHER_SITES = ("2202-WAIGAOQIAO", "5304-SHEKOU", "5316-YANTIAN", "4202-QIANWAN")


def fill(engine: Engine, now: datetime, days: int = 3, scale: float = 0.05) -> None:
    """Simulated history up to `now`, then the live figures (series_latest) at `now`."""
    now = now.replace(second=0, microsecond=0)
    if not _simulate(engine, now, days, scale):
        _store_lots(engine, now, days)
        backfill_metrics(engine, now - timedelta(days=days - 1), now, timedelta(hours=1))
    _store_deadline_lots(engine, now)
    _add_feed(engine, now)
    metrics_cycle(engine, now)
    _add_alerts(engine, now)
    _add_deliveries(engine, now)
    fill_forecasts(engine, now)


def _simulate(engine: Engine, now: datetime, days: int, scale: float) -> bool:
    try:
        from collector.sim_runs import backfill
        from collector.simulator import SimConfig
    except ImportError:
        return False
    backfill(engine, days, SimConfig(seed=11, scale=scale), end=now)
    return True


def _event(lot: str, kind: str, at: datetime, site: str, **attrs: object) -> CargoEvent:
    return CargoEvent.model_validate(
        {
            "event_id": f"{lot}-{kind}",
            "kind": kind,
            "lot_id": lot,
            "site_id": site,
            "occurred_at": at,
            **attrs,
        }  # fmt: skip
    )


def _store_lots(engine: Engine, now: datetime, days: int) -> None:
    """Without the simulator: a lot every two hours at a handful of sites, every fifth hazardous."""
    events = []
    for n, site in enumerate((DEFAULT_SITE, *OTHER_SITES)):
        for k in range(days * 12):
            lot = f"g{n}-{k}"
            arrived = now - timedelta(days=days) + timedelta(hours=2 * k, minutes=7 * n)
            attrs = {"hazard_class": "3", "un_number": "1203"} if k % 5 == 0 else {}
            steps = [("arrived", 0), ("declared", 1), ("inspection_started", 3),
                     ("inspection_finished", 6), ("released", 8), ("removed", 20)]  # fmt: skip
            events += [_event(lot, kind, arrived + timedelta(hours=h), site, **attrs)
                       for kind, h in steps if arrived + timedelta(hours=h) < now]  # fmt: skip
    store(engine, events, received_at=now)


def _store_deadline_lots(engine: Engine, now: datetime) -> None:
    """At the default site: one lot past its deadline (class 2.1: 48 h, or 24 h in summer),
    one past its warning point, one on hold."""
    gas = {"hazard_class": "2.1", "un_number": "1950"}
    store(engine, [
        _event("qw-overdue", "arrived", now - timedelta(hours=60), DEFAULT_SITE, **gas),
        _event("qw-near", "arrived", now - timedelta(hours=40), DEFAULT_SITE, **gas),
        _event("qw-held", "arrived", now - timedelta(hours=10), DEFAULT_SITE,
               hazard_class="8", packing_group="II", un_number="1830"),
        _event("qw-held", "held", now - timedelta(hours=9), DEFAULT_SITE),
    ], received_at=now)  # fmt: skip


def _add_feed(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO station_feed (feed_id, site_id, url, last_polled_at, last_ok_at,"
                " consecutive_failures, events_total) VALUES ('yangshan-tos', :s,"
                " 'https://tos.example/events?token=secret', :t, :t, 0, 1200)"
            ),
            {"s": DEFAULT_SITE, "t": now - timedelta(seconds=30)},
        )


def _add_alerts(engine: Engine, now: datetime) -> None:
    """A rule, two firing instances (a site and its customs) and their state history."""
    alerts = [
        ("fp-site", DEFAULT_SITE, "critical", now - timedelta(hours=5)),
        ("fp-customs", DEFAULT_CUSTOMS, "warning", now - timedelta(hours=3)),
        ("fp-other", OTHER_SITES[2], "warning", now - timedelta(hours=8)),
    ]
    with engine.begin() as conn:
        rule_id = conn.execute(text(
            "INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity,"
            " override_policy, spec, origin_node_id, created_by, updated_by) VALUES"
            " ('hazardous-overdue', 'CN', 'threshold', 'site', 'hazardous_overdue', 'critical',"
            " 'tighten_only', '{}', 'CN', 'test', 'test') RETURNING rule_id")).scalar()  # fmt: skip
        for fingerprint, node, severity, since in alerts:
            labels = json.dumps({"alertname": "HazardousOverdue", "severity": severity})
            params = {"f": fingerprint, "r": rule_id, "n": node, "s": severity, "l": labels,
                      "since": since, "now": now}  # fmt: skip
            conn.execute(text(
                "INSERT INTO alert_instance (fingerprint, rule_id, node_id, severity, labels,"
                " annotations, state, since, fired_at, last_value, last_eval) VALUES (:f, :r, :n,"
                " :s, CAST(:l AS jsonb), '{\"summary\": \"overdue hazardous lots\"}', 'Firing',"
                " :since, :since, 1, :now)"), params)  # fmt: skip
            for state, at in (("Pending", since - timedelta(minutes=5)), ("Firing", since)):
                conn.execute(text(
                    "INSERT INTO alert_history (at, rule_id, fingerprint, node_id, labels,"
                    " from_state, to_state, value) VALUES (:at, :r, :f, :n, CAST(:l AS jsonb),"
                    " 'Normal', :state, 1)"), {**params, "at": at, "state": state})  # fmt: skip
            conn.execute(text(
                "INSERT INTO alert_event (fingerprint, rule_id, node_id, status, severity, labels,"
                " value, starts_at) VALUES (:f, :r, :n, 'firing', :s, CAST(:l AS jsonb), 1,"
                " :since)"), params)  # fmt: skip


def _add_deliveries(engine: Engine, now: datetime) -> None:
    """A DingTalk channel with attempts every hour (every fourth failing) and a dead letter."""
    with engine.begin() as conn:
        channel = conn.execute(text(
            "INSERT INTO channel (node_id, name, kind, config, secrets, bot_key) VALUES (:n,"
            " 'ops group', 'dingtalk', '{}', '{\"access_token\": \"secret\"}', 'bot-1')"
            " RETURNING channel_id"),
            {"n": DEFAULT_CUSTOMS}).scalar()  # fmt: skip
        conn.execute(text(
            "INSERT INTO channel_state (channel_id, last_success_at) VALUES (:c, :t)"),
            {"c": channel, "t": now})  # fmt: skip
        dead = conn.execute(text(
            "INSERT INTO notification (channel_id, group_key, reason, content, alert_count,"
            " state, created_at, next_attempt_at, dead_at, attempts, failures) VALUES (:c,"
            " '{}:{alertname=\"HazardousOverdue\"}', 'firing', '{}', 1, 'dead', :t, :t, :t, 5, 5)"
            " RETURNING notification_id"), {"c": channel, "t": now - timedelta(hours=2)}).scalar()  # fmt: skip
        for hour in range(24):
            status = "retryable" if hour % 4 == 0 else "success"
            conn.execute(text(
                "INSERT INTO delivery_attempt (notification_id, channel_id, bot_key, attempt,"
                " started_at, status, latency_ms) VALUES (:m, :c, 'bot-1', 1, :t, :s, :ms)"),
                {"m": dead, "c": channel, "t": now - timedelta(hours=hour), "s": status,
                 "ms": 120 + 10 * hour})  # fmt: skip


def now_utc() -> datetime:
    return datetime.now(UTC)

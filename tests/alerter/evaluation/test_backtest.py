from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_rules import threshold_spec
from sqlalchemy import text

from alerter.evaluation.backtest import run_backtest
from alerter.evaluation.notify_sim import Timing
from alerter.rules.inheritance import Override
from alerter.rules.kinds import parse_rule
from cargo_events import T0, ev
from cargo_events import store as store_events

CLEARANCE = "clearance_time_p90_hours"
SHEKOU = "5304-SHEKOU"
END = datetime(2026, 3, 10, tzinfo=UTC)


def series_id(conn, node=SHEKOU, code=CLEARANCE):
    return conn.execute(
        text("SELECT series_id FROM series WHERE node_id = :n AND indicator_code = :c"),
        {"n": node, "c": code},
    ).scalar_one()


def history(engine, pieces, end=END, node=SHEKOU, code=CLEARANCE):
    """Minute points: each piece is (hours before end it starts, value) until the next piece."""
    with engine.begin() as conn:
        sid = series_id(conn, node, code)
        for (start, value), (stop, _) in zip(pieces, [*pieces[1:], (0, None)], strict=True):
            conn.execute(
                text(
                    "INSERT INTO metric_point (time, series_id, value) SELECT t, :s, :v FROM"
                    " generate_series(CAST(:a AS timestamptz), CAST(:b AS timestamptz) - interval"
                    " '1 minute', interval '1 minute') t"
                ),
                {
                    "s": sid,
                    "v": value,
                    "a": end - timedelta(hours=start),
                    "b": end - timedelta(hours=stop),
                },
            )


def backtest(engine, spec, days=1, overrides=(), **options):
    with engine.connect() as conn:
        return run_backtest(
            conn,
            parse_rule(spec),
            list(overrides),
            days,
            options.pop("timing", Timing()),
            options.pop("group_by", ["alertname"]),
            until=END,
            **options,
        )


def test_a_backtest_answers_when_the_rule_would_have_fired_and_resolved(engine):
    history(engine, [(24, 30), (10, 50), (8, 45), (7, 30)])
    answer = backtest(engine, threshold_spec(recovery_threshold=40, **{"for": "10m"}))
    assert answer["window"]["source"] == "metric_point" and answer["series"] > 200
    [episode] = answer["episodes"]
    assert episode["node_id"] == SHEKOU
    assert episode["fired_at"] == (END - timedelta(hours=10) + timedelta(minutes=10)).isoformat()
    # Hysteresis: 45 is under 48 but above the recovery 40, so it resolves only at 30.
    assert episode["resolved_at"] == (END - timedelta(hours=7)).isoformat()
    assert (answer["fired"], answer["resolved"], answer["outbox_events"]) == (1, 1, 2)


def test_a_backtest_counts_notifications_with_repeat_interval(engine):
    history(engine, [(24, 30), (20, 50), (9.5, 30)])
    answer = backtest(engine, threshold_spec())
    notifications = answer["notifications"]
    # 10.5 h firing: first, repeats after 4 h and 8 h, then the resolution.
    assert notifications["by_reason"] == {
        "first notification": 1,
        "repeat interval elapsed": 2,
        "all alerts resolved": 1,
    }
    assert notifications["total"] == 4
    shorter = backtest(engine, threshold_spec(), timing=Timing(repeat_interval=timedelta(hours=1)))
    assert shorter["notifications"]["total"] == 12


def test_a_flapping_series_shows_what_hysteresis_saves(engine):
    pieces = [(24, 30)] + [(20 - n, 50 if n % 2 == 0 else 46) for n in range(10)] + [(10, 30)]
    history(engine, pieces)
    plain = backtest(engine, threshold_spec())
    damped = backtest(engine, threshold_spec(recovery_threshold=40))
    assert (plain["fired"], damped["fired"]) == (5, 1)
    assert plain["notifications"]["total"] > damped["notifications"]["total"]


def test_a_backtest_applies_overrides_along_the_tree(engine):
    history(engine, [(24, 30), (5, 40), (4, 30)])
    override = Override("5300", ("CN", "5300"), 36)
    assert backtest(engine, threshold_spec())["fired"] == 0
    assert backtest(engine, threshold_spec(), overrides=[override])["fired"] == 1


def test_a_backtest_over_more_than_a_week_reads_hourly_rollups(engine):
    with engine.begin() as conn:
        sid = series_id(conn)
        conn.execute(
            text(
                "INSERT INTO metric_hourly SELECT b, :s, v, v, v, v, v, 1 FROM ("
                " SELECT b, CASE WHEN b >= :hot AND b < :cool THEN 60.0 ELSE 20.0 END AS v"
                " FROM generate_series(CAST(:a AS timestamptz), :z, interval '1 hour') b) x"
            ),
            {
                "s": sid,
                "a": END - timedelta(days=20),
                "z": END - timedelta(hours=1),
                "hot": END - timedelta(days=12),
                "cool": END - timedelta(days=11),
            },
        )
    answer = backtest(engine, threshold_spec(), days=14)
    assert answer["window"]["source"] == "metric_hourly"
    assert answer["window"]["step_seconds"] == 3600
    [episode] = answer["episodes"]
    assert episode["duration_minutes"] == 24 * 60


def test_a_forecast_backtest_replays_the_runs_known_at_each_moment(engine):
    with engine.begin() as conn:
        sid = series_id(conn)
        insert = text("INSERT INTO forecast_crossing VALUES (:s, :run, :at, 48, 'above', :x, :p)")
        for run, hours_before_end, probability in [(1, 20, 0.2), (2, 12, 0.9), (3, 6, 0.3)]:
            at = END - timedelta(hours=hours_before_end)
            conn.execute(
                insert,
                {"s": sid, "run": run, "at": at, "x": at + timedelta(hours=2), "p": probability},
            )
    spec = {
        "name": "f",
        "kind": "forecast",
        "indicator": CLEARANCE,
        "threshold": 48,
        "horizon_hours": 6,
        "min_probability": 0.7,
        "max_forecast_age": "12h",
    }
    answer = backtest(engine, spec)
    [episode] = answer["episodes"]
    assert answer["window"]["source"] == "forecast_crossing"
    assert episode["fired_at"] == (END - timedelta(hours=12)).isoformat()
    assert episode["resolved_at"] == (END - timedelta(hours=6)).isoformat()


def test_a_deadline_backtest_replays_hazardous_lots(engine):
    # cargo_events' T0 is 2026-03-02: a class 3 lot arriving then has a 120 h deadline
    # (2026-03-07 00:00) and leaves at 110 h, i.e. 10 h before it.
    store_events(
        engine,
        [ev("haz", "arrived", 0, SHEKOU, hazard_class="3"), ev("haz", "removed", 110, SHEKOU)],
    )
    spec = {"name": "d", "kind": "deadline", "hours_before": 12}
    with engine.connect() as conn:
        answer = run_backtest(
            conn,
            parse_rule(spec),
            [],
            7,
            Timing(),
            ["alertname"],
            until=datetime(2026, 3, 8, tzinfo=UTC),
        )
    [episode] = answer["episodes"]
    assert episode["labels"]["lot_id"] == "haz"
    assert episode["fired_at"].startswith("2026-03-06T12:0")
    assert episode["resolved_at"] is not None


def test_the_backtest_api_takes_a_draft_and_answers_fires_and_notifications(client, engine, auth):
    now = datetime.now(UTC)
    history(engine, [(20, 30), (6, 55), (3, 30)], end=now)
    draft = threshold_spec(name="draft", **{"for": "5m"})
    response = client.post(
        "/api/v1/rules/backtest",
        headers=auth,
        json={"rule": draft, "days": 1, "group_interval": "10m"},
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["fired"] == 1 and body["resolved"] == 1
    assert body["notifications"]["group_interval_seconds"] == 600
    assert body["notifications"]["total"] == 2


def test_the_backtest_api_names_bad_options_and_unsupported_checks(client, auth):
    bad = client.post(
        "/api/v1/rules/backtest", headers=auth, json={"rule": threshold_spec(), "days": 400}
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "days"
    stale = {"name": "s", "kind": "no_data", "check": "stale_series", "minutes": 10}
    refused = client.post("/api/v1/rules/backtest", headers=auth, json={"rule": stale})
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "rule.check"


def test_a_learned_no_data_replay_judges_each_site_by_its_rate_at_the_time(engine):
    # One event an hour for four weeks and more, then 40 minutes of silence three hours before
    # the end: improbable for a 15-minute window, ordinary at one event an hour.
    hours = int((END - T0).total_seconds() // 3600)
    store_events(engine, [ev(f"q{h}", "arrived", h + 0.5) for h in range(-24 * 29, hours - 3)])
    history(engine, [(6, 20.0), (3, 40.0), (2.3, 5.0)], code="feed_silence_minutes")
    base = {"name": "feed_silent", "kind": "no_data", "minutes": 15, "for": "0s"}
    fixed = backtest(engine, base)
    learned = backtest(engine, {**base, "expected": "learned"})
    assert fixed["fired"] >= 1
    assert learned["fired"] == 0

from __future__ import annotations

from datetime import timedelta

from alert_rules import NOW, add_rule, history, instances, outbox, put_value, rows, threshold_spec
from sqlalchemy import event, text

from alerter.evaluation import step as evaluation
from alerter.evaluation.step import evaluate_all
from alerter.rules import store
from alerter.rules.inheritance import Override
from alerter.rules.reads import get_rule
from cargo_events import T0, ev
from cargo_events import store as store_events
from quaywatch.db import try_advisory_lock

CLEARANCE = "clearance_time_p90_hours"
SHEKOU, CHIWAN, YANGSHAN = "5304-SHEKOU", "5304-CHIWAN", "2201-YANGSHAN"


def states(engine):
    return {(i["node_id"], i["state"]) for i in instances(engine)}


def test_a_cycle_writes_instances_history_and_the_outbox_together(engine, settings):
    add_rule(engine, threshold_spec())
    put_value(engine, SHEKOU, CLEARANCE, 50)
    put_value(engine, CHIWAN, CLEARANCE, 30)
    result = evaluate_all(engine, settings, NOW)
    assert (result.rules, result.series, result.transitions, result.notifications) == (1, 2, 1, 1)
    assert states(engine) == {(SHEKOU, "Firing")}
    [sent] = outbox(engine)
    assert (sent["status"], sent["node_id"], sent["value"]) == ("firing", SHEKOU, 50)
    assert sent["labels"]["alertname"] == "clearance_slow"
    assert sent["labels"]["site"] == SHEKOU and sent["labels"]["customs"] == "5300"
    assert sent["fingerprint"] == instances(engine)[0]["fingerprint"]
    assert sent["starts_at"] == NOW and sent["ends_at"] is None
    assert [(h["from_state"], h["to_state"]) for h in history(engine)] == [(None, "Firing")]


def test_a_firing_alert_resolves_into_the_outbox_and_leaves_the_instance_table(engine, settings):
    add_rule(engine, threshold_spec())
    put_value(engine, SHEKOU, CLEARANCE, 50)
    evaluate_all(engine, settings, NOW)
    put_value(engine, SHEKOU, CLEARANCE, 20, NOW + timedelta(minutes=1))
    evaluate_all(engine, settings, NOW + timedelta(minutes=1))
    assert instances(engine) == []
    firing, resolved = outbox(engine)
    assert resolved["status"] == "resolved"
    assert resolved["starts_at"] == NOW and resolved["ends_at"] == NOW + timedelta(minutes=1)


def test_an_unchanged_firing_alert_is_not_announced_twice(engine, settings):
    add_rule(engine, threshold_spec())
    for minute in range(3):
        put_value(engine, SHEKOU, CLEARANCE, 50 + minute, NOW + timedelta(minutes=minute))
        evaluate_all(engine, settings, NOW + timedelta(minutes=minute))
    assert len(outbox(engine)) == 1
    assert instances(engine)[0]["last_value"] == 52


def test_an_override_sets_the_threshold_for_its_subtree_only(engine, settings):
    rule_id = add_rule(engine, threshold_spec())
    with engine.begin() as conn:
        stored = get_rule(conn, rule_id)
        store.put_override(conn, stored, Override("5300", ("CN", "5300"), 36), store.Actor("t"))
    put_value(engine, SHEKOU, CLEARANCE, 40)
    put_value(engine, YANGSHAN, CLEARANCE, 40)
    evaluate_all(engine, settings, NOW)
    assert states(engine) == {(SHEKOU, "Firing")}
    assert instances(engine)[0]["annotations"]["threshold"] == "36"


def test_a_refused_override_does_not_change_evaluation(engine, settings):
    rule_id = add_rule(engine, threshold_spec(override_policy="none"))
    with engine.begin() as conn:
        stored = get_rule(conn, rule_id)
        store.put_override(conn, stored, Override("5300", ("CN", "5300"), 36), store.Actor("t"))
    put_value(engine, SHEKOU, CLEARANCE, 40)
    evaluate_all(engine, settings, NOW)
    assert instances(engine) == []


def test_values_older_than_max_data_age_are_no_data(engine, settings):
    rule_id = add_rule(engine, threshold_spec(max_data_age="10m"))
    put_value(engine, SHEKOU, CLEARANCE, 50, NOW - timedelta(minutes=11))
    evaluate_all(engine, settings, NOW)
    [status] = rows(engine, "SELECT * FROM alert_rule_status WHERE rule_id = :r", r=rule_id)
    assert status["health"] == "nodata"
    assert instances(engine) == []


def test_rule_health_and_its_change_are_recorded(engine, settings):
    rule_id = add_rule(engine, threshold_spec())
    evaluate_all(engine, settings, NOW)
    put_value(engine, SHEKOU, CLEARANCE, 10, NOW + timedelta(minutes=1))
    evaluate_all(engine, settings, NOW + timedelta(minutes=1))
    [status] = rows(engine, "SELECT * FROM alert_rule_status WHERE rule_id = :r", r=rule_id)
    assert status["health"] == "ok" and status["duration_ms"] >= 0
    changes = [
        (h["from_state"], h["to_state"]) for h in history(engine) if h["fingerprint"] is None
    ]
    assert changes == [("health:ok", "health:nodata"), ("health:nodata", "health:ok")]


def test_a_rule_whose_spec_no_longer_loads_is_in_error_and_the_others_still_run(engine, settings):
    broken = add_rule(engine, threshold_spec(name="broken"))
    add_rule(engine, threshold_spec(name="healthy"))
    put_value(engine, SHEKOU, CLEARANCE, 50)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alert_rule SET spec = spec - 'indicator' WHERE rule_id = :r"),
            {"r": broken},
        )
    result = evaluate_all(engine, settings, NOW)
    assert "indicator: is required" in result.errors[broken]
    [status] = rows(engine, "SELECT * FROM alert_rule_status WHERE rule_id = :r", r=broken)
    assert status["health"] == "error" and "indicator" in status["last_error"]
    assert {i["labels"]["alertname"] for i in instances(engine)} == {"healthy"}


def test_a_failing_query_is_retried_rule_by_rule_so_only_its_rule_errors(
    engine, settings, monkeypatch
):
    bad = add_rule(engine, threshold_spec(name="bad"))
    add_rule(engine, threshold_spec(name="good"))
    put_value(engine, SHEKOU, CLEARANCE, 50)
    real_observe = evaluation.observe

    def observe(conn, kind, targets, world, now, previous):
        if any(t.rule_id == bad for t in targets):
            conn.execute(text("SELECT 1 / 0"))  # a real database error, inside the savepoint
        return real_observe(conn, kind, targets, world, now, previous)

    monkeypatch.setattr(evaluation, "observe", observe)
    result = evaluate_all(engine, settings, NOW)
    assert list(result.errors) == [bad] and "DivisionByZero" in result.errors[bad]
    assert {i["labels"]["alertname"] for i in instances(engine)} == {"good"}


def test_a_firing_instance_goes_to_error_when_its_rule_breaks(engine, settings):
    rule_id = add_rule(engine, threshold_spec())
    put_value(engine, SHEKOU, CLEARANCE, 50)
    evaluate_all(engine, settings, NOW)
    with engine.begin() as conn:
        conn.execute(
            text('UPDATE alert_rule SET spec = spec || \'{"operator": "~"}\' WHERE rule_id = :r'),
            {"r": rule_id},
        )
    evaluate_all(engine, settings, NOW + timedelta(minutes=1))
    [instance] = instances(engine)
    assert instance["state"] == "Error" and "operator" in instance["error"]
    assert len(outbox(engine)) == 1  # an error is not a resolution


def test_a_second_replica_skips_the_cycle_while_the_first_holds_the_lock(engine, settings):
    add_rule(engine, threshold_spec())
    with engine.begin() as conn:
        assert try_advisory_lock(conn, evaluation.LOCK)
        assert evaluate_all(engine, settings, NOW).skipped


def test_deleting_a_rule_resolves_its_alerts_at_the_next_cycle(engine, settings):
    rule_id = add_rule(engine, threshold_spec())
    put_value(engine, SHEKOU, CLEARANCE, 50)
    evaluate_all(engine, settings, NOW)
    with engine.begin() as conn:
        store.delete_rule(conn, get_rule(conn, rule_id), store.Actor("t"))
    evaluate_all(engine, settings, NOW + timedelta(minutes=1))
    assert instances(engine) == []
    assert [e["status"] for e in outbox(engine)] == ["firing", "resolved"]
    assert history(engine)[-1]["reason"] == "rule deleted"


def test_disabling_a_rule_resolves_its_alerts(engine, settings):
    add_rule(engine, threshold_spec())
    put_value(engine, SHEKOU, CLEARANCE, 50)
    evaluate_all(engine, settings, NOW)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alert_rule SET enabled = false"))
    evaluate_all(engine, settings, NOW + timedelta(minutes=1))
    assert history(engine)[-1]["reason"] == "rule disabled"
    assert outbox(engine)[-1]["status"] == "resolved"


def test_a_deadline_rule_raises_one_alert_per_hazardous_lot(engine, settings):
    store_events(
        engine,
        [
            ev("near", "arrived", 0, SHEKOU, hazard_class="3", un_number="1203"),
            ev("far", "arrived", 100, SHEKOU, hazard_class="3", un_number="1203"),
            ev("plain", "arrived", 0, SHEKOU),
            ev("gone", "arrived", 0, CHIWAN, hazard_class="3"),
            ev("gone", "removed", 50, CHIWAN),
        ],
    )
    add_rule(
        engine,
        {"name": "deadline_12h", "kind": "deadline", "hours_before": 12, "severity": "critical"},
    )
    evaluate_all(engine, settings, T0 + timedelta(hours=110))  # class 3: 120 h limit
    [instance] = instances(engine)
    labels = instance["labels"]
    assert (labels["lot_id"], labels["hazard_class"], labels["un_number"], labels["site"]) == (
        "near",
        "3",
        "UN1203",
        SHEKOU,
    )
    assert instance["last_value"] == 10  # hours left
    assert "near" in instance["annotations"]["summary"]


def test_a_predicted_breach_raises_a_deadline_alert_early(engine, settings):
    store_events(engine, [ev("risky", "arrived", 0, SHEKOU, hazard_class="3")])
    add_rule(
        engine,
        {"name": "deadline", "kind": "deadline", "hours_before": 12, "min_breach_probability": 0.8},
    )
    at = T0 + timedelta(hours=50)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO lot_breach_prediction (lot_id, site_id, visit_no, computed_at,"
                " breach_probability, predicted_breach_at) VALUES ('risky', :s, 1, :t, 0.9, :b)"
            ),
            {"s": SHEKOU, "t": at - timedelta(minutes=5), "b": T0 + timedelta(hours=120)},
        )
    evaluate_all(engine, settings, at)
    assert states(engine) == {(SHEKOU, "Firing")}


def test_a_feed_silence_rule_fires_for_a_silent_site(engine, settings):
    add_rule(engine, {"name": "feed_silent", "kind": "no_data", "minutes": 15})
    put_value(engine, SHEKOU, "feed_silence_minutes", 20)
    put_value(engine, CHIWAN, "feed_silence_minutes", 1)
    put_value(engine, YANGSHAN, "feed_silence_minutes", 10, NOW - timedelta(minutes=6))
    evaluate_all(engine, settings, NOW)
    # Yangshan's value is 6 minutes old: its silence is 16 minutes by now.
    assert states(engine) == {(SHEKOU, "Firing"), (YANGSHAN, "Firing")}
    assert instances(engine)[0]["labels"]["kind"] == "no_data"


def test_a_stale_series_rule_fires_when_a_node_stops_reporting(engine, settings):
    add_rule(
        engine,
        {
            "name": "stale",
            "kind": "no_data",
            "check": "stale_series",
            "minutes": 30,
            "indicator": "lots_on_site",
            "node_id": "5304",
        },
    )
    put_value(engine, SHEKOU, "lots_on_site", 5, NOW - timedelta(hours=1))
    put_value(engine, CHIWAN, "lots_on_site", 5, NOW)
    evaluate_all(engine, settings, NOW)
    firing = {i["node_id"] for i in instances(engine) if i["state"] == "Firing"}
    assert SHEKOU in firing and CHIWAN not in firing


def test_a_forecast_rule_reads_the_newest_run_at_its_threshold(engine, settings):
    add_rule(
        engine,
        {
            "name": "forecast",
            "kind": "forecast",
            "indicator": CLEARANCE,
            "threshold": 48,
            "horizon_hours": 6,
            "min_probability": 0.7,
        },
    )
    with engine.connect() as conn:
        series = conn.execute(
            text("SELECT series_id FROM series WHERE node_id = :n AND indicator_code = :i"),
            {"n": SHEKOU, "i": CLEARANCE},
        ).scalar()
    crossing = text("INSERT INTO forecast_crossing VALUES (:s, :run, :at, :th, 'above', :x, :p)")
    # An older run predicted a crossing; the newest run at 48 predicts one in 3 h.
    runs = [
        (1, NOW - timedelta(hours=1), 48, NOW + timedelta(hours=1), 0.95),
        (2, NOW - timedelta(minutes=5), 48, NOW + timedelta(hours=3), 0.8),
        (2, NOW - timedelta(minutes=5), 60, None, 0.1),
    ]
    with engine.begin() as conn:
        conn.execute(
            crossing,
            [dict(zip(("run", "at", "th", "x", "p"), run, strict=True), s=series) for run in runs],
        )
    evaluate_all(engine, settings, NOW)
    [instance] = instances(engine)
    assert instance["last_value"] == 0.8
    assert instance["annotations"]["forecast_at"].startswith("2026-03-02T15:00")


def test_evaluation_uses_a_fixed_number_of_statements_whatever_the_number_of_rules(
    engine, settings
):
    def statements_for_one_cycle():
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            evaluate_all(engine, settings, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    add_rule(engine, threshold_spec(name="r0"))
    put_value(engine, SHEKOU, CLEARANCE, 50)
    evaluate_all(engine, settings, NOW)
    few = statements_for_one_cycle()
    for n in range(1, 20):
        add_rule(engine, threshold_spec(name=f"r{n}", node_id="CN" if n % 2 else "5300"))
    evaluate_all(engine, settings, NOW)
    assert statements_for_one_cycle() == few


def test_the_default_rules_evaluate_a_real_metrics_cycle(engine, settings):
    from alerter.rules.defaults import seed_default_rules
    from collector.rollup import metrics_cycle

    store_events(
        engine,
        [
            ev("a", "arrived", 0, SHEKOU, hazard_class="3", un_number="1203"),
            ev("b", "arrived", 100, SHEKOU, hazard_class="3", un_number="1203"),
        ],
    )
    with engine.begin() as conn:
        seed_default_rules(conn)
    at = T0 + timedelta(hours=130)  # lot a is 10 h past its 120 h deadline
    metrics_cycle(engine, at)
    result = evaluate_all(engine, settings, at)
    assert result.errors == {}
    firing = {
        (i["labels"]["alertname"], i["node_id"], i["labels"].get("lot_id"))
        for i in instances(engine)
        if i["state"] == "Firing"
    }
    assert ("hazardous_overdue", SHEKOU, None) in firing
    assert ("hazardous_deadline_12h", SHEKOU, "a") in firing
    health = rows(
        engine, "SELECT r.name, s.health FROM alert_rule_status s JOIN alert_rule r USING (rule_id)"
    )
    # No forecast and no lot released in 24 h (so no clearance time): those two have no data.
    assert {h["name"] for h in health if h["health"] == "nodata"} == {
        "clearance_slow_forecast",
        "clearance_slow",
    }
    assert len(health) == 6

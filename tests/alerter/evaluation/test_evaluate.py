from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerter.evaluation.alert_state import State
from alerter.evaluation.evaluate import MISSING_EVALS, evaluate, evaluate_error, resolve_gone
from alerter.evaluation.observations import Observation
from alerter.rules.kinds import parse_rule
from tests.alert_rules import threshold_spec

T0 = datetime(2026, 3, 2, tzinfo=UTC)
SITE = "5304-SHEKOU"


def rule(**changes):
    return parse_rule(threshold_spec(**changes))


def obs(value, site=SITE, **extra):
    labels = {"node": site, "site": site}
    return Observation(labels, site, value, context={"site_name": site, "node_name": site}, **extra)


class Run:
    """Feeds evaluate() one evaluation at a time, carrying states like evaluation.py does."""

    def __init__(self, rule):
        self.rule = rule
        self.previous = {}
        self.transitions = []

    def at(self, minutes, *values, observations=None):
        observations = observations if observations is not None else [obs(v) for v in values]
        outcome = evaluate(
            7, self.rule, observations, self.previous, T0 + timedelta(minutes=minutes)
        )
        self._apply(outcome)
        return outcome

    def _apply(self, outcome):
        for instance in outcome.instances:
            self.previous[instance.fingerprint] = instance
        for fp in outcome.removed:
            self.previous.pop(fp, None)
        self.transitions += outcome.transitions

    def states(self, *steps):
        """The state after each (minutes, value) step, in order."""
        states = []
        for minutes, value in steps:
            self.at(minutes, value)
            states.append(self.state)
        return states

    @property
    def state(self):
        states = [i.state for i in self.previous.values()]
        assert len(states) <= 1
        return states[0] if states else State.NORMAL

    @property
    def notified(self):
        return [t.notify for t in self.transitions if t.notify]


def test_a_breach_without_for_fires_at_once_and_tells_the_outbox():
    run = Run(rule())
    outcome = run.at(0, 50)
    assert run.state is State.FIRING
    assert [t.notify for t in outcome.transitions] == ["firing"]
    assert outcome.instances[0].fired_at == T0


def test_a_value_at_the_threshold_does_not_breach_a_strict_operator():
    run = Run(rule())
    run.at(0, 48)
    assert run.state is State.NORMAL and not run.transitions
    run = Run(rule(operator=">="))
    run.at(0, 48)
    assert run.state is State.FIRING


def test_for_holds_the_instance_pending_until_the_duration_has_passed():
    run = Run(rule(**{"for": "5m"}))
    run.at(0, 50)
    assert run.state is State.PENDING and run.notified == []
    run.at(4, 51)
    assert run.state is State.PENDING
    run.at(5, 52)
    assert run.state is State.FIRING and run.notified == ["firing"]
    firing = next(iter(run.previous.values()))
    assert firing.fired_at == T0 + timedelta(minutes=5)


def test_one_false_evaluation_while_pending_resets_the_for_clock():
    run = Run(rule(**{"for": "5m"}))
    run.at(0, 50)
    run.at(3, 40)
    assert run.state is State.NORMAL and run.previous == {}
    run.at(4, 50)
    run.at(8, 50)
    assert run.state is State.PENDING
    run.at(9, 50)
    assert run.state is State.FIRING
    assert run.notified == ["firing"]


def test_pending_that_clears_sends_nothing():
    run = Run(rule(**{"for": "10m"}))
    run.at(0, 60)
    run.at(1, 30)
    assert run.notified == []
    assert [(t.from_state, t.to_state) for t in run.transitions] == [
        (None, State.PENDING),
        (State.PENDING, State.NORMAL),
    ]


def test_hysteresis_keeps_firing_between_the_recovery_and_the_threshold():
    run = Run(rule(recovery_threshold=40))
    run.at(0, 50)
    run.at(1, 45)  # below 48 but above 40: still firing
    assert run.state is State.FIRING
    run.at(2, 41)
    assert run.state is State.FIRING
    run.at(3, 40)  # not > 40: recovered
    assert run.state is State.NORMAL
    assert run.notified == ["firing", "resolved"]


def test_hysteresis_does_not_start_an_alert_inside_the_band():
    run = Run(rule(recovery_threshold=40))
    run.at(0, 45)
    assert run.state is State.NORMAL


def test_a_flapping_value_fires_once_with_hysteresis_and_many_times_without():
    values = [49, 46, 49, 45, 50, 44, 49, 39]
    with_band, without = Run(rule(recovery_threshold=40)), Run(rule())
    for minute, value in enumerate(values):
        with_band.at(minute, value)
        without.at(minute, value)
    assert with_band.notified == ["firing", "resolved"]
    assert without.notified.count("firing") == 4


def test_hysteresis_works_for_a_below_threshold():
    run = Run(rule(operator="<", threshold=10, recovery_threshold=15))
    assert run.states((0, 9), (1, 12), (2, 15)) == [State.FIRING, State.FIRING, State.NORMAL]


def test_keep_firing_for_goes_through_recovering_before_resolving():
    run = Run(rule(keep_firing_for="10m"))
    run.at(0, 50)
    run.at(1, 30)
    assert run.state is State.RECOVERING and run.notified == ["firing"]
    run.at(10, 30)
    assert run.state is State.RECOVERING
    run.at(11, 30)
    assert run.state is State.NORMAL and run.notified == ["firing", "resolved"]


def test_a_breach_while_recovering_returns_to_firing_without_a_new_notification():
    run = Run(rule(keep_firing_for="10m"))
    run.at(0, 50)
    run.at(1, 30)
    run.at(2, 55)
    assert run.state is State.FIRING
    assert run.notified == ["firing"]
    assert next(iter(run.previous.values())).fired_at == T0


def test_for_and_keep_firing_for_combine():
    run = Run(rule(**{"for": "2m", "keep_firing_for": "3m"}))
    states = []
    for minute, value in [(0, 50), (1, 50), (2, 50), (3, 10), (5, 10), (6, 10)]:
        run.at(minute, value)
        states.append(run.state)
    assert states == [
        State.PENDING,
        State.PENDING,
        State.FIRING,
        State.RECOVERING,
        State.RECOVERING,
        State.NORMAL,
    ]


def test_instances_are_per_series_and_independent():
    run = Run(rule())
    outcome = run.at(0, observations=[obs(50, "A"), obs(10, "B"), obs(60, "C")])
    assert sorted(i.node_id for i in outcome.instances) == ["A", "C"]
    assert outcome.evaluated == 3


def test_a_normal_series_that_stays_normal_costs_nothing():
    outcome = Run(rule()).at(0, 10)
    assert outcome.instances == [] and outcome.removed == [] and outcome.transitions == []


def test_a_series_missing_while_others_report_resolves_after_two_evaluations():
    run = Run(rule())
    run.at(0, observations=[obs(50, "A"), obs(10, "B")])
    run.at(1, observations=[obs(10, "B")])
    assert run.state is State.FIRING
    run.at(2, observations=[obs(10, "B")])
    assert MISSING_EVALS == 2
    assert run.state is State.NORMAL
    assert run.transitions[-1].reason == "series missing for 2 evaluations"
    assert run.notified == ["firing", "resolved"]


def test_a_missing_series_that_returns_keeps_its_instance():
    run = Run(rule())
    run.at(0, observations=[obs(50, "A"), obs(10, "B")])
    run.at(1, observations=[obs(10, "B")])
    run.at(2, observations=[obs(51, "A"), obs(10, "B")])
    assert run.state is State.FIRING
    assert next(iter(run.previous.values())).missing_evals == 0


def test_no_data_at_all_puts_instances_in_nodata_and_holds_the_notification():
    run = Run(rule())
    run.at(0, 50)
    outcome = run.at(1, observations=[])
    assert outcome.health == "nodata"
    assert run.state is State.NODATA
    assert run.notified == ["firing"]
    run.at(2, 52)  # data is back and still breaching: no second firing notification
    assert run.state is State.FIRING and run.notified == ["firing"]
    run.at(3, 10)
    assert run.notified == ["firing", "resolved"]


def test_no_data_with_nothing_known_just_marks_the_rule():
    outcome = Run(rule()).at(0, observations=[])
    assert outcome.health == "nodata" and outcome.instances == []


@pytest.mark.parametrize(
    ("mapping", "expected", "notified"),
    [
        ("Alerting", State.FIRING, ["firing"]),
        ("Normal", State.NORMAL, ["firing", "resolved"]),
        ("KeepLast", State.FIRING, ["firing"]),
        ("NoData", State.NODATA, ["firing"]),
    ],
)
def test_the_no_data_state_mapping_decides_what_a_missing_value_means(mapping, expected, notified):
    run = Run(rule(no_data_state=mapping))
    run.at(0, 50)
    run.at(1, None)
    assert run.state is expected
    assert run.notified == notified


def test_no_data_mapped_to_alerting_respects_for():
    run = Run(rule(no_data_state="Alerting", **{"for": "5m"}))
    run.at(0, None)
    assert run.state is State.PENDING
    run.at(5, None)
    assert run.state is State.FIRING


def test_an_evaluation_error_puts_instances_in_error_and_keeps_the_message():
    run = Run(rule())
    run.at(0, 50)
    outcome = evaluate_error(7, run.rule, run.previous, T0 + timedelta(minutes=1), "boom")
    assert outcome.health == "error" and outcome.error == "boom"
    assert outcome.instances[0].state is State.ERROR
    assert outcome.instances[0].error == "boom"
    assert outcome.transitions[0].notify is None
    assert outcome.transitions[0].reason == "evaluation error: boom"


def test_an_error_mapped_to_normal_resolves():
    run = Run(rule(error_state="Normal"))
    run.at(0, 50)
    outcome = evaluate_error(7, run.rule, run.previous, T0, "boom")
    assert outcome.removed and outcome.transitions[0].notify == "resolved"


def test_a_rule_that_cannot_even_be_loaded_marks_its_instances_error():
    run = Run(rule())
    run.at(0, 50)
    outcome = evaluate_error(7, None, run.previous, T0, "spec: invalid")
    assert outcome.instances[0].state is State.ERROR


def test_a_deleted_rule_resolves_what_it_had_announced():
    run = Run(rule(**{"for": "5m"}))
    run.at(0, observations=[obs(50, "A")])
    run.at(5, observations=[obs(50, "A"), obs(50, "B")])
    outcome = resolve_gone(7, run.previous, T0 + timedelta(minutes=6), "rule deleted")
    assert sorted(t.notify or "-" for t in outcome.transitions) == ["-", "resolved"]
    assert len(outcome.removed) == 2 and outcome.instances == []


def test_fingerprints_are_stable_and_labels_carry_rule_and_series():
    first = Run(rule(labels={"team": "ops"})).at(0, 50).instances[0]
    again = Run(rule(labels={"team": "ops"})).at(9, 60).instances[0]
    assert first.fingerprint == again.fingerprint
    assert first.labels == {
        "alertname": "clearance_slow",
        "severity": "warning",
        "kind": "threshold",
        "team": "ops",
        "node": SITE,
        "site": SITE,
    }


def test_annotations_render_templates_with_value_site_and_threshold():
    run = Run(
        rule(
            annotations={
                "summary": "{{ site_name }}: {{ value }} > {{ threshold }}",
                "runbook_url": "https://wiki/rb",
            },
            description="slow",
        )
    )
    instance = run.at(0, 50.5).instances[0]
    assert instance.annotations["summary"] == "5304-SHEKOU: 50.5 > 48"
    assert instance.annotations["runbook_url"] == "https://wiki/rb"
    assert instance.annotations["threshold"] == "48"
    assert instance.annotations["description"] == "slow"


def test_a_template_that_fails_at_render_time_yields_its_error_not_an_exception():
    run = Run(rule(annotations={"summary": "{{ value / 0 }}"}))
    instance = run.at(0, 50).instances[0]
    assert instance.annotations["summary"].startswith("[template error: ZeroDivisionError")


def test_the_effective_rule_of_an_observation_sets_its_threshold():
    base = rule()
    tighter = base.tuned(36)
    outcome = Run(base).at(0, observations=[obs(40, "A", rule=tighter), obs(40, "B")])
    assert [i.node_id for i in outcome.instances] == ["A"]
    assert outcome.instances[0].annotations["threshold"] == "36"


def test_a_forecast_rule_fires_on_the_crossing_probability():
    forecast = parse_rule(
        {
            "name": "f",
            "kind": "forecast",
            "indicator": "x",
            "threshold": 40,
            "horizon_hours": 6,
            "min_probability": 0.7,
        }
    )
    run = Run(forecast)
    run.at(0, 0.65)
    assert run.state is State.NORMAL
    run.at(1, 0.7)
    assert run.state is State.FIRING


def test_a_deadline_rule_fires_within_hours_before_or_on_a_predicted_breach():
    deadline = parse_rule(
        {"name": "d", "kind": "deadline", "hours_before": 12, "min_breach_probability": 0.8}
    )
    run = Run(deadline)
    run.at(0, 20)
    assert run.state is State.NORMAL
    run.at(1, observations=[obs(20, breach=True)])
    assert run.state is State.FIRING
    run = Run(deadline)
    run.at(0, 11.5)
    assert run.state is State.FIRING


def test_a_deadline_rule_with_no_lots_is_healthy_not_nodata():
    deadline = parse_rule({"name": "d", "kind": "deadline", "hours_before": 12})
    assert Run(deadline).at(0, observations=[]).health == "ok"


def test_a_no_data_rule_fires_on_minutes_of_silence():
    silence = parse_rule({"name": "s", "kind": "no_data", "minutes": 15, "for": "5m"})
    states = Run(silence).states((0, 16), (5, 21), (6, 2))
    assert states == [State.PENDING, State.FIRING, State.NORMAL]


def test_nodata_keeps_the_annotations_of_the_last_value():
    run = Run(rule(annotations={"summary": "p90 {{ value | round(1) }} h"}))
    run.at(0, 50.04)
    run.at(1, None)
    instance = next(iter(run.previous.values()))
    assert instance.state is State.NODATA
    assert instance.annotations["summary"] == "p90 50.0 h"


def test_a_new_nodata_instance_renders_a_missing_value_as_a_question_mark():
    run = Run(rule(annotations={"summary": "p90 {{ value | round(1) }} h"}))
    run.at(0, None)
    assert next(iter(run.previous.values())).annotations["summary"] == "p90 ? h"

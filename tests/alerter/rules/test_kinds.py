from __future__ import annotations

from datetime import timedelta

import pytest

from alerter.rules.durations import format_duration, parse_duration
from alerter.rules.kinds import (
    DeadlineRule,
    ForecastRule,
    NoDataRule,
    RuleError,
    ThresholdRule,
    level_problem,
    parse_rule,
)
from tests.alert_rules import threshold_spec as threshold


def errors_of(spec) -> dict[str, str]:
    with pytest.raises(RuleError) as caught:
        parse_rule(spec)
    return dict(caught.value.errors)


def test_a_threshold_rule_parses_with_prometheus_durations():
    rule = parse_rule(threshold(**{"for": "10m", "keep_firing_for": "1h30m"}))
    assert isinstance(rule, ThresholdRule)
    assert rule.for_ == timedelta(minutes=10)
    assert rule.keep_firing_for == timedelta(hours=1, minutes=30)
    assert rule.as_spec()["for"] == "10m"
    assert rule.as_spec()["keep_firing_for"] == "1h30m"


def test_the_spec_round_trips_through_json():
    rule = parse_rule(threshold(recovery_threshold=40, labels={"team": "ops"}))
    assert parse_rule(rule.as_spec()) == rule


def test_each_kind_is_chosen_by_its_kind_field():
    assert isinstance(
        parse_rule(
            {"name": "f", "kind": "forecast", "indicator": "x", "threshold": 40, "horizon_hours": 6}
        ),
        ForecastRule,
    )
    assert isinstance(
        parse_rule({"name": "d", "kind": "deadline", "hours_before": 12}), DeadlineRule
    )
    assert isinstance(parse_rule({"name": "n", "kind": "no_data", "minutes": 15}), NoDataRule)


def test_a_missing_or_unknown_kind_names_the_kind_field():
    assert "kind" in errors_of({"name": "x"})
    assert errors_of({"name": "x", "kind": "magic"})["kind"].startswith("must be one of")


def test_a_validation_error_names_each_field_without_the_kind_prefix():
    errors = errors_of(threshold(operator="=>", threshold="high", severity="urgent"))
    assert errors["operator"].startswith("must be one of")
    assert errors["threshold"] == "must be a number"
    assert errors["severity"].startswith("must be one of")


def test_an_unknown_field_is_refused_by_name():
    assert errors_of(threshold(treshold=3))["treshold"] == "is not a field of this rule kind"


def test_a_bad_duration_names_the_for_field():
    assert "not a duration" in errors_of(threshold(**{"for": "ten minutes"}))["for"]


def test_a_recovery_threshold_past_the_threshold_is_refused():
    assert (
        "at or below threshold 48"
        in errors_of(threshold(recovery_threshold=50))["recovery_threshold"]
    )
    below = threshold(operator="<", threshold=10, recovery_threshold=5)
    assert "at or above threshold 10" in errors_of(below)["recovery_threshold"]


def test_an_annotation_with_an_unknown_variable_names_the_annotation():
    errors = errors_of(threshold(annotations={"summary": "{{ valu }} at {{ site }}"}))
    assert "unknown variable 'valu'" in errors["annotations.summary"]


def test_an_annotation_with_a_syntax_error_names_the_line():
    errors = errors_of(threshold(annotations={"summary": "{{ value "}))
    assert "syntax error on line 1" in errors["annotations.summary"]


def test_kind_specific_template_variables_are_allowed_only_for_their_kind():
    deadline = {
        "name": "d",
        "kind": "deadline",
        "hours_before": 12,
        "annotations": {"summary": "{{ lot_id }} {{ hours_to_deadline | hours }}"},
    }
    parse_rule(deadline)
    assert "annotations.summary" in errors_of(threshold(annotations={"summary": "{{ lot_id }}"}))


def test_labels_the_evaluator_sets_cannot_be_redefined():
    assert "labels.severity" in errors_of(threshold(labels={"severity": "critical"}))


def test_a_deadline_rule_must_watch_sites():
    assert "level" in errors_of(
        {"name": "d", "kind": "deadline", "hours_before": 4, "level": "office"}
    )


def test_a_rule_level_above_its_node_is_refused():
    rule = parse_rule(threshold(node_id="5304", level="customs"))
    assert level_problem(rule, "office") == (
        "level",
        "customs is above the rule's node level office",
    )
    assert level_problem(parse_rule(threshold(node_id="5304")), "office") is None
    assert level_problem(rule, None)[0] == "node_id"


def test_lower_is_stricter_follows_the_operator_and_the_kind():
    assert parse_rule(threshold()).lower_is_stricter()
    assert not parse_rule(threshold(operator="<")).lower_is_stricter()
    assert not parse_rule({"name": "d", "kind": "deadline", "hours_before": 1}).lower_is_stricter()
    assert parse_rule({"name": "n", "kind": "no_data", "minutes": 15}).lower_is_stricter()


def test_tuning_a_threshold_keeps_the_hysteresis_width():
    rule = parse_rule(threshold(recovery_threshold=40))
    tuned = rule.tuned(36)
    assert (tuned.threshold, tuned.recovery_threshold) == (36, 28)
    assert rule.tuned(36, 30).recovery_threshold == 30


def test_describe_reads_as_one_line():
    rule = parse_rule(threshold(recovery_threshold=40, **{"for": "30m"}))
    assert rule.describe() == "clearance_time_p90_hours > 48 (recovers past 40) for 30m"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400), (45, 45)],
)
def test_durations_parse_the_prometheus_way(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5 minutes", "m5", "-5m", "5mm", True])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_format_in_their_shortest_form():
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"

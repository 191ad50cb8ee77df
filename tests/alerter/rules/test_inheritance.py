from __future__ import annotations

from alerter.rules.inheritance import Override, check_new_override, resolve
from alerter.rules.kinds import parse_rule
from tests.alert_rules import threshold_spec

CN, SZ, SHEKOU_OFFICE, SHEKOU = "CN", "5300", "5304", "5304-SHEKOU"
SHEKOU_PATH = (CN, SZ, SHEKOU_OFFICE, SHEKOU)
CHIWAN_PATH = (CN, SZ, SHEKOU_OFFICE, "5304-CHIWAN")
YANGSHAN_PATH = (CN, "2200", "2201", "2201-YANGSHAN")


def rule(policy="tighten_only", **changes):
    spec = threshold_spec(recovery_threshold=40, node_id=CN, override_policy=policy)
    return parse_rule({**spec, **changes})


def at(path, value, recovery=None, policy=None):
    return Override(path[-1], tuple(path), value, recovery, policy)


def test_without_overrides_every_site_gets_the_national_value():
    resolution = resolve(rule(), [])
    effective = resolution.at(SHEKOU_PATH)
    assert (effective.value, effective.recovery_threshold, effective.node_id) == (48, 40, CN)
    assert resolution.rule_at(SHEKOU_PATH) is resolution.rule


def test_a_customs_tightening_applies_to_its_whole_subtree_only():
    resolution = resolve(rule(), [at((CN, SZ), 36)])
    assert resolution.at(SHEKOU_PATH).value == 36
    assert resolution.at(CHIWAN_PATH).node_id == SZ
    assert resolution.at(YANGSHAN_PATH).value == 48


def test_an_override_without_recovery_keeps_the_parents_hysteresis_width():
    effective = resolve(rule(), [at((CN, SZ), 36)]).at(SHEKOU_PATH)
    assert effective.recovery_threshold == 28
    tuned = resolve(rule(), [at((CN, SZ), 36)]).rule_at(SHEKOU_PATH)
    assert (tuned.threshold, tuned.recovery_threshold) == (36, 28)


def test_tighten_only_refuses_a_looser_value_and_says_why():
    resolution = resolve(rule(), [at((CN, SZ), 60)])
    assert resolution.at(SHEKOU_PATH).value == 48
    reason = resolution.refused[SZ].reason
    assert "refused: policy tighten_only at CN allows only values at or below 48" in reason
    assert "60 is looser" in reason


def test_tighten_means_higher_for_a_below_threshold():
    low = rule(operator="<", threshold=10, recovery_threshold=12)
    resolution = resolve(low, [at((CN, SZ), 15), at((CN, "2200"), 5)])
    assert resolution.at(SHEKOU_PATH).value == 15
    assert "2200" in resolution.refused


def test_tighten_means_more_hours_ahead_for_a_deadline_rule():
    deadline = parse_rule({"name": "d", "kind": "deadline", "hours_before": 12, "node_id": CN})
    resolution = resolve(deadline, [at((CN, SZ), 24), at((CN, "2200"), 6)])
    assert resolution.at(SHEKOU_PATH).value == 24
    assert resolution.rule_at(SHEKOU_PATH).hours_before == 24
    assert "2200" in resolution.refused


def test_policy_none_refuses_every_override():
    resolution = resolve(rule("none"), [at((CN, SZ), 36)])
    assert "policy none at CN allows no overrides" in resolution.refused[SZ].reason


def test_policy_any_accepts_a_looser_value():
    resolution = resolve(rule("any"), [at((CN, SZ), 60)])
    assert resolution.at(SHEKOU_PATH).value == 60
    assert "looser than 48 from CN" in resolution.at(SHEKOU_PATH).chain[-1].reason


def test_a_child_is_judged_against_its_nearest_accepted_ancestor():
    overrides = [at((CN, SZ), 36), at((CN, SZ, SHEKOU_OFFICE), 40)]
    resolution = resolve(rule(), overrides)
    assert resolution.at(SHEKOU_PATH).value == 36
    assert "at or below 36" in resolution.refused[SHEKOU_OFFICE].reason


def test_a_refused_parent_does_not_block_a_valid_grandchild():
    resolution = resolve(rule(), [at((CN, SZ), 60), at((CN, SZ, SHEKOU_OFFICE), 44)])
    assert resolution.at(SHEKOU_PATH).value == 44
    assert resolution.at(SHEKOU_PATH).chain[-1].reason.endswith("from CN (policy tighten_only)")


def test_an_override_can_narrow_the_policy_for_its_subtree_but_not_widen_it():
    narrowed = resolve(
        rule("any"), [at((CN, SZ), 50, policy="none"), at((CN, SZ, SHEKOU_OFFICE), 70)]
    )
    assert narrowed.at(SHEKOU_PATH).value == 50
    assert "policy none at 5300" in narrowed.refused[SHEKOU_OFFICE].reason
    widened = resolve(rule(), [at((CN, SZ), 40, policy="any"), at((CN, SZ, SHEKOU_OFFICE), 45)])
    assert widened.at((CN, SZ)).policy == "tighten_only"
    assert SHEKOU_OFFICE in widened.refused


def test_a_parent_tightening_later_turns_a_childs_override_into_a_refusal():
    before = resolve(rule(), [at((CN, SZ), 40)])
    assert before.at(SHEKOU_PATH).value == 40
    after = resolve(rule(threshold=30, recovery_threshold=25), [at((CN, SZ), 40)])
    assert after.at(SHEKOU_PATH).value == 30
    assert SZ in after.refused


def test_an_override_outside_the_rules_subtree_is_refused():
    office_rule = rule(node_id=SHEKOU_OFFICE)
    resolution = resolve(office_rule, [at(("CN", "2200"), 30), at((CN, SZ, SHEKOU_OFFICE), 30)])
    assert "not below the rule's node" in resolution.refused["2200"].reason
    assert "not below the rule's node" in resolution.refused[SHEKOU_OFFICE].reason


def test_a_recovery_past_the_overridden_threshold_is_refused():
    resolution = resolve(rule(), [at((CN, SZ), 36, recovery=38)])
    assert "recovery 38 is past the threshold" in resolution.refused[SZ].reason


def test_the_reason_chain_lists_base_accepted_and_refused_steps_in_depth_order():
    overrides = [at((CN, SZ, SHEKOU_OFFICE), 50), at((CN, SZ), 36), at(SHEKOU_PATH, 30)]
    steps = resolve(rule(), overrides).explain(SHEKOU_PATH)
    assert [(s.node_id, s.outcome) for s in steps] == [
        (CN, "base"),
        (SZ, "accepted"),
        (SHEKOU_OFFICE, "refused"),
        (SHEKOU, "accepted"),
    ]
    assert steps[0].reason == "CN set threshold > 48 (recovery 40); override policy tighten_only"


def test_checking_a_new_override_answers_the_refusal_reason_or_none():
    existing = [at((CN, SZ), 36)]
    assert check_new_override(rule(), existing, at((CN, SZ, SHEKOU_OFFICE), 30)) is None
    refusal = check_new_override(rule(), existing, at((CN, SZ, SHEKOU_OFFICE), 40))
    assert refusal is not None and "at or below 36" in refusal
    # Replacing the node's own override is judged against its parent, not against itself.
    assert check_new_override(rule(), existing, at((CN, SZ), 30)) is None

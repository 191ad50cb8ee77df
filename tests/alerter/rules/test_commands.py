from __future__ import annotations

import pytest
from alert_rules import rows
from sqlalchemy import text

from alerter.commands import register
from alerter.rules.defaults import default_rules, seed_default_rules
from tests.command_line import quaywatch_runner

RULES = """
rules:
  - name: clearance_slow
    kind: threshold
    indicator: clearance_time_p90_hours
    threshold: 48
    recovery_threshold: 40
    for: 30m
  - name: feed_silent
    kind: no_data
    minutes: 15
    node_id: "5300"
"""


@pytest.fixture
def run(settings, monkeypatch):
    return quaywatch_runner(settings, monkeypatch, register)


def test_rules_apply_creates_then_updates_by_name_and_list_shows_them(run, engine, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    first = run("rules", "apply", str(path))
    assert first.exit_code == 0, first.output
    assert "created   clearance_slow" in first.output and "2 created, 0 updated" in first.output
    path.write_text(RULES.replace("threshold: 48", "threshold: 44"))
    second = run("rules", "apply", str(path))
    assert "updated   clearance_slow" in second.output
    assert "unchanged feed_silent" in second.output
    listed = run("rules", "list")
    assert "clearance_time_p90_hours > 44 (recovers past 40) for 30m" in listed.output
    assert "feed_silence > 15 min" in listed.output and "5300" in listed.output
    audit = rows(engine, "SELECT actor, action FROM audit_log ORDER BY audit_id")
    assert [a["action"] for a in audit] == ["create", "create", "update"]
    assert audit[0]["actor"].startswith("cli:")


def test_rules_apply_names_the_file_rule_and_field_and_changes_nothing(run, engine, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        RULES.replace("threshold: 48", "threshold: high").replace("minutes: 15", "minutes: -1")
    )
    result = run("rules", "apply", str(path))
    assert result.exit_code == 1
    assert f"{path}: rule clearance_slow (#1): threshold: must be a number" in result.output
    assert f"{path}: rule feed_silent (#2): minutes:" in result.output
    assert rows(engine, "SELECT * FROM alert_rule") == []


def test_rules_apply_reports_an_unknown_node_and_bad_yaml(run, engine, tmp_path):
    unknown = tmp_path / "node.yaml"
    unknown.write_text(RULES.replace('node_id: "5300"', 'node_id: "9999"'))
    result = run("rules", "apply", str(unknown))
    assert result.exit_code == 1
    assert "rule feed_silent (#2): node_id: unknown org node '9999'" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n  - name: x\n")
    assert "invalid YAML" in run("rules", "apply", str(broken)).output
    assert rows(engine, "SELECT * FROM alert_rule") == []


def test_rules_apply_with_dry_run_saves_nothing(run, engine, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    result = run("rules", "apply", "--dry-run", str(path))
    assert "2 created, 0 updated (dry run: nothing saved)" in result.output
    assert rows(engine, "SELECT * FROM alert_rule") == []


def test_a_repeated_rule_name_in_a_file_is_refused(run, tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(RULES.replace("feed_silent", "clearance_slow"))
    assert "name: repeats rule #1" in run("rules", "apply", str(path)).output


def test_the_shipped_default_rules_are_valid_and_national():
    rules = default_rules()
    assert {r.name for r in rules} >= {
        "hazardous_overdue",
        "hazardous_near_deadline",
        "clearance_slow",
        "feed_silent",
        "hazardous_deadline_12h",
    }
    assert all(r.node_id == "CN" for r in rules)


def test_seeding_default_rules_is_idempotent_and_keeps_tuned_values(engine):
    with engine.begin() as conn:
        created = seed_default_rules(conn)
    assert created == len(default_rules())
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE alert_rule SET spec = jsonb_set(spec, '{threshold}', '44')"
                " WHERE name = 'clearance_slow'"
            )
        )
        assert seed_default_rules(conn) == 0
    [tuned] = rows(engine, "SELECT spec FROM alert_rule WHERE name = 'clearance_slow'")
    assert tuned["spec"]["threshold"] == 44

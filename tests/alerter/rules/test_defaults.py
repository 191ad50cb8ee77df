"""Shipped default rules: a database seeded before a default changed is brought up to date,
unless a person changed the rule."""

from __future__ import annotations

from alert_rules import rows

from alerter.rules import reads, store
from alerter.rules.defaults import (
    SEED_ACTOR,
    default_rules,
    seed_default_rules,
    superseded_default_rules,
    upgrade_superseded_defaults,
)

OLD_FEED_SILENT = next(r for r in superseded_default_rules() if r.name == "feed_silent")


def seed_as_an_earlier_release(conn) -> None:
    """The state of a database seeded when feed_silent still used one fixed window."""
    store.create_rule(conn, OLD_FEED_SILENT, SEED_ACTOR)
    seed_default_rules(conn)


def test_every_superseded_version_parses_and_differs_from_todays_default():
    today = {rule.name: rule.as_spec() for rule in default_rules()}
    earlier = superseded_default_rules()
    assert earlier, "the file lists at least the fixed-window feed_silent"
    for rule in earlier:
        assert rule.name in today, f"{rule.name} is no longer a default rule"
        assert rule.as_spec() != today[rule.name]


def test_a_default_still_as_shipped_earlier_is_upgraded_and_audited(engine):
    with engine.begin() as conn:
        seed_as_an_earlier_release(conn)
        before = reads.get_rule_by_name(conn, "feed_silent")
        assert before is not None and before.spec.get("expected") != "learned"
        assert upgrade_superseded_defaults(conn) == ["feed_silent"]
        after = reads.get_rule_by_name(conn, "feed_silent")
    assert after is not None
    assert after.spec["expected"] == "learned"
    assert after.version == before.version + 1
    [audit] = rows(
        engine, "SELECT actor, action FROM audit_log WHERE action = 'update' ORDER BY audit_id"
    )
    assert audit == {"actor": "seed", "action": "update"}


def test_upgrading_twice_changes_nothing_the_second_time(engine):
    with engine.begin() as conn:
        seed_as_an_earlier_release(conn)
        upgrade_superseded_defaults(conn)
        version = reads.get_rule_by_name(conn, "feed_silent").version
        assert upgrade_superseded_defaults(conn) == []
        assert reads.get_rule_by_name(conn, "feed_silent").version == version


def test_a_rule_a_person_changed_is_never_overwritten(engine):
    tuned = OLD_FEED_SILENT.model_copy(update={"minutes": 30})
    with engine.begin() as conn:
        seed_as_an_earlier_release(conn)
        stored = reads.get_rule_by_name(conn, "feed_silent")
        store.update_rule(conn, stored, tuned, store.Actor("ops@CN"))
        assert upgrade_superseded_defaults(conn) == []
        kept = reads.get_rule_by_name(conn, "feed_silent")
    assert kept.spec["minutes"] == 30
    assert kept.spec.get("expected") != "learned"


def test_a_freshly_seeded_database_needs_no_upgrade(engine):
    with engine.begin() as conn:
        seed_default_rules(conn)
        assert upgrade_superseded_defaults(conn) == []

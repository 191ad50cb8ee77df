"""The evaluation step during a database outage: a dropped connection is retried on a fresh
one, and an outage goes up as one "unavailable" error, never as an error on every rule."""

from __future__ import annotations

import logging

import pytest
from alert_rules import NOW, add_rule, instances, put_value, threshold_spec
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from alerter.evaluation import step as evaluation
from alerter.evaluation.step import evaluate_all
from quaywatch.db import is_unavailable

CLEARANCE = "clearance_time_p90_hours"
SHEKOU = "5304-SHEKOU"


def kill_own_backend_on(monkeypatch, times: int) -> list[int]:
    """The first ``times`` batch queries lose their connection, as when the server restarts
    or an operator runs pg_terminate_backend mid-step."""
    real_observe, killed = evaluation.observe, []

    def observe(conn, kind, targets, world, now, previous):
        if len(killed) < times:
            killed.append(len(targets))
            conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return real_observe(conn, kind, targets, world, now, previous)

    monkeypatch.setattr(evaluation, "observe", observe)
    return killed


def two_rules(engine) -> None:
    add_rule(engine, threshold_spec(name="first"))
    add_rule(engine, threshold_spec(name="second"))
    put_value(engine, SHEKOU, CLEARANCE, 50)


def test_a_connection_killed_mid_step_is_retried_on_a_fresh_one(engine, settings, monkeypatch):
    two_rules(engine)
    killed = kill_own_backend_on(monkeypatch, times=1)
    result = evaluate_all(engine, settings, NOW)
    assert killed == [2]  # the batch query, once; never rule by rule on the dead connection
    assert result.errors == {}
    assert {i["labels"]["alertname"] for i in instances(engine)} == {"first", "second"}


def test_an_outage_goes_up_as_one_unavailable_error_not_an_error_per_rule(
    engine, settings, monkeypatch, caplog
):
    two_rules(engine)
    killed = kill_own_backend_on(monkeypatch, times=99)
    with caplog.at_level(logging.DEBUG, logger="alerter.evaluation.step"):
        with pytest.raises(DBAPIError) as raised:
            evaluate_all(engine, settings, NOW)
    assert killed == [2, 2]  # the first try and one retry on a fresh connection
    assert is_unavailable(raised.value)  # so the scheduler's outage guard logs it once
    assert "PendingRollbackError" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    killed.clear()  # the database is back: the next cycle evaluates as usual
    killed.extend([0] * 99)
    assert evaluate_all(engine, settings, NOW).errors == {}
    assert {i["labels"]["alertname"] for i in instances(engine)} == {"first", "second"}

"""A claim is tied to the dispatcher session that made it (sending.owner, sql/0105)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from alerter.delivery.dispatch import dispatch_once, flush_groups, route_events
from alerter.delivery.sending.owner import OWNER_LOCK_CLASS, owner_of
from tests.alerter.helpers import T0, create_channel, emit, rows
from tests.fakes.recording_receiver import RecordingReceiver

OTHER = 4242  # another dispatcher's owner id


@pytest.fixture
def receiver():
    with RecordingReceiver() as server:
        yield server


@pytest.fixture
def claimed_by_other(engine, receiver):
    """One notification claimed (lease until T0 + 120 s) by the dispatcher OTHER."""
    create_channel(engine, "webhook", {"url": receiver.url}, group_wait_s=0)
    emit(engine)
    route_events(engine, T0)
    flush_groups(engine, T0)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE notification SET state = 'sending', claimed_until = %s,"
            " claim_token = gen_random_uuid(), claim_owner = %s",
            (T0 + timedelta(seconds=120), OTHER),
        )


@pytest.fixture
def other_alive(db_url):
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", (OWNER_LOCK_CLASS, OTHER))
        yield conn


def state(engine) -> str:
    return rows(engine, "SELECT state FROM notification")[0]["state"]


def test_a_claim_whose_dispatcher_session_is_gone_is_sent_at_once(
    engine, settings, receiver, claimed_by_other
):
    dispatch_once(engine, settings, T0 + timedelta(seconds=1))
    assert state(engine) == "sent"
    assert len(receiver.accepted()) == 1


def test_a_claim_of_a_live_dispatcher_is_left_to_it_until_its_lease_ends(
    engine, settings, receiver, claimed_by_other, other_alive
):
    dispatch_once(engine, settings, T0 + timedelta(seconds=1))
    assert state(engine) == "sending" and receiver.accepted() == []
    dispatch_once(engine, settings, T0 + timedelta(seconds=121))  # hung but connected
    assert state(engine) == "sent"


def test_a_claim_is_freed_once_its_dispatcher_disconnects(
    engine, settings, receiver, claimed_by_other, other_alive
):
    dispatch_once(engine, settings, T0 + timedelta(seconds=1))
    assert state(engine) == "sending"
    other_alive.close()
    dispatch_once(engine, settings, T0 + timedelta(seconds=2))
    assert state(engine) == "sent"


def test_claims_carry_this_dispatchers_owner_id(engine, settings, receiver):
    create_channel(engine, "webhook", {"url": receiver.url}, group_wait_s=0)
    emit(engine)
    dispatch_once(engine, settings, T0)
    (row,) = rows(engine, "SELECT claim_owner FROM notification")
    assert row["claim_owner"] == owner_of(engine).current()


def test_a_lost_owner_session_takes_a_new_lock_before_claiming(engine, settings):
    owner = owner_of(engine)
    first = owner.current()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = %s AND objid = %s AND objsubid = 2",
            (OWNER_LOCK_CLASS, first),
        )
    dispatch_once(engine, settings, T0)
    found = rows(
        engine,
        "SELECT objid::bigint AS owner FROM pg_locks WHERE locktype = 'advisory'"
        " AND classid = :k AND objsubid = 2"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        k=OWNER_LOCK_CLASS,
    )
    assert [r["owner"] for r in found] == [owner.current()] != [first]

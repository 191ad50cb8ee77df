"""One row never stops the nation: a null refused at the API, a corrupt row skipped by dispatch."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import text

from alerter.delivery.dispatch import dispatch_once
from tests.alerter.helpers import FAST, T0, create_channel, emit, rows
from tests.fakes.recording_receiver import RecordingReceiver


def step(engine, settings, seconds: float):
    return dispatch_once(engine, settings, T0 + timedelta(seconds=seconds), policy=FAST)


def corrupt(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_a_patch_setting_channel_matchers_to_null_is_refused_naming_the_field(client, auth, engine):
    with RecordingReceiver() as server:
        channel_id = create_channel(engine, "webhook", {"url": server.url})
        response = client.patch(
            f"/api/v1/channels/{channel_id}", json={"matchers": None}, headers=auth
        )

    assert response.status_code == 422, response.json
    assert "matchers" in json.dumps(response.json)
    [stored] = rows(engine, "SELECT matchers FROM channel")
    assert stored["matchers"] == []


def test_a_patch_setting_mute_interval_intervals_to_null_is_refused_naming_the_field(
    client, auth, engine
):
    created = client.post(
        "/api/v1/mute-intervals",
        json={
            "name": "nights",
            "intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.json
    interval_id = created.json["mute_interval_id"]

    response = client.patch(
        f"/api/v1/mute-intervals/{interval_id}", json={"intervals": None}, headers=auth
    )

    assert response.status_code == 422, response.json
    assert "intervals" in json.dumps(response.json)


def test_a_channel_whose_row_cannot_be_parsed_is_skipped_and_the_others_still_deliver(
    engine, settings, caplog
):
    with RecordingReceiver() as good, RecordingReceiver() as other:
        create_channel(engine, "webhook", {"url": good.url}, node_id="3101", group_wait_s=0)
        broken = create_channel(engine, "webhook", {"url": other.url}, group_wait_s=0)
        corrupt(
            engine,
            "UPDATE channel SET matchers = CAST(:m AS jsonb) WHERE channel_id = :c",
            m=json.dumps([{"name": "severity", "op": "~~", "value": "x"}]),
            c=broken,
        )
        emit(engine, node_id="3101-BEILUN")

        with caplog.at_level(logging.WARNING):
            step(engine, settings, 0)
            step(engine, settings, 1)
            step(engine, settings, 2)

        assert len(good.accepted()) == 1
        assert other.arrivals == []
    [state] = rows(engine, "SELECT last_error FROM channel_state WHERE channel_id = :c", c=broken)
    assert "matchers" in state["last_error"]
    skipped = [r for r in caplog.records if f"channel {broken}" in r.getMessage()]
    assert len(skipped) == 1  # logged once, not on every pass


def test_a_corrupt_silence_mute_interval_or_inhibit_source_is_skipped_and_delivery_goes_on(
    engine, settings, client, auth
):
    with RecordingReceiver() as good:
        channel_id = create_channel(engine, "webhook", {"url": good.url}, group_wait_s=0)
        corrupt(
            engine,
            "INSERT INTO silence (node_id, matchers, starts_at, ends_at, created_by, comment)"
            " VALUES ('CN', CAST(:m AS jsonb), :s, :e, 'test', 'broken')",
            m=json.dumps([{"nonsense": True}]),
            s=T0 - timedelta(hours=1),
            e=T0 + timedelta(hours=1),
        )
        corrupt(
            engine,
            "INSERT INTO mute_interval (node_id, name, intervals, time_zone)"
            " VALUES ('CN', 'broken', CAST(:i AS jsonb), 'UTC')",
            i=json.dumps([{"times": "always"}]),
        )
        corrupt(
            engine,
            "INSERT INTO channel_mute_interval (channel_id, mute_interval_id)"
            " SELECT :c, mute_interval_id FROM mute_interval WHERE name = 'broken'",
            c=channel_id,
        )
        emit(engine, node_id="3101-BEILUN")
        corrupt(
            engine,
            "UPDATE active_alert SET labels = CAST(:l AS jsonb)",
            l=json.dumps({"kind": "no_data", "nested": {"not": "a string"}}),
        )
        step(engine, settings, 0)
        step(engine, settings, 1)
        step(engine, settings, 2)

        assert len(good.accepted()) == 1


def test_a_channel_corrupted_after_its_group_formed_is_postponed_and_the_others_flush(
    engine, settings
):
    with RecordingReceiver() as good, RecordingReceiver() as other:
        create_channel(engine, "webhook", {"url": good.url}, group_wait_s=5)
        broken = create_channel(engine, "webhook", {"url": other.url}, group_wait_s=5)
        emit(engine, node_id="3101-BEILUN")
        step(engine, settings, 0)  # both groups formed
        corrupt(
            engine,
            'UPDATE channel SET matchers = CAST(\'{"not": "a list"}\' AS jsonb)'
            " WHERE channel_id = :c",
            c=broken,
        )

        step(engine, settings, 6)
        step(engine, settings, 7)

        assert len(good.accepted()) == 1
        assert other.arrivals == []
    [group] = rows(engine, "SELECT next_flush_at FROM notify_group WHERE channel_id = :c", c=broken)
    assert group["next_flush_at"] > T0 + timedelta(seconds=60)

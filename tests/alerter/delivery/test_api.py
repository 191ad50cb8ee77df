from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerter.delivery import reads
from conftest import make_token
from quaywatch.web import create_app
from tests.alerter.helpers import SECRET, TOKEN, rows
from tests.fakes import im_vendors as replies


def bearer(engine, role="admin", node="CN"):
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def dingtalk_body(receiver, **fields):
    config = {"url": f"{receiver.url}/robot/send?access_token={TOKEN}", "secret": SECRET}
    return {"name": "ningbo-ops", "kind": "dingtalk", "config": config, **fields}


def create(client, headers, payload):
    response = client.post("/api/v1/channels", json=payload, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_a_created_channel_shows_its_secrets_masked_and_never_in_full(client, auth, receiver):
    channel = create(client, auth, dingtalk_body(receiver, node_id="3100"))

    assert channel["config"]["secret"] == "********"
    assert channel["config"]["url"] == f"{receiver.url}/********"
    listed = client.get("/api/v1/channels", headers=auth)
    fetched = client.get(f"/api/v1/channels/{channel['channel_id']}", headers=auth)
    for response in (listed, fetched):
        assert TOKEN not in response.text and SECRET not in response.text
    assert fetched.json["group_wait_s"] == 30 and fetched.json["repeat_interval_s"] == 14400


def test_a_patch_without_secrets_keeps_them_and_a_masked_url_sent_back_changes_nothing(
    client, auth, receiver, engine
):
    channel = create(client, auth, dingtalk_body(receiver))
    shown = channel["config"]

    response = client.patch(
        f"/api/v1/channels/{channel['channel_id']}",
        json={"config": {**shown, "at_mobiles": ["13800000000"]}, "lang": "en"},
        headers=auth,
    )

    assert response.status_code == 200, response.json
    [stored] = rows(engine, "SELECT config, lang FROM channel")
    with engine.connect() as conn:  # stored encrypted (test_secrets_at_rest.py): read opened
        record = reads.channel_record(conn, channel["channel_id"])
    assert record is not None and record.secrets == {
        "url": f"{receiver.url}/robot/send?access_token={TOKEN}",
        "secret": SECRET,
    }
    assert stored["config"]["at_mobiles"] == ["13800000000"] and stored["lang"] == "en"


def test_an_invalid_channel_is_refused_naming_the_field_without_echoing_the_secret(
    client, auth, receiver
):
    bad_url = dingtalk_body(receiver)
    bad_url["config"]["url"] = f"{receiver.url}/robot/send?nope={TOKEN}"
    bad_matcher = dingtalk_body(receiver, matchers=[{"name": "severity", "op": "~", "value": "x"}])

    first = client.post("/api/v1/channels", json=bad_url, headers=auth)
    second = client.post("/api/v1/channels", json=bad_matcher, headers=auth)

    assert first.status_code == 422 and first.json["errors"][0]["field"] == "config.url"
    assert TOKEN not in first.text
    assert second.status_code == 422 and second.json["errors"][0]["field"] == "matchers.0.op"


def test_a_url_that_resolves_to_a_private_address_is_refused_unless_settings_allow_it(
    settings, engine, receiver
):
    client = create_app(settings.replace(allow_private_urls=False), engine).test_client()

    response = client.post("/api/v1/channels", json=dingtalk_body(receiver), headers=bearer(engine))

    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "config.url"
    assert "127.0.0.1" in response.json["detail"] and TOKEN not in response.text


def test_a_token_sees_only_channels_in_its_subtree_in_both_directions(
    client, auth, engine, receiver
):
    national = create(client, auth, dingtalk_body(receiver, name="national"))
    ningbo = create(client, auth, dingtalk_body(receiver, name="ningbo", node_id="3100"))
    shanghai = create(client, auth, dingtalk_body(receiver, name="shanghai", node_id="2200"))
    ningbo_token = bearer(engine, "admin", "3100")

    listed = client.get("/api/v1/channels", headers=ningbo_token).json["items"]

    assert [c["name"] for c in listed] == ["ningbo"]
    for other in (national, shanghai):
        cid = other["channel_id"]
        assert client.get(f"/api/v1/channels/{cid}", headers=ningbo_token).status_code == 404
        assert client.delete(f"/api/v1/channels/{cid}", headers=ningbo_token).status_code == 404
        assert client.post(f"/api/v1/channels/{cid}/test", headers=ningbo_token).status_code == 404
    upward = client.post(
        "/api/v1/channels",
        json=dingtalk_body(receiver, name="x", node_id="CN"),
        headers=ningbo_token,
    )
    assert upward.status_code == 422 and upward.json["errors"][0]["field"] == "node_id"
    fallback = client.post(
        "/api/v1/channels",
        json=dingtalk_body(receiver, name="y", fallback_channel_id=shanghai["channel_id"]),
        headers=ningbo_token,
    )
    assert fallback.status_code == 422
    assert client.get(f"/api/v1/channels/{ningbo['channel_id']}", headers=auth).status_code == 200


def test_viewers_read_operators_silence_and_only_admins_change_channels(client, engine, receiver):
    for role, status in (("viewer", 403), ("operator", 403), ("admin", 201)):
        response = client.post(
            "/api/v1/channels",
            json=dingtalk_body(receiver, name=role),
            headers=bearer(engine, role),
        )
        assert response.status_code == status
    assert client.get("/api/v1/channels", headers=bearer(engine, "viewer")).status_code == 200
    assert client.get("/api/v1/channels").status_code == 401


def test_two_channels_of_one_node_cannot_share_a_name(client, auth, receiver):
    create(client, auth, dingtalk_body(receiver))

    response = client.post("/api/v1/channels", json=dingtalk_body(receiver), headers=auth)

    assert response.status_code == 409


def test_a_test_send_makes_one_attempt_and_reports_the_vendors_answer(
    client, auth, receiver, engine
):
    channel = create(client, auth, dingtalk_body(receiver))
    url = f"/api/v1/channels/{channel['channel_id']}/test"

    ok = client.post(url, headers=auth).json
    receiver.play(replies.DINGTALK_SYSTEM_BUSY)
    busy = client.post(url, headers=auth).json

    assert ok["ok"] is True and ok["vendor_code"] == "0"
    assert busy["ok"] is False and busy["status"] == "retryable" and busy["vendor_code"] == "-1"
    assert len(receiver.requests) == 2  # no retry for a test send
    attempts = rows(
        engine, "SELECT status, test, notification_id FROM delivery_attempt ORDER BY attempt_id"
    )
    assert attempts == [
        {"status": "success", "test": True, "notification_id": None},
        {"status": "retryable", "test": True, "notification_id": None},
    ]
    text = receiver.requests[0].json["markdown"]["text"]
    assert "QuayWatch" in text and "ningbo-ops" in text


def test_a_test_send_is_not_made_when_the_bots_minute_budget_is_spent(client, auth, receiver):
    channel = create(client, auth, dingtalk_body(receiver, rate_per_minute=2))
    url = f"/api/v1/channels/{channel['channel_id']}/test"

    answers = [client.post(url, headers=auth).json for _ in range(3)]

    assert [a["status"] for a in answers] == ["success", "success", "rate_limited"]
    assert len(receiver.requests) == 2


def test_silences_are_created_listed_and_expired_with_their_author(client, engine):
    operator = bearer(engine, "operator", "3100")
    ends = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    payload = {
        "matchers": [{"name": "site", "value": "3101-BEILUN"}],
        "ends_at": ends,
        "comment": "crane maintenance",
    }

    created = client.post("/api/v1/silences", json=payload, headers=operator)
    listed = client.get("/api/v1/silences", headers=operator).json["items"]
    expired = client.delete(f"/api/v1/silences/{created.json['silence_id']}", headers=operator)

    assert created.status_code == 201, created.json
    assert created.json["node_id"] == "3100" and created.json["state"] == "active"
    assert created.json["created_by"] == "test operator@3100"
    assert [s["silence_id"] for s in listed] == [created.json["silence_id"]]
    assert expired.json["state"] == "expired"
    other = client.get(
        f"/api/v1/silences/{created.json['silence_id']}", headers=bearer(engine, "viewer", "2200")
    )
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2020-01-01T00:00:00+00:00"}, "ends_at"),
        ({"ends_at": "2099-01-01T00:00:00"}, "ends_at"),
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "site", "op": "=~", "value": "("}]}, "matchers.0.value"),
        ({"comment": ""}, "comment"),
    ],
)
def test_an_invalid_silence_is_refused_naming_the_field(client, auth, change, field):
    payload = {
        "matchers": [{"name": "site", "value": "3101-BEILUN"}],
        "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "comment": "c",
        **change,
    }

    response = client.post("/api/v1/silences", json=payload, headers=auth)

    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == field


def test_mute_intervals_are_validated_and_attached_to_channels(client, auth, receiver):
    night = {
        "name": "night shift",
        "intervals": [
            {"times": [{"start_time": "22:00", "end_time": "06:00"}], "weekdays": ["monday:friday"]}
        ],
    }
    bad = {**night, "name": "bad", "intervals": [{"weekdays": ["funday"]}]}

    created = client.post("/api/v1/mute-intervals", json=night, headers=auth)
    refused = client.post("/api/v1/mute-intervals", json=bad, headers=auth)
    channel = create(
        client, auth, dingtalk_body(receiver, mute_interval_ids=[created.json["mute_interval_id"]])
    )

    assert created.status_code == 201 and created.json["time_zone"] == "Asia/Shanghai"
    assert (
        refused.status_code == 422 and refused.json["errors"][0]["field"] == "intervals.0.weekdays"
    )
    assert channel["mute_interval_ids"] == [created.json["mute_interval_id"]]
    duplicate = client.post("/api/v1/mute-intervals", json=night, headers=auth)
    assert duplicate.status_code == 409


def test_lists_are_paged(client, auth, receiver):
    for index in range(3):
        create(client, auth, dingtalk_body(receiver, name=f"c{index}"))

    first = client.get("/api/v1/channels?limit=2", headers=auth).json
    second = client.get(
        f"/api/v1/channels?limit=2&offset={first['next_offset']}", headers=auth
    ).json

    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_offset"] is None
    assert client.get("/api/v1/channels?limit=0", headers=auth).status_code == 400


def test_deliveries_are_listed_per_subtree_and_groups_say_when_and_why_they_notify_next(
    client, auth, engine, settings, receiver
):
    from alerter.delivery.dispatch import dispatch_once
    from tests.alerter.helpers import FAST, T0, emit

    ningbo = create(client, auth, dingtalk_body(receiver, node_id="3100", group_wait_s=0))
    create(
        client,
        auth,
        dingtalk_body(receiver, name="national", matchers=[{"name": "x", "value": "y"}]),
    )
    emit(engine)
    dispatch_once(engine, settings, T0, policy=FAST)

    mine = client.get("/api/v1/deliveries?status=success", headers=bearer(engine, "viewer", "3100"))
    theirs = client.get("/api/v1/deliveries", headers=bearer(engine, "viewer", "2200"))
    groups = client.get(f"/api/v1/channels/{ningbo['channel_id']}/groups", headers=auth).json

    assert [d["channel_id"] for d in mine.json["items"]] == [ningbo["channel_id"]]
    assert mine.json["items"][0]["vendor_code"] == "0" and mine.json["items"][0]["error"] is None
    assert theirs.json["items"] == []
    [group] = groups["items"]
    assert group["next_reason"] == "repeat_interval" and group["firing"] == 1
    assert group["next_flush_at"] == (T0 + timedelta(hours=4)).isoformat()
    assert client.get("/api/v1/deliveries?status=nope", headers=auth).status_code == 400

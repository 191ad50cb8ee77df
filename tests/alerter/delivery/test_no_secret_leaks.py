"""No channel secret in any log line, stored error or API response, for every kind: the way
Alertmanager's notify/test AssertNotifyLeaksNoSecret forces a failure and looks for it."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import quote, quote_plus

import pytest

from alerter.channels import CHANNEL_KINDS
from alerter.delivery.dispatch import dispatch_once
from quaywatch.log import RedactingFilter
from tests.alerter.helpers import FAST, T0, create_channel, emit, rows
from tests.fakes.channel_cases import WRONG_SECRET, WRONG_TOKEN, config_for
from tests.fakes.im_server import ImServer

TOKEN = "tokLEAKCHECK5f4e3d2c1b0a9988"
SECRET = "SECLEAKCHECK9d8c7b6a5f4e3d2c1b0a998877"
CLOSED = "http://127.0.0.1:9"  # discard port: nothing listens, the connection is refused


def variants(*secrets: str) -> set[str]:
    return {v for s in secrets for v in (s, quote(s, safe=""), quote_plus(s))}


@pytest.fixture
def leak_server():
    with ImServer(TOKEN, SECRET) as server:
        yield server


@pytest.mark.parametrize("kind", list(CHANNEL_KINDS))
def test_a_failing_channel_leaks_no_secret_anywhere(
    kind, engine, settings, client, auth, leak_server, caplog
):
    caplog.set_level(logging.DEBUG)
    refused = config_for(kind, leak_server.url, WRONG_TOKEN, WRONG_SECRET)  # vendor says no
    unreachable = config_for(kind, CLOSED, WRONG_TOKEN, WRONG_SECRET)  # the request fails
    ids = [
        create_channel(engine, kind, refused, group_wait_s=0),
        create_channel(engine, kind, unreachable, group_wait_s=0),
    ]
    emit(engine)

    for seconds in range(4):
        dispatch_once(engine, settings, T0 + timedelta(seconds=seconds), policy=FAST)
    bodies = [client.post(f"/api/v1/channels/{i}/test", headers=auth).text for i in ids]
    for path in ("channels", "deliveries", "dead-letters", "notifications"):
        bodies.append(client.get(f"/api/v1/{path}", headers=auth).text)
    bodies += [client.get(f"/api/v1/channels/{i}", headers=auth).text for i in ids]

    stored = rows(engine, "SELECT error FROM delivery_attempt")
    assert all(r["error"] for r in stored)  # every attempt failed, and said why
    texts = [str(stored), str(rows(engine, "SELECT last_error FROM notification"))]
    texts.append(str(rows(engine, "SELECT last_error FROM channel_state")))
    texts.append(str(rows(engine, "SELECT annotations FROM group_alert")))
    # The control: the request lines urllib3 logs at DEBUG (URL, token and all) were captured.
    assert any(r.name.startswith("urllib3") and "POST" in r.getMessage() for r in caplog.records)
    production = RedactingFilter()
    own_lines = [r.getMessage() for r in caplog.records if r.name.startswith("alerter")]
    all_lines = [r.getMessage() for r in caplog.records if production.filter(r)]
    for secret in variants(WRONG_TOKEN, WRONG_SECRET):
        for text in [*bodies, *texts, *own_lines, *all_lines]:
            assert secret not in text

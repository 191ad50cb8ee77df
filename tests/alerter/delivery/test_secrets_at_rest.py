"""Channel secrets are encrypted at rest, rotate to a new key, and a bad row breaks only itself."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from alerter.delivery import reads
from alerter.delivery.commands import register
from alerter.delivery.dispatch import dispatch_once
from quaywatch.db import make_engine
from quaywatch.security.secret_box import SecretBox, generate_key
from quaywatch.settings import Secret
from quaywatch.web import create_app
from tests.alerter.helpers import FAST, SECRET, T0, TOKEN, create_channel, emit, rows
from tests.command_line import fresh_cli
from tests.fakes.recording_receiver import RecordingReceiver


def hook(server: RecordingReceiver) -> dict[str, str]:
    return {"url": f"{server.url}/hooks/{TOKEN}", "secret": SECRET}


def raw_rows(engine) -> str:
    """Every channel row as the database holds it, as one text."""
    with engine.connect() as conn:
        return " ".join(conn.execute(text("SELECT row_to_json(c)::text FROM channel c")).scalars())


def deliver(engine, settings, start: float = 0) -> None:
    for second in (start, start + 1, start + 2):
        dispatch_once(engine, settings, T0 + timedelta(seconds=second), policy=FAST)


@pytest.fixture
def keyed(settings):
    """keyed(keys) -> (settings, engine) that seal and open with the comma-separated keys."""
    made = []

    def make(keys: str):
        changed = settings.replace(secret_keys=Secret(keys))
        made.append(make_engine(changed))
        return changed, made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def quaywatch(db_url):
    root = fresh_cli(register)

    def run(keys: str, *args: str):
        env = {"DATABASE_URL": db_url, "QUAYWATCH_SECRET_KEYS": keys}
        return CliRunner().invoke(root, list(args), env=env)

    return run


def test_the_channel_row_holds_no_secret_in_plain_text_and_sends_still_work(engine, settings):
    with RecordingReceiver() as server:
        channel_id = create_channel(engine, "webhook", hook(server), group_wait_s=0)
        emit(engine)
        deliver(engine, settings)

        assert len(server.accepted()) == 1
    stored = raw_rows(engine)
    assert TOKEN not in stored and SECRET not in stored
    [row] = rows(engine, "SELECT secrets, secrets_encrypted FROM channel")
    assert row["secrets"] == {} and row["secrets_encrypted"].startswith("gAAAA")
    with engine.connect() as conn:
        record = reads.channel_record(conn, channel_id)
    assert record is not None and record.secrets == hook(server)


def test_rotation_adds_the_new_key_first_re_encrypts_then_the_old_key_can_go(
    keyed, quaywatch, db_url
):
    old, new = generate_key(), generate_key()
    _, old_engine = keyed(old)
    with RecordingReceiver() as server:
        create_channel(old_engine, "webhook", hook(server), group_wait_s=0)
        sealed_before = rows(old_engine, "SELECT secrets_encrypted FROM channel")

        rotated = quaywatch(f"{new},{old}", "channels", "rotate-secrets")
        again = quaywatch(f"{new},{old}", "channels", "rotate-secrets")
        new_settings, new_engine = keyed(new)  # the old key dropped
        emit(new_engine)
        deliver(new_engine, new_settings)

        assert rotated.exit_code == 0, rotated.output
        assert "re-encrypted 1" in rotated.output
        assert again.exit_code == 0 and "re-encrypted 0, 1 already current" in again.output
        assert rows(new_engine, "SELECT secrets_encrypted FROM channel") != sealed_before
        assert len(server.accepted()) == 1
    assert TOKEN not in rotated.output + again.output


def test_a_row_encrypted_with_an_unknown_key_fails_only_its_own_channel(engine, settings):
    with RecordingReceiver() as good, RecordingReceiver() as lost:
        create_channel(engine, "webhook", hook(good), group_wait_s=0)
        broken = create_channel(engine, "webhook", hook(lost), group_wait_s=0)
        foreign = SecretBox(generate_key()).seal(hook(lost))
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE channel SET secrets_encrypted = :t WHERE channel_id = :c"),
                {"t": foreign, "c": broken},
            )
        emit(engine)
        deliver(engine, settings)

        assert len(good.accepted()) == 1
        assert lost.arrivals == []
    [state] = rows(engine, "SELECT last_error FROM channel_state WHERE channel_id = :c", c=broken)
    assert "QUAYWATCH_SECRET_KEYS" in state["last_error"]
    assert TOKEN not in state["last_error"] and SECRET not in state["last_error"]


def test_a_legacy_plain_row_still_delivers_and_rotate_secrets_encrypts_it(
    engine, settings, quaywatch
):
    with RecordingReceiver() as server:
        channel_id = create_channel(engine, "webhook", hook(server), group_wait_s=0)
        with engine.begin() as conn:  # as a row written before encryption
            conn.execute(
                text(
                    "UPDATE channel SET secrets = CAST(:s AS jsonb), secrets_encrypted = NULL"
                    " WHERE channel_id = :c"
                ),
                {"s": json.dumps(hook(server)), "c": channel_id},
            )
        emit(engine)
        deliver(engine, settings)
        result = quaywatch(str(settings.secret_keys), "channels", "rotate-secrets")

        assert len(server.accepted()) == 1
    assert result.exit_code == 0, result.output
    assert "encrypted 1 plain" in result.output
    stored = raw_rows(engine)
    assert TOKEN not in stored and SECRET not in stored
    with engine.connect() as conn:
        record = reads.channel_record(conn, channel_id)
    assert record is not None and record.secrets == hook(server)


def test_without_keys_creating_a_channel_is_a_503_naming_the_variable_and_reads_still_work(
    engine, keyed, auth
):
    with RecordingReceiver() as server:
        create_channel(engine, "webhook", hook(server))
        keyless_settings, keyless = keyed("")
        client = create_app(keyless_settings, keyless).test_client()
        payload = {"name": "ops", "kind": "webhook", "config": hook(server)}

        created = client.post("/api/v1/channels", json=payload, headers=auth)
        listed = client.get("/api/v1/channels", headers=auth)

    assert created.status_code == 503, created.json
    assert created.mimetype == "application/problem+json"
    assert "QUAYWATCH_SECRET_KEYS" in created.json["detail"]
    assert "Traceback" not in created.text and TOKEN not in created.text
    assert listed.status_code == 200 and len(listed.json["items"]) == 1
    assert TOKEN not in listed.text


def test_rotate_secrets_without_a_key_fails_naming_the_variable(quaywatch, engine):
    with RecordingReceiver() as server:
        create_channel(engine, "webhook", hook(server))

    result = quaywatch("", "channels", "rotate-secrets")

    assert result.exit_code == 1 and "QUAYWATCH_SECRET_KEYS is not set" in result.output

"""Accepted data is committed before we say so; a push during an outage stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from pgtest import PgServer

NOW = datetime.now(UTC).replace(microsecond=0)


def batch() -> list[dict[str, object]]:
    return [
        {
            "event_id": f"out-{n}",
            "kind": "arrived",
            "lot_id": f"out-lot-{n}",
            "site_id": "5304-SHEKOU",
            "occurred_at": (NOW - timedelta(minutes=n)).isoformat(),
        }
        for n in range(50)
    ]


def test_a_push_while_the_database_is_down_gets_503_and_succeeds_after_restart(
    client, auth, engine, pg_server: PgServer
):
    if pg_server.dir is None:
        raise AssertionError("this test needs the private test cluster (unset DATABASE_URL)")
    token_check = client.get("/api/v1/indicators", headers=auth)
    assert token_check.status_code == 200
    pg_server.stop()
    try:
        down = client.post("/api/v1/events", json=batch(), headers=auth)
    finally:
        pg_server.start()
    assert down.status_code == 503
    assert down.headers["Retry-After"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cargo_event")).scalar() == 0
    again = client.post("/api/v1/events", json=batch(), headers=auth)
    assert again.status_code == 202
    assert again.json["stored"] == 50
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lot")).scalar() == 50

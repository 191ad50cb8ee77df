"""`quaywatch lots refold` rebuilds lot state from the stored events alone."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from collector.lot_store import refold_site
from collector.store import save_events
from quaywatch.db import raw_connection
from tests.collector.test_concurrent_ingest import rows

STATE = "SELECT * FROM lot ORDER BY site_id, lot_id, visit_no"


def lots(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r)[:-1] for r in conn.execute(text(STATE.replace("*", "site_id, lot_id,"
                " visit_no, hazard_class, stage, event_count, deadline_at, first_event_at, now()")))]  # fmt: skip


def test_a_refold_rebuilds_exactly_what_ingest_folded_and_repairs_damage(engine):
    with raw_connection(engine) as conn:
        save_events(conn, rows(0, 900))
    folded = lots(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE lot SET hazard_class = NULL, event_count = 99"))
        conn.execute(text("DELETE FROM lot WHERE visit_no = 2"))
    for site in ("5304-SHEKOU", "5304-CHIWAN"):
        with raw_connection(engine) as conn:
            refold_site(conn, site, chunk=7)
    assert lots(engine) == folded


def test_the_refold_command_reports_what_it_rebuilt(engine, settings, monkeypatch):
    from collector.commands import register
    from quaywatch.cli import cli

    register(cli)
    with raw_connection(engine) as conn:
        save_events(conn, rows(0, 100))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["lots", "refold", "--site", "5304-SHEKOU"])
    assert result.exit_code == 0, result.output
    assert "at 1 sites" in result.output

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import text

from collector.intake.cargo_events import import_file

NOW = datetime.now(UTC).replace(microsecond=0)


def line(n: int, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": f"f{n}",
        "kind": "arrived",
        "lot_id": f"fl{n}",
        "site_id": "5304-SHEKOU",
        "occurred_at": (NOW - timedelta(hours=1, seconds=n)).isoformat(),
    }
    body.update(overrides)
    return body


def test_a_malformed_ndjson_file_reports_every_bad_line_and_keeps_every_good_one(
    tmp_path, engine, settings
):
    path = tmp_path / "events.ndjson"
    rows = [
        json.dumps(line(1)),
        "{broken",
        json.dumps(line(3, kind="flew")),
        json.dumps(line(4)),
        "",
        json.dumps(line(6, site_id="XX-NOWHERE")),
    ]
    path.write_text("\n".join(rows) + "\n")
    messages: list[str] = []
    summary = import_file(engine, settings, path, echo=messages.append)
    assert summary.stored == 2
    assert summary.rejected == 3
    assert messages[0].startswith("line 2: line: invalid JSON")
    assert messages[1].startswith("line 3: kind:")
    assert messages[2].startswith("line 6: site_id: unknown site")


def test_a_csv_file_is_imported_with_line_numbers_for_errors(tmp_path, engine, settings):
    path = tmp_path / "events.csv"
    header = "event_id,kind,lot_id,site_id,occurred_at,hazard_class,un_number\n"
    good = f"c1,arrived,cl1,5304-SHEKOU,{(NOW - timedelta(hours=2)).isoformat()},3,1203\n"
    bad = f"c2,arrived,cl2,5304-SHEKOU,{(NOW - timedelta(hours=2)).isoformat()},11,\n"
    path.write_text(header + good + bad)
    messages: list[str] = []
    summary = import_file(engine, settings, path, echo=messages.append)
    assert (summary.stored, summary.rejected) == (1, 1)
    assert messages == [
        "line 3: hazard_class: not an IMDG class or division (1.1-1.6, 2.1-2.3, "
        "3, 4.1-4.3, 5.1, 5.2, 6.1, 6.2, 7, 8, 9)"
    ]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT un_number FROM lot")).scalar() == "UN1203"


def test_importing_a_large_file_streams_in_constant_memory(tmp_path, engine, settings):
    path = tmp_path / "big.ndjson"
    with path.open("w") as fh:
        for n in range(60_000):
            fh.write(json.dumps(line(n, lot_id=f"big{n % 5000}")) + "\n")
    tracemalloc.start()
    summary = import_file(engine, settings, path, batch=2000, echo=lambda _: None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.stored == 60_000
    # 60k events are ~12 MB of JSON; a streaming import holds one batch, not the file.
    assert peak < 8 * 1024 * 1024, peak


def test_the_import_command_prints_a_summary(tmp_path, db_url, monkeypatch):
    from collector.commands import register
    from quaywatch.cli import cli, main  # noqa: F401  (main registers package commands)

    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(line(1)) + "\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    register(cli)
    result = CliRunner().invoke(cli, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 events stored" in result.output


def test_a_deep_or_undecodable_line_is_that_lines_error_and_the_good_lines_are_kept(
    tmp_path, engine, settings
):
    path = tmp_path / "hostile.ndjson"
    good = json.dumps(line(1)).encode()
    path.write_bytes(
        b"\n".join(
            [good, b"[" * 10_000 + b"]" * 10_000, json.dumps(line(3)).encode()[:-2] + b'\xff"}',
             json.dumps(line(4)).encode(), b'{"a": 1, "a": 2}']
        ) + b"\n"
    )  # fmt: skip
    summary = import_file(engine, settings, path, echo=lambda _: None)
    assert (summary.stored, summary.rejected) == (2, 3)
    assert [e.split(":")[0] for e in summary.errors] == ["line 2", "line 3", "line 5"]
    assert "not valid UTF-8" in summary.errors[1]


def test_a_csv_cell_that_is_not_utf8_is_that_lines_error(tmp_path, engine, settings):
    path = tmp_path / "events.csv"
    header = b"event_id,kind,lot_id,site_id,occurred_at\n"
    at = (NOW - timedelta(hours=1)).isoformat().encode()
    path.write_bytes(
        header
        + b"c1,arrived,L\xff1,5304-SHEKOU," + at + b"\n"
        + b"c2,arrived,L2,5304-SHEKOU," + at + b"\n"
    )  # fmt: skip
    summary = import_file(engine, settings, path, echo=lambda _: None)
    assert (summary.stored, summary.rejected) == (1, 1)
    assert summary.errors == ["line 2: line: not valid UTF-8"]

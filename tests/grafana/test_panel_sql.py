"""Every panel, annotation and variable query, expanded as Grafana expands it and run through
the read-only role against a database filled with simulated national activity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from tests.grafana.panel_runner import (
    DashboardRun,
    default_range,
    iter_panels,
    psycopg_executor,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
REPEAT_COPY = re.compile(r" \[\w+=[^\]]*\]")  # how panel_runner names a repeated copy


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def run(path: Path, reader, now, **overrides) -> DashboardRun:
    dashboard = load(path)
    return DashboardRun(
        dashboard, default_range(dashboard, now), psycopg_executor(reader), overrides
    ).run_all()


def copies(panel: dict, result: DashboardRun) -> int:
    """How many copies of a panel Grafana draws: one per value of its repeat variable."""
    if not panel.get("repeat"):
        return 1
    variable = result.variables[panel["repeat"]]
    if variable.is_all:
        return len(variable.options)
    return len(variable.value) if isinstance(variable.value, list) else 1


def test_the_reader_role_has_a_statement_timeout_and_is_read_only(reader):
    assert reader.execute("SELECT current_user").fetchone()[0] == "quaywatch_grafana"
    assert reader.execute("SHOW statement_timeout").fetchone()[0] == "10s"
    assert reader.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"


def test_the_reader_role_plans_dashboard_queries_without_jit_or_parallel_workers(reader):
    # Many short panel queries at once: JIT compiling and parallel scans cost more than they save
    # (sql/0106, docs/benchmarks.md).
    assert reader.execute("SHOW jit").fetchone()[0] == "off"
    assert reader.execute("SHOW max_parallel_workers_per_gather").fetchone()[0] == "0"


@pytest.mark.parametrize("table", ["lot", "cargo_event", "metric_point", "series", "org_node",
                                   "station_feed", "channel", "alert_instance", "api_token"])  # fmt: skip
def test_the_reader_cannot_read_the_tables_behind_the_views(reader, table):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        reader.execute(f"SELECT 1 FROM public.{table} LIMIT 1")


def test_the_reader_cannot_write_or_create(reader):
    for statement in (
        "DELETE FROM reporting.indicator",
        "CREATE TABLE public.grafana_was_here (x int)",
        "CREATE VIEW reporting.grafana_was_here AS SELECT 1",
    ):
        with pytest.raises((psycopg.errors.InsufficientPrivilege,
                            psycopg.errors.ReadOnlySqlTransaction)):  # fmt: skip
            reader.execute(statement)


def test_no_reporting_view_exposes_a_secret(reader):
    rows = reader.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'reporting'"
    ).fetchall()
    assert rows
    exposed = [(t, c) for t, c in rows if c in ("url", "auth_header", "auth_secret", "secrets",
                                                "config", "token_hash", "last_error", "error")]  # fmt: skip
    assert exposed == []


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_query_runs_as_the_reader_and_returns_rows(path, reader, filled_db):
    result = run(path, reader, filled_db[1])
    panels_with_sql = [p for p in iter_panels(result.dashboard) if p.get("targets")]
    assert len([r for r in result.runs if r.source.startswith("panel")]) == sum(
        len(p["targets"]) * copies(p, result) for p in panels_with_sql
    )
    empty = [r.source for r in result.runs if not r.frame.rows and not REPEAT_COPY.search(r.source)]
    assert empty == []
    # A copy of a repeated panel may be empty: an indicator with no value at the node (a rate
    # with no declarations) is Grafana's "No data". Each target still has rows in some copy.
    copies_with_rows = {REPEAT_COPY.sub("", r.source) for r in result.runs if r.frame.rows}
    repeated = {REPEAT_COPY.sub("", r.source) for r in result.runs if REPEAT_COPY.search(r.source)}
    assert repeated <= copies_with_rows


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_time_series_targets_have_a_time_column_sorted_ascending(path, reader, filled_db):
    # check_time_series raised during the run otherwise; here the frames say so too
    result = run(path, reader, filled_db[1])
    for query in result.runs:
        if query.fmt == "time_series":
            times = query.frame.column("time")
            assert times == sorted(times), query.source


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_query_also_runs_with_all_selected(path, reader, filled_db):
    dashboard = load(path)
    overrides = {v["name"]: ["$__all"] if v.get("multi") else "$__all"
                 for v in dashboard["templating"]["list"] if v.get("includeAll")}  # fmt: skip
    result = run(path, reader, filled_db[1], **overrides)
    for name in overrides:
        assert result.variables[name].is_all
    assert all(r.frame.columns for r in result.runs)


def test_the_variables_chain_customs_to_site(reader, filled_db):
    result = run(ROOT / "grafana/dashboards/port.json", reader, filled_db[1])
    site_query = next(r for r in result.runs if r.source == "variable site")
    assert "WHERE customs_id IN ('2200')" in site_query.expanded.sql
    assert result.variables["site"].value == "2201-YANGSHAN"

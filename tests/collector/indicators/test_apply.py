"""`quaywatch indicators apply`: validate a file of specs, upsert them by code with versions, and
the metrics cycle computes the stored ones for every node alongside the built-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from click.testing import CliRunner

from cargo_events import T0, ev, store
from collector.indicators.examples import GATE_IN_RIVER_PER_HOUR
from collector.rollup import backfill_metrics, metrics_cycle
from quaywatch.cli import cli
from tests.collector.helpers import RIVER_21_OVER_48H, select_all, select_one

RIVER = RIVER_21_OVER_48H
LONGTAN = "2301-LONGTAN"
# Owned by Nanjing customs: in its namespace (collector.indicators.namespace).
NANJING_RIVER = {**RIVER, "code": "n2300__haz21_river_over_48h"}


@pytest.fixture
def apply(tmp_path, settings, monkeypatch):
    from collector.commands import register

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    register(cli)

    def run(document, *args):
        path = tmp_path / "indicators.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        result = CliRunner().invoke(cli, ["indicators", "apply", str(path), *args])
        return path, result

    return run


def stored(engine):
    return select_all(
        engine,
        "SELECT code, version, node_scope, created_by, spec FROM indicator_spec"
        " ORDER BY code, version",
    )


def points(engine, node, at):
    return select_one(
        engine,
        "SELECT p.value, p.spec_version FROM metric_point p JOIN series s USING (series_id)"
        " WHERE s.node_id = :n AND s.indicator_code = :c AND p.time = :t",
        n=node,
        c=RIVER["code"],
        t=at,
    )


def test_every_invalid_spec_is_reported_by_file_code_and_field_and_nothing_is_stored(apply, engine):
    bad = [
        RIVER,
        {**RIVER, "code": "haz_other", "filters": {"hazard_class": ["2.9"]}},
        {**RIVER, "code": "lots_on_site"},
        {**RIVER, "code": "haz_wide", "population": "released", "window_hours": 24 * 100},
        {**RIVER, "code": "haz_scoped", "scope": "9999"},
        {**RIVER, "code": "haz_nanjing", "scope": "2300"},
        {**RIVER, "code": "n2300__haz_national"},
    ]
    path, result = apply({"indicators": bad})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{path}: indicator haz_other: filters.hazard_class: Value error, '2.9' is not an IMDG"
        " class or division",
        f"{path}: indicator lots_on_site: code: 'lots_on_site' is a built-in indicator",
        f"{path}: indicator haz_wide: window_hours: Value error, 2400 h is over 90 days (2160 h):"
        " an unbounded look-back is refused",
        f"{path}: indicator haz_scoped: scope: '9999' is not a node of the org tree",
        f"{path}: indicator haz_nanjing: code: an indicator owned by 2300 has a code starting"
        " with 'n2300__'",
        f"{path}: indicator n2300__haz_national: code: a national code contains no '__' (it"
        " marks a node's namespace)",
    ]
    assert stored(engine) == []


def test_applying_upserts_by_code_and_a_changed_spec_is_a_new_version(apply, engine):
    _, first = apply([{**NANJING_RIVER, "scope": "2300"}], "--by", "nanjing-ops")
    assert first.exit_code == 0, first.output
    assert first.output == "n2300__haz21_river_over_48h: version 1\n"
    _, again = apply([{**NANJING_RIVER, "scope": "2300"}], "--by", "nanjing-ops")
    assert again.output == "n2300__haz21_river_over_48h: unchanged\n"
    stricter = {**NANJING_RIVER, "filters": {**RIVER["filters"], "dwell_over_hours": 24}}
    _, changed = apply({"scope": "2300", "indicators": [stricter]}, "--by", "nanjing-ops")
    assert changed.output == "n2300__haz21_river_over_48h: version 2\n"
    rows = stored(engine)
    assert [(r.version, r.node_scope, r.created_by) for r in rows] == [
        (1, "2300", "nanjing-ops"),
        (2, "2300", "nanjing-ops"),
    ]
    assert rows[1].spec["filters"]["dwell_over_hours"] == 24
    catalogue = select_one(
        engine,
        "SELECT builtin, definition FROM indicator WHERE code = :c",
        c=NANJING_RIVER["code"],
    )
    assert catalogue.builtin is False and "more than 24 h" in catalogue.definition


def test_the_metrics_cycle_computes_the_latest_version_for_every_node(apply, engine):
    store(
        engine,
        [
            ev("l1", "arrived", 0, LONGTAN, hazard_class="2.1"),  # 100 h at t
            ev("l2", "arrived", 70, LONGTAN, hazard_class="2.1"),  # 30 h at t
            ev("t1", "arrived", 0, "2302-TAICANG", hazard_class="2.1"),  # 100 h, office 2302
        ],
    )
    at = T0 + timedelta(hours=100)
    assert apply([RIVER])[1].exit_code == 0
    metrics_cycle(engine, at)
    assert points(engine, LONGTAN, at) == (1, 1)
    assert points(engine, "2300", at) == (2, 1)
    assert points(engine, "CN", at) == (2, 1)
    assert points(engine, "0100", at) == (0, 1)
    [(builtin_version,)] = select_all(
        engine,
        "SELECT p.spec_version FROM metric_point p JOIN series s USING (series_id)"
        " WHERE s.node_id = 'CN' AND s.indicator_code = 'lots_on_site' AND p.time = :t",
        t=at,
    )
    assert builtin_version is None
    # Version 2 counts lots over 24 h: a backfill rewrites the same time with it.
    stricter = {**RIVER, "filters": {**RIVER["filters"], "dwell_over_hours": 24}}
    assert apply([stricter])[1].exit_code == 0
    backfill_metrics(engine, at, at, timedelta(hours=1))
    assert points(engine, LONGTAN, at) == (2, 2)
    assert points(engine, "CN", at) == (3, 2)


def test_one_indicator_can_be_backfilled_alone(apply, engine):
    store(engine, [ev("l1", "arrived", 0, LONGTAN, hazard_class="2.1")])
    assert apply([RIVER])[1].exit_code == 0
    since = T0 + timedelta(hours=40)
    result = CliRunner().invoke(
        cli,
        [
            "indicators",
            "backfill",
            RIVER["code"],
            "--since",
            since.isoformat(),
            "--until",
            (since + timedelta(hours=20)).isoformat(),
            "--step-minutes",
            "60",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("haz21_river_over_48h: recomputed 21 times")
    written = select_all(
        engine,
        "SELECT s.indicator_code, count(*) FROM metric_point p JOIN series s"
        " USING (series_id) WHERE s.node_id = 'CN' GROUP BY 1",
    )
    assert written == [(RIVER["code"], 21)]  # no built-in was recomputed
    assert points(engine, LONGTAN, since + timedelta(hours=20)) == (1, 1)
    assert points(engine, LONGTAN, since) == (0, 1)
    unknown = CliRunner().invoke(cli, ["indicators", "backfill", "nope", "--since", "2026-03-02"])
    assert unknown.exit_code == 2 and "no indicator 'nope'" in unknown.output


def test_every_stored_spec_reads_back_as_the_spec_applied(apply, engine):
    from collector.indicators.spec import IndicatorSpec
    from collector.indicators.store import active_indicators

    dwell = {
        **RIVER,
        "code": "haz21_river_dwell_p90",
        "unit": "h",
        "measure": {"kind": "dwell", "stat": "p90"},
    }
    share = {**RIVER, "code": "haz21_overdue_share", "unit": "%"}
    share["measure"] = {"kind": "share", "part": {"deadline": "overdue"}}
    events = {**GATE_IN_RIVER_PER_HOUR, "window_hours": 1}
    specs = [RIVER, dwell, share, events]
    assert apply(specs)[1].exit_code == 0
    with engine.connect() as conn:
        active = {i.code: i for i in active_indicators(conn)}
    for spec in specs:
        assert IndicatorSpec.model_validate(active[spec["code"]].spec) == (
            IndicatorSpec.model_validate(spec)
        )
    assert active["gate_in_river_per_hour"].source == "cargo_events"
    assert apply(specs)[1].output.count("unchanged") == 4

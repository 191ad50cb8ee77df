"""What the catalogue, forecast-quality and band panels show, run as Grafana runs them through
the read-only role against the filled database (filled_forecasts.py writes the forecaster's
rows and the rules)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.grafana.panel_runner import DashboardRun, QueryRun, default_range, psycopg_executor

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "grafana" / "dashboards"


def run(name: str, reader, now, **overrides) -> DashboardRun:
    dashboard = json.loads((BOARDS / f"{name}.json").read_text(encoding="utf-8"))
    return DashboardRun(
        dashboard, default_range(dashboard, now), psycopg_executor(reader), overrides
    ).run_all()


def query(result: DashboardRun, title_part: str, ref: str = "A") -> QueryRun:
    return next(r for r in result.runs
                if r.source.startswith("panel") and title_part in r.source
                and r.source.endswith(f" {ref}"))  # fmt: skip


def series_names(run: QueryRun) -> set[str]:
    return set(run.frame.column("metric"))


def test_the_national_trends_draw_the_forecast_band_and_the_national_threshold(reader, filled_db):
    band = query(run("national", reader, filled_db[1]), "Hazardous goods trends", "B")
    names = series_names(band)
    for code in ("hazardous_lots_held", "hazardous_overdue"):
        assert {f"{code} 预测 forecast", f"{code} forecast_lower", f"{code} forecast_band"} <= names
    thresholds = [v for m, v in zip(band.frame.column("metric"), band.frame.column("value"),
                                    strict=True) if m == "hazardous_overdue 阈值 threshold"]  # fmt: skip
    assert thresholds == [0, 0]  # the national rule, at both ends of the range


def test_a_site_trend_shows_the_deepest_override_and_the_forecast_rule(reader, filled_db):
    band = query(run("port", reader, filled_db[1]), "Clearance and inspection time", "B")
    values = dict(zip(band.frame.column("metric"), band.frame.column("value"), strict=False))
    assert values["clearance_time_p90_hours 阈值 threshold"] == 36  # the 2200 override of 48
    assert values["clearance_time_p90_hours 预测阈值 forecast threshold"] == 48


def test_the_band_is_never_negative_and_the_lower_bound_sits_below_the_forecast(reader, filled_db):
    band = query(run("forecast_quality", reader, filled_db[1]), "Forecast against actual", "B")
    rows = list(zip(band.frame.column("metric"), band.frame.column("value"), strict=True))
    assert all(v >= 0 for m, v in rows if m == "forecast_band")
    assert {"预测 forecast", "forecast_lower", "forecast_band"} <= {m for m, _ in rows}


def test_the_catalogue_repeats_the_trend_for_every_active_indicator(reader, filled_db):
    result = run("indicators", reader, filled_db[1])
    active = {row[0] for row in reader.execute(
        "SELECT code FROM reporting.indicator WHERE state = 'active'").fetchall()}  # fmt: skip
    assert set(result.variables["indicator"].options) == active
    units = [r for r in result.runs if r.source.endswith(" C")]
    assert len(units) == len(active)
    assert {r.frame.rows[0][0] for r in units} >= {"h", "percent", "short"}


def test_the_latest_table_lists_every_active_indicator_with_direction_and_rules(reader, filled_db):
    result = run("indicators", reader, filled_db[1])
    table = query(result, "Every indicator now")
    assert len(table.frame.rows) == len(result.variables["indicator"].options)
    assert set(table.frame.column("方向 direction")) <= {
        "higher_is_worse", "higher_is_better", "neutral"}  # fmt: skip
    rules = dict(zip(table.frame.column("指标 indicator"), table.frame.column("规则阈值 rule thresholds"),
                     strict=True))  # fmt: skip
    assert [r for r in rules.values() if r] == ["threshold > 0"]  # at CN: the national rule


def test_the_theme_variable_narrows_the_indicators(reader, filled_db):
    result = run("indicators", reader, filled_db[1], theme=["hazardous_goods"])
    themes = {row[0] for row in reader.execute(
        "SELECT theme FROM reporting.indicator WHERE code = ANY(%s)",
        [result.variables["indicator"].options]).fetchall()}  # fmt: skip
    assert themes == {"hazardous_goods"}


def test_forecast_quality_scores_breach_predictions_against_what_happened(reader, filled_db):
    result = run("forecast_quality", reader, filled_db[1])
    scores = query(result, "hit and miss")
    hit, false_alarm, missed, correct, lots = scores.frame.rows[0]
    assert hit + false_alarm + missed + correct == lots > 0
    assert false_alarm + missed > 0 and hit + correct > 0
    wrong = query(result, "Wrong predictions")
    assert len(wrong.frame.rows) == min(false_alarm + missed, 100)


def test_forecast_quality_shows_coverage_the_backtest_and_the_last_runs_failures(reader, filled_db):
    result = run("forecast_quality", reader, filled_db[1])
    coverage = query(result, "Band coverage by indicator").frame.column("区间覆盖率 band coverage")
    assert coverage and all(0 <= c <= 1 for c in coverage)
    failures = query(result, "Failed and skipped series").frame.column("结果 outcome")
    assert sorted(failures) == ["failed", "skipped"]
    chosen = query(result, "Backtest scores").frame.column("选用 chosen")
    assert chosen.count("选用 chosen") == 3


def test_a_retired_indicator_leaves_the_catalogue_without_regenerating(
    reader, filled_db, pg_server
):
    with psycopg.connect(pg_server.url(filled_db[0]), autocommit=True) as admin:
        admin.execute("UPDATE indicator SET state = 'retired' WHERE code = 'feed_failures'")
        try:
            result = run("indicators", reader, filled_db[1])
        finally:
            admin.execute("UPDATE indicator SET state = 'active' WHERE code = 'feed_failures'")
    assert "feed_failures" not in result.variables["indicator"].options
    assert not any("feed_failures" in r.source for r in result.runs)

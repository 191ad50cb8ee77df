from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from forecaster.commands import register
from quaywatch.cli import cli
from tests.command_line import quaywatch_runner

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
SITE = "4202-QIANWAN"


@pytest.fixture
def run(settings, monkeypatch):
    return quaywatch_runner(settings, monkeypatch, register)


@pytest.fixture
def rising(write_hourly):
    t = np.arange(9 * 24)
    values = 2 + 0.1 * t + 1.5 * np.sin(2 * np.pi * t / 24)
    return write_hourly(SITE, "hazardous_lots_held", values, END)


def test_forecast_run_forecasts_the_chosen_series(run, rising):
    result = run(
        "forecast",
        "run",
        "--site",
        SITE,
        "--indicator",
        "hazardous_lots_held",
        "--workers",
        "1",
        "--at",
        "2026-04-10T10:20:00+00:00",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("run 1 in ") and "series ok 1" in result.output


def test_forecast_plot_writes_a_png_with_the_predicted_crossing(run, rising, tmp_path):
    out = tmp_path / "plot.png"
    result = run(
        "forecast",
        "plot",
        SITE,
        "hazardous_lots_held",
        "--out",
        str(out),
        "--threshold",
        "24",
        "--at",
        "2026-04-09T10:00:00+00:00",
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "above 24: at 2026-04-" in result.output  # a crossing inside the 48 h horizon
    unknown = CliRunner().invoke(cli, ["forecast", "plot", SITE, "lots_on_site", "--out", str(out)])
    assert unknown.exit_code != 0 and "no hourly history" in unknown.output


def _windows(days: int, step_hours: int) -> list[str]:
    """Rolling-origin options of a backtest, on one worker."""
    return ["--window-days", str(days), "--step-hours", str(step_hours), "--workers", "1"]


def test_backtest_on_stored_history_scores_rules_and_applies_the_choice(run, rising, engine):
    series = ["--site", SITE, "--indicator", "hazardous_lots_held", "--no-deadlines"]
    result = run("backtest", "--days", "1", *series, *_windows(7, 6), "--apply")
    assert result.exit_code == 0, result.output
    assert "## hazardous_lots_held" in result.output and "| seasonal_naive_24h |" in result.output
    assert "Champion: **" in result.output
    # four origins: neither naive catches the crossing, so the best F1 wins (no floor of 0)
    assert "no seasonal naive catches a crossing, so no F1 floor" in result.output
    with engine.connect() as conn:
        methods = conn.execute(
            text("SELECT count(*), count(*) FILTER (WHERE chosen) FROM backtest_result")
        ).one()
        decision = conn.execute(text("SELECT rule FROM forecast_decision")).scalars().all()
    # 15 candidate rules on Prophet, the same 15 on each of the three blends and on each of
    # the two agreements with a seasonal naive, 5 baselines
    assert methods[0] == 15 + 3 * 15 + 2 * 15 + 5 and methods[1] == 1
    assert len(decision) == 1


def test_backtest_scores_an_external_csv_series(run, tmp_path):
    t = np.arange(12 * 24)
    y = 10 + 5 * np.sin(2 * np.pi * t / 24) + 0.05 * t
    stamps = pd.date_range("2024-05-01", periods=len(t), freq="h", tz="Europe/Berlin")
    path = tmp_path / "series.csv"
    pd.DataFrame({"timestamp": stamps.astype(str), "value": y}).to_csv(path, index=False)
    result = run(
        "backtest", "--csv", str(path), "--threshold", "25", "--no-store", *_windows(7, 12)
    )
    assert result.exit_code == 0, result.output
    assert "## csv:series.csv" in result.output and "| prophet yhat |" in result.output
    assert "| blend_24h yhat |" in result.output and "| blend_168h p>=0.9 x3 |" in result.output
    assert "| blend_mean_3w edge |" in result.output and "| weekly_mean_3w |" in result.output
    assert "Champion, best blend and seasonal naives" in result.output
    assert "| series | origins | rows | coverage before | coverage after |" in result.output
    missing = CliRunner().invoke(cli, ["backtest", "--csv", str(path), "--no-store"])
    assert missing.exit_code != 0 and "--csv needs --threshold" in missing.output


def _write_csv(path, values, *, start="2024-05-01", freq="h", header=True):
    stamps = pd.date_range(start, periods=len(values), freq=freq)
    frame = pd.DataFrame({"timestamp": stamps.astype(str), "value": values})
    frame.to_csv(path, index=False, header=header)
    return path


def _csv_backtest(run, path, *extra):
    return run("backtest", "--csv", str(path), *_windows(3, 12), "--no-store", *extra)


def _cells(output, method):
    line = next(row for row in output.splitlines() if row.startswith(f"| {method} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_csv_backtest_keeps_values_below_zero_unless_declared_a_count(run, tmp_path):
    t = np.arange(6 * 24)
    path = _write_csv(tmp_path / "signed.csv", 3 * np.sin(2 * np.pi * t / 24))
    kept = _csv_backtest(run, path, "--threshold", "-2.5", "--direction", "below")
    assert kept.exit_code == 0, kept.output
    assert "forecasts not clipped at zero" in kept.output
    assert int(_cells(kept.output, "prophet yhat")[1]) > 0  # troughs below -2.5 foreseen
    count = _csv_backtest(run, path, "--threshold", "-2.5", "--direction", "below", "--count")
    assert "forecasts clipped at zero (--count)" in count.output
    assert _cells(count.output, "prophet yhat")[1] == "0"  # a clipped forecast never goes below
    stored = run("backtest", "--count")
    assert stored.exit_code != 0 and "--count applies to --csv only" in stored.output


def test_csv_backtest_refuses_daily_data_with_the_reason(run, tmp_path):
    path = _write_csv(tmp_path / "daily.csv", np.arange(60.0), freq="D")
    result = _csv_backtest(run, path, "--threshold", "50")
    assert result.exit_code != 0
    assert "1 days 00:00:00 apart (median)" in result.output
    assert "give hourly or finer data" in result.output
    assert "Chosen" not in result.output


def test_csv_backtest_keeps_the_first_row_of_a_headerless_file(run, tmp_path):
    values = 10 + 5 * np.sin(2 * np.pi * np.arange(5 * 24) / 24)
    headed = _csv_backtest(run, _write_csv(tmp_path / "a.csv", values), "--threshold", "14")
    bare = _write_csv(tmp_path / "b.csv", values, header=False)
    headerless = _csv_backtest(run, bare, "--threshold", "14")
    assert headerless.exit_code == 0, headerless.output
    assert "120 hourly rows" in headed.output and "120 hourly rows" in headerless.output


def test_csv_backtest_honours_days_and_counts_skipped_origins(run, tmp_path):
    values = 10 + 5 * np.sin(2 * np.pi * np.arange(8 * 24) / 24)
    path = _write_csv(tmp_path / "s.csv", values)
    whole = _csv_backtest(run, path, "--threshold", "14")
    assert "Origins: 8, scored 8; skipped 0 already beyond" in whole.output
    last_two = _csv_backtest(run, path, "--threshold", "14", "--days", "2")
    assert "origins over the last 2 day(s) of the file (--days)" in last_two.output
    assert "Origins: 4, scored 4;" in last_two.output  # 48 h of origins, 12 h apart
    # Origins fall on 23:00 and 11:00: every other one is above 9 already.
    low = _csv_backtest(run, path, "--threshold", "9")
    assert "Origins: 8, scored 4; skipped 4 already beyond the threshold" in low.output


def test_csv_backtest_chooses_no_rule_from_zero_scored_origins(run, tmp_path):
    path = _write_csv(tmp_path / "short.csv", np.arange(2 * 24.0))
    result = _csv_backtest(run, path, "--threshold", "40")
    assert result.exit_code == 0, result.output
    assert "Origins: 0, scored 0" in result.output
    assert "No rule could be chosen" in result.output and "Chosen" not in result.output
    assert "no origin fits in the data" in result.output


def test_csv_backtest_chooses_no_rule_when_the_threshold_is_never_crossed(run, tmp_path):
    values = 10 + 5 * np.sin(2 * np.pi * np.arange(8 * 24) / 24)
    result = _csv_backtest(run, _write_csv(tmp_path / "s.csv", values), "--threshold", "100")
    assert result.exit_code == 0, result.output
    assert "Origins: 8, scored 8;" in result.output
    assert "No rule could be chosen: the threshold was not crossed" in result.output
    assert "Champion" not in result.output


def test_csv_backtest_refuses_a_bad_line_naming_it(run, tmp_path):
    path = _write_csv(tmp_path / "s.csv", [1.0, 2.0, float("inf"), 4.0])
    result = _csv_backtest(run, path, "--threshold", "3")
    assert result.exit_code != 0
    assert "line 4: 'inf' is not a finite number" in result.output

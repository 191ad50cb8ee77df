from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from forecaster.commands import register
from quaywatch.cli import cli

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
SITE = "4202-QIANWAN"


@pytest.fixture
def run(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    register(cli)

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


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


def test_backtest_on_stored_history_scores_rules_and_applies_the_choice(run, rising, engine):
    result = run(
        "backtest",
        "--days",
        "1",
        "--site",
        SITE,
        "--indicator",
        "hazardous_lots_held",
        "--no-deadlines",
        "--window-days",
        "7",
        "--step-hours",
        "6",
        "--workers",
        "1",
        "--apply",
    )
    assert result.exit_code == 0, result.output
    assert "## hazardous_lots_held" in result.output and "| seasonal_naive_24h |" in result.output
    assert "Chosen (budget 1 false-alarm episodes per site-week)" in result.output
    with engine.connect() as conn:
        methods = conn.execute(
            text("SELECT count(*), count(*) FILTER (WHERE chosen) FROM backtest_result")
        ).one()
        decision = conn.execute(text("SELECT rule FROM forecast_decision")).scalars().all()
    assert methods[0] == 15 + 4 and methods[1] == 1  # 15 candidate rules, 4 baselines
    assert len(decision) == 1


def test_backtest_scores_an_external_csv_series(run, tmp_path):
    t = np.arange(12 * 24)
    y = 10 + 5 * np.sin(2 * np.pi * t / 24) + 0.05 * t
    stamps = pd.date_range("2024-05-01", periods=len(t), freq="h", tz="Europe/Berlin")
    path = tmp_path / "series.csv"
    pd.DataFrame({"timestamp": stamps.astype(str), "value": y}).to_csv(path, index=False)
    result = run(
        "backtest",
        "--csv",
        str(path),
        "--threshold",
        "17",
        "--no-store",
        "--window-days",
        "7",
        "--step-hours",
        "12",
        "--workers",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert "## csv:series.csv" in result.output and "| prophet yhat |" in result.output
    missing = CliRunner().invoke(cli, ["backtest", "--csv", str(path), "--no-store"])
    assert missing.exit_code != 0 and "--csv needs --threshold" in missing.output

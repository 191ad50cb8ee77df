from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from forecaster import store
from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import DecisionRule
from forecaster.crossings.threshold_crossing import Calibration

NOW = datetime(2026, 4, 10, 10, 20, tzinfo=UTC)
SITE = "4202-QIANWAN"


def series_id(conn) -> int:
    return conn.execute(
        text("SELECT series_id FROM series WHERE node_id = :n AND indicator_code = 'lots_on_site'"),
        {"n": SITE},
    ).scalar_one()


def forecast_rows(start: datetime, hours: int = 3) -> pd.DataFrame:
    ds = pd.date_range(start, periods=hours, freq="h")
    return pd.DataFrame({"ds": ds, "yhat": 1.0, "yhat_lower": 0.5, "yhat_upper": 1.5})


def test_the_latest_run_per_series_is_the_one_its_model_points_to(engine):
    with engine.begin() as conn:
        sid = series_id(conn)
        runs = [store.start_run(conn, NOW + timedelta(hours=h), {}) for h in (0, 1)]
        for run_id in runs:
            store.save_forecasts(
                conn, run_id, [(sid, forecast_rows(NOW).assign(yhat=float(run_id)))]
            )
        state = store.ModelState(sid, runs[1], NOW, NOW, 672, "abc", 0.1, {"k": 0.1})
        store.save_models(conn, [state])
        latest = store.latest_forecasts(conn, [sid])[sid]
        stored = store.stored_models(conn, [sid])[sid]
    assert latest["yhat"].tolist() == [float(runs[1])] * 3
    assert stored == store.StoredModel(runs[1], "abc", {"k": 0.1}, None, NOW)


def test_a_refreshed_forecast_moves_the_pointer_and_the_hash_but_keeps_the_fit(engine):
    frame = {"format": 1, "start": "2026-03-13T10:00:00"}
    with engine.begin() as conn:
        sid = series_id(conn)
        runs = [store.start_run(conn, NOW + timedelta(hours=h), {}) for h in (0, 1)]
        state = store.ModelState(sid, runs[0], NOW, NOW, 672, "abc", 0.1, {"k": 0.1}, frame)
        store.save_models(conn, [state])
        store.save_forecasts(conn, runs[1], [(sid, forecast_rows(NOW + timedelta(hours=1)))])
        store.save_refreshed(conn, runs[1], [(sid, "def")])
        stored = store.stored_models(conn, [sid])[sid]
        (fitted_at,) = conn.execute(text("SELECT fitted_at FROM forecast_model")).one()
    assert stored == store.StoredModel(runs[1], "def", {"k": 0.1}, frame, NOW)
    assert fitted_at == NOW


def test_warm_start_parameters_of_an_unknown_format_are_not_used(engine):
    with engine.begin() as conn:
        sid = series_id(conn)
        state = store.ModelState(sid, 1, NOW, NOW, 10, "h", 0.1, {"k": 0.1}, {"format": 1})
        store.save_models(conn, [state])
        conn.execute(text("UPDATE forecast_model SET format_version = 99"))
        stored = store.stored_models(conn, [sid])[sid]
    assert stored.warm_start is None and stored.fit_state is None and stored.data_hash == "h"


def test_prune_counts_ages_from_the_cycle_time(engine):
    with engine.begin() as conn:
        sid = series_id(conn)
        old = store.start_run(conn, NOW - timedelta(days=40), {})
        new = store.start_run(conn, NOW, {})
        store.save_forecasts(conn, old, [(sid, forecast_rows(NOW - timedelta(days=10)))])
        store.save_forecasts(conn, new, [(sid, forecast_rows(NOW))])
        store.prune(conn, NOW, forecast_days=3, prediction_days=14, run_days=30)
        runs = conn.execute(text("SELECT run_id FROM forecast_run")).scalars().all()
        kept = conn.execute(text("SELECT DISTINCT run_id FROM forecast")).scalars().all()
    assert runs == [new] and kept == [new]


def test_backtest_scores_and_decision_rules_round_trip(engine):
    score = Score("prophet yhat", tp=3, fp=1, fn=1, tn=5, site_weeks=2.0, leads_hours=(4.0, 6.0))
    rule = DecisionRule("probability", 0.7, 2, Calibration((0.1, 0.9), (0.05, 0.8)))
    with engine.begin() as conn:
        backtest_id = store.save_backtest(
            conn,
            "history",
            {"days": 7},
            [store.BacktestRow("threshold", "lots_on_site", "sample", score, True, 24.0)],
        )
        store.save_decision(
            conn, "lots_on_site", rule, false_alarm_budget=1.0, backtest_id=backtest_id
        )
        row = conn.execute(
            text(
                "SELECT method, chosen, precision, median_lead_hours FROM reporting.backtest_result"
            )
        ).one()
        decisions = store.load_decisions(conn)
    assert tuple(row) == ("prophet yhat", True, 0.75, 5.0)
    assert decisions == {"lots_on_site": rule}


def other_series_id(conn) -> int:
    return conn.execute(
        text(
            "SELECT series_id FROM series WHERE node_id = :n AND indicator_code <> 'lots_on_site'"
            " ORDER BY series_id LIMIT 1"
        ),
        {"n": SITE},
    ).scalar_one()


def test_forecast_rows_round_trip_exactly_through_the_binary_copy(engine):
    extremes = [1.7976931348623157e308, 5e-324, -0.0, float("nan"), -123.456789012345678]
    instants = pd.to_datetime(
        [
            "1999-12-31 23:59:59.999999999",  # before PostgreSQL's epoch, nanoseconds floored
            "2000-01-01 00:00:00",
            "2026-04-10 10:00:00.000001500",
            "2026-04-10 11:00:00",
            "2261-12-31 23:00:00",
        ],
        utc=True,
        format="ISO8601",
    )
    first = pd.DataFrame(
        {"ds": instants, "yhat": extremes, "yhat_lower": extremes[::-1], "yhat_upper": 1.0}
    )
    second = forecast_rows(NOW, hours=2).assign(ds=lambda f: f["ds"].dt.tz_convert("Asia/Tokyo"))
    with engine.begin() as conn:
        sids = sorted([series_id(conn), other_series_id(conn)])
        run_id = store.start_run(conn, NOW, {})
        empty = forecast_rows(NOW, hours=0)
        written = store.save_forecasts(
            conn, run_id, [(sids[1], second), (sids[0], first), (sids[0], empty)]
        )
        store.save_models(
            conn, [store.ModelState(s, run_id, NOW, NOW, 1, "h", 0.1, {}) for s in sids]
        )
        latest = store.latest_forecasts(conn, sids)
    assert written == 7
    got = latest[sids[0]]
    assert got["ds"].tolist() == list(instants.floor("us"))
    for column, expected in (("yhat", extremes), ("yhat_lower", extremes[::-1])):
        values = got[column].tolist()
        assert [repr(v) for v in values] == [repr(v) for v in expected]
    assert list(latest[sids[1]]["ds"]) == list(second["ds"])  # the same instants, any zone
    assert latest[sids[1]].index.tolist() == [0, 1]


def test_a_forecast_row_without_an_instant_is_refused_and_nothing_is_written(engine):
    rows = forecast_rows(NOW, hours=2)
    rows["ds"] = pd.Series([pd.Timestamp(NOW), pd.NaT]).astype("datetime64[ns, UTC]")
    with engine.begin() as conn:
        sid = series_id(conn)
        run_id = store.start_run(conn, NOW, {})
        with pytest.raises(ValueError, match="ds"):
            store.save_forecasts(conn, run_id, [(sid, forecast_rows(NOW)), (sid, rows)])
        count = conn.execute(text("SELECT count(*) FROM forecast")).scalar_one()
    assert count == 0

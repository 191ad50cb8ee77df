"""The only writer of the forecaster's tables (sql/0103) and of the alerter's inputs
``forecast_crossing`` and ``lot_breach_prediction`` (sql/0103 too); also the reads of its own state.
``forecast_decision`` is written by ``decision_store`` (re-exported here).

Bulk rows (forecasts, crossings, lot predictions) go in by COPY inside the caller's transaction:
a national cycle writes ~100,000 forecast rows, which row-by-row INSERTs would take seconds to
send. Every function takes the caller's SQLAlchemy connection; none commits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Connection

from forecaster import forecast_copy
from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import Decision
from forecaster.crossings.decision_store import load_decisions as load_decisions
from forecaster.crossings.decision_store import save_decision as save_decision

WARM_START_FORMAT = 1
"""Version of the ``forecast_model.warm_start`` document: ``{k, m, sigma_obs, delta, beta}``
floats and lists from ``prophet.model.warm_start_params``. Rows of other versions are ignored
(the series is fitted cold), never misread."""


@dataclass(frozen=True)
class ModelState:
    """What ``forecast_model`` holds for one series after a fit."""

    series_id: int
    run_id: int
    fitted_at: datetime
    history_end: datetime
    n_points: int
    data_hash: str
    fit_seconds: float
    warm_start: dict[str, Any]
    fit_state: dict[str, Any] | None = None


@dataclass(frozen=True)
class StoredModel:
    """A series' stored model: its latest forecast's run and window hash, and its last fit:
    parameters (None for a format this build cannot read), frame and history end."""

    run_id: int
    data_hash: str
    warm_start: dict[str, Any] | None
    fit_state: dict[str, Any] | None = None
    history_end: datetime | None = None


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    return cast(psycopg.Connection[Any], conn.connection.dbapi_connection)


def _copy(conn: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with _driver(conn).cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _time(value: Any) -> datetime | None:
    """A pandas/numpy/datetime value as a datetime, NaT and None as None."""
    if value is None or pd.isna(value):  # pd.NaT is a datetime instance too
        return None
    # Model times carry nanoseconds (hours as floats); PostgreSQL keeps microseconds.
    return cast(datetime, pd.Timestamp(value).floor("us").to_pydatetime())


def _times(values: Any) -> list[datetime | None]:
    """``_time`` for a whole column of instants at once, in UTC (10,000 lot predictions and
    ~72,000 forecast rows per cycle: one value at a time cost ~40 us each)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(values, utc=True)).floor("us")
    out: list[datetime | None] = list(stamps.to_pydatetime())
    if stamps.hasnans:
        out = [None if missing else v for v, missing in zip(out, stamps.isna(), strict=True)]
    return out


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def start_run(conn: Connection, started_at: datetime, config: Mapping[str, Any]) -> int:
    row = conn.execute(
        text(
            "INSERT INTO forecast_run (started_at, config) VALUES (:at, CAST(:c AS jsonb))"
            " RETURNING run_id"
        ),
        {"at": started_at, "c": json.dumps(config, default=str)},
    ).one()
    return int(row[0])


def finish_run(
    conn: Connection, run_id: int, finished_at: datetime, counts: Mapping[str, int]
) -> None:
    """Record the end of a run; ``counts`` keys are forecast_run's count columns."""
    columns = (
        "series_total series_ok series_reused series_refreshed series_skipped series_failed"
        " crossings lots_scored"
    ).split()
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    params = {c: int(counts.get(c, 0)) for c in columns}
    conn.execute(
        text(f"UPDATE forecast_run SET finished_at = :at, {assignments} WHERE run_id = :run"),
        {**params, "at": finished_at, "run": run_id},
    )


def save_forecasts(conn: Connection, run_id: int, items: Iterable[tuple[int, pd.DataFrame]]) -> int:
    """Forecast rows of many series in one binary COPY (``forecast_copy``); each frame's
    ``ds`` must be UTC instants."""
    stream, count = forecast_copy.encoded(run_id, list(items))
    if not count:
        return 0
    columns = ", ".join(forecast_copy.COLUMNS)
    statement = f"COPY forecast ({columns}) FROM STDIN (FORMAT BINARY)"
    with _driver(conn).cursor() as cur, cur.copy(statement) as copy:
        copy.write(stream)
    return count


def save_models(conn: Connection, states: Sequence[ModelState]) -> None:
    if not states:
        return
    conn.execute(
        text(
            "INSERT INTO forecast_model (series_id, run_id, format_version, fitted_at,"
            " history_end, n_points, data_hash, fit_seconds, warm_start, fit_state)"
            " VALUES (:series_id, :run_id, :version, :fitted_at, :history_end, :n_points,"
            " :data_hash, :fit_seconds, CAST(:warm_start AS jsonb), CAST(:fit_state AS jsonb))"
            " ON CONFLICT (series_id) DO UPDATE SET run_id = EXCLUDED.run_id,"
            " format_version = EXCLUDED.format_version, fitted_at = EXCLUDED.fitted_at,"
            " history_end = EXCLUDED.history_end, n_points = EXCLUDED.n_points,"
            " data_hash = EXCLUDED.data_hash, fit_seconds = EXCLUDED.fit_seconds,"
            " warm_start = EXCLUDED.warm_start, fit_state = EXCLUDED.fit_state"
        ),
        [
            {
                **{k: v for k, v in vars(s).items() if k not in ("warm_start", "fit_state")},
                "version": WARM_START_FORMAT,
                "warm_start": json.dumps(s.warm_start),
                "fit_state": None if s.fit_state is None else json.dumps(s.fit_state),
            }
            for s in states
        ],
    )


_REFRESHED = text(
    "UPDATE forecast_model SET run_id = :run_id, data_hash = :data_hash"
    " WHERE series_id = :series_id"
)


def save_refreshed(conn: Connection, run_id: int, windows: Sequence[tuple[int, str]]) -> None:
    """Point ``(series_id, data_hash)`` rows, forecast from their stored fit in ``run_id``, at
    that run's forecast; the fit itself (parameters, frame, history end) stays as stored."""
    if windows:
        conn.execute(
            _REFRESHED, [{"series_id": s, "run_id": run_id, "data_hash": h} for s, h in windows]
        )


_STORED_MODELS = text(
    "SELECT series_id, run_id, data_hash, format_version, warm_start, fit_state, history_end"
    " FROM forecast_model"
    " WHERE series_id = ANY (CAST(:ids AS int[]))"
)
# One row of arrays per series (as ``series.load_histories`` reads windows): ~72,000 rows of
# datetimes turned into a frame and grouped per series took 1.9 s of a steady national cycle.
_LATEST_FORECASTS = text(
    "SELECT series_id, array_agg((extract(epoch FROM ds) * 1000000)::int8 ORDER BY ds),"
    " array_agg(yhat ORDER BY ds), array_agg(yhat_lower ORDER BY ds),"
    " array_agg(yhat_upper ORDER BY ds)"
    " FROM forecast_latest WHERE series_id = ANY (CAST(:ids AS int[]))"
    " GROUP BY series_id ORDER BY series_id"
)


def stored_models(conn: Connection, series_ids: Sequence[int]) -> dict[int, StoredModel]:
    """Model state per series; ``warm_start`` is None for a format this build cannot read."""
    rows = conn.execute(_STORED_MODELS, {"ids": list(series_ids)}).all()
    models = {}
    for sid, run_id, digest, version, params, frame, end in rows:
        readable = version == WARM_START_FORMAT
        models[sid] = StoredModel(
            run_id, digest, params if readable else None, frame if readable else None, end
        )
    return models


def latest_forecasts(conn: Connection, series_ids: Sequence[int]) -> dict[int, pd.DataFrame]:
    """The forecast rows of each series' latest run (``ds`` as UTC instants)."""
    rows = conn.execute(_LATEST_FORECASTS, {"ids": list(series_ids)}).all()
    if not rows:
        return {}
    sids, micros, yhat, lower, upper = zip(*rows, strict=True)
    ds = pd.DatetimeIndex(np.concatenate(micros).astype("datetime64[us]")).tz_localize("UTC")
    every = pd.DataFrame(
        {
            "ds": ds,
            "yhat": np.concatenate(yhat).astype(float),
            "yhat_lower": np.concatenate(lower).astype(float),
            "yhat_upper": np.concatenate(upper).astype(float),
        }
    )
    # Slices of one frame: a DataFrame built per series costs ~0.8 ms, a slice ~50 us.
    ends = np.cumsum([len(m) for m in micros])
    return {
        int(sid): every.iloc[end - len(m) : end].reset_index(drop=True)
        for sid, m, end in zip(sids, micros, ends, strict=True)
    }


def save_failures(conn: Connection, run_id: int, failures: Sequence[tuple[int, str, str]]) -> None:
    """``(series_id, outcome, reason)`` rows; outcome is ``failed`` or ``skipped``."""
    if failures:
        conn.execute(
            text(
                "INSERT INTO forecast_failure (run_id, series_id, outcome, reason)"
                " VALUES (:run, :sid, :outcome, :reason) ON CONFLICT DO NOTHING"
            ),
            [{"run": run_id, "sid": s, "outcome": o, "reason": r[:2000]} for s, o, r in failures],
        )


def save_crossings(
    conn: Connection, run_id: int, computed_at: datetime, rows: Sequence[tuple[int, Decision]]
) -> int:
    """``(series_id, decision)`` rows; ``decision.crossing_at`` must be a UTC instant."""
    return _copy(
        conn,
        "COPY forecast_crossing (series_id, run_id, computed_at, threshold, direction,"
        " crossing_at, probability, lead_hours, raw_probability, rule) FROM STDIN",
        (
            (
                sid,
                run_id,
                computed_at,
                d.threshold,
                d.direction,
                _time(d.crossing_at),
                d.probability,
                d.lead_hours,
                d.raw_probability,
                d.rule,
            )
            for sid, d in rows
        ),
    )


def save_breach_predictions(
    conn: Connection, run_id: int, computed_at: datetime, scored: pd.DataFrame
) -> int:
    """Rows of ``lot_risk.score_held``."""
    values = zip(
        scored["lot_id"].tolist(),
        scored["site_id"].tolist(),
        scored["visit_no"].astype(int).tolist(),
        scored["breach_probability"].to_numpy(dtype=float).tolist(),
        _times(scored["predicted_breach_at"]),
        _times(scored["predicted_removal_at"]),
        scored["congestion"].to_numpy(dtype=float).tolist(),
        strict=True,
    )
    return _copy(
        conn,
        "COPY lot_breach_prediction (lot_id, site_id, visit_no, computed_at,"
        " breach_probability, predicted_breach_at, run_id, predicted_removal_at, congestion)"
        " FROM STDIN",
        (
            (lot, site, visit, computed_at, p, breach, run_id, removal, c)
            for lot, site, visit, p, breach, removal, c in values
        ),
    )


def prune(
    conn: Connection, now: datetime, *, forecast_days: int, prediction_days: int, run_days: int
) -> None:
    """Drop chunks of old forecasts, crossings and lot predictions, and delete old runs. Ages
    count back from the cycle's ``now`` (not the database clock), so a replay of past hours
    does not delete what it has just written."""
    for table, days in (
        ("forecast", forecast_days),
        ("forecast_crossing", prediction_days),
        ("lot_breach_prediction", prediction_days),
    ):
        conn.execute(
            text(
                "SELECT drop_chunks(CAST(:t AS regclass), older_than => CAST(:before AS timestamptz))"
            ),
            {"t": table, "before": now - timedelta(days=days)},
        )
    conn.execute(
        text("DELETE FROM forecast_run WHERE started_at < :before"),
        {"before": now - timedelta(days=run_days)},
    )


@dataclass(frozen=True)
class BacktestRow:
    """One method's pooled score. ``subject`` is an indicator code, ``hazardous_deadline`` or
    ``csv:<file>``; ``scope`` is a site id, ``incidents`` or ``all``."""

    kind: str
    subject: str
    scope: str
    score: Score
    chosen: bool = False
    horizon_hours: float | None = None


def save_backtest(
    conn: Connection, source: str, params: Mapping[str, Any], rows: Sequence[BacktestRow]
) -> int:
    """Store a finished backtest and its scores; returns its ``backtest_id``."""
    backtest_id = int(
        conn.execute(
            text(
                "INSERT INTO backtest_run (source, params, finished_at)"
                " VALUES (:s, CAST(:p AS jsonb), now()) RETURNING backtest_id"
            ),
            {"s": source, "p": json.dumps(params, default=str)},
        ).one()[0]
    )
    if rows:
        conn.execute(text(_RESULT_INSERT), [_result_params(backtest_id, r) for r in rows])
    return backtest_id


_RESULT_COLUMNS = (
    "backtest_id kind subject scope method chosen horizon_hours tp fp fn tn precision recall f1"
    " false_alarm_rate false_alarms_per_site_week false_alarm_episodes_per_site_week"
    " median_lead_hours median_timing_error_hours mae coverage"
).split()
_RESULT_INSERT = (
    f"INSERT INTO backtest_result ({', '.join(_RESULT_COLUMNS)})"
    f" VALUES ({', '.join(':' + c for c in _RESULT_COLUMNS)})"
    " ON CONFLICT (backtest_id, kind, subject, scope, method) DO NOTHING"
)


def _result_params(backtest_id: int, row: BacktestRow) -> dict[str, Any]:
    s = row.score
    rates = (
        "precision recall f1 false_alarm_rate false_alarms_per_site_week"
        " false_alarm_episodes_per_site_week median_lead_hours median_timing_error_hours mae"
        " coverage"
    ).split()
    return {
        "backtest_id": backtest_id,
        "kind": row.kind,
        "subject": row.subject,
        "scope": row.scope,
        "method": s.method,
        "chosen": row.chosen,
        "horizon_hours": row.horizon_hours,
        "tp": s.tp,
        "fp": s.fp,
        "fn": s.fn,
        "tn": s.tn,
        **{name: _number(getattr(s, name)) for name in rates},
    }

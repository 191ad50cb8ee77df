"""Hourly series for the forecaster, read from ``metric_hourly`` in each node's local time.

Which series: every ``(node, indicator)`` of a forecastable indicator, at every level (sites and
the office / customs / national rollups), with at least ``min_points`` hourly buckets in the
window. Which hours: complete ones only, ``[until - window, until)`` with ``until`` the start
of the current hour, because the rollup re-aggregates the running hour every few minutes and a
partial hour would change the training data (and force a refit) on every cycle.

Time: Prophet rejects tz-aware ``ds`` and its daily seasonality should line up with local
shifts (reference §2.6), so ``ds`` is the bucket in the node's ``org_node.timezone`` with the
zone dropped. ``to_utc`` maps forecast rows back.

``y`` is the bucket's ``avg`` (the hourly mean of the minute points). Gaps stay gaps: Prophet
is a continuous-time regression and fits around them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class SeriesKey:
    """One forecastable series and the facts needed to forecast it."""

    series_id: int
    node_id: str
    indicator_code: str
    level: str
    timezone: str
    points: int


def hour_floor(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


_SERIES_SQL = """
SELECT s.series_id, s.node_id, s.indicator_code, n.level, n.timezone, count(*) AS points
FROM series s
JOIN indicator i ON i.code = s.indicator_code AND i.forecastable
JOIN org_node n ON n.node_id = s.node_id
JOIN metric_hourly h ON h.series_id = s.series_id
     AND h.bucket >= CAST(:since AS timestamptz) AND h.bucket < CAST(:until AS timestamptz)
WHERE (CAST(:nodes AS text[]) IS NULL OR s.node_id = ANY (CAST(:nodes AS text[])))
  AND (CAST(:codes AS text[]) IS NULL OR s.indicator_code = ANY (CAST(:codes AS text[])))
GROUP BY s.series_id, s.node_id, s.indicator_code, n.level, n.timezone
HAVING count(*) >= :min_points
ORDER BY s.series_id
"""


def forecastable_series(
    conn: Connection,
    since: datetime,
    until: datetime,
    *,
    min_points: int,
    nodes: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
) -> list[SeriesKey]:
    """Series of forecastable indicators with ``min_points`` buckets in ``[since, until)``,
    optionally only for the given node ids and indicator codes."""
    params = {
        "since": since,
        "until": until,
        "min_points": min_points,
        "nodes": list(nodes) if nodes else None,
        "codes": list(indicators) if indicators else None,
    }
    return [SeriesKey(*row) for row in conn.execute(text(_SERIES_SQL), params).all()]


# Epoch seconds, not timestamptz: building 1M Python datetimes per national cycle took seconds.
# One row of two arrays per series, not one row per hour: 200 rows per chunk instead of 134,400
# SQLAlchemy rows turned back into columns in Python (3.4 of the 10 s of a steady national cycle).
_HISTORY_SQL = """
SELECT h.series_id, array_agg(extract(epoch FROM h.bucket)::float8 ORDER BY h.bucket),
       array_agg(h.avg ORDER BY h.bucket)
FROM metric_hourly h
WHERE h.series_id = ANY (CAST(:ids AS int[]))
  AND h.bucket >= CAST(:since AS timestamptz) AND h.bucket < CAST(:until AS timestamptz)
GROUP BY h.series_id
"""


def load_histories(
    conn: Connection,
    keys: Sequence[SeriesKey],
    since: datetime,
    until: datetime,
    *,
    chunk: int = 200,
) -> Iterator[tuple[SeriesKey, pd.DataFrame]]:
    """``(key, DataFrame[ds, y])`` per series, ``ds`` naive local time, in ``keys`` order.

    Reads ``chunk`` series per query so memory stays flat at national scale (~4,800 series x
    672 hours) and the first fits can start while later chunks load.
    """
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        rows = conn.execute(
            text(_HISTORY_SQL), {"ids": [k.series_id for k in part], "since": since, "until": until}
        ).all()
        arrays = {sid: (epochs, values) for sid, epochs, values in rows}
        for key in part:
            if key.series_id in arrays:
                epochs, values = arrays[key.series_id]
                yield key, local_frame(np.asarray(epochs), np.asarray(values), key.timezone)


def rows_frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame from result rows, built column by column: handing SQLAlchemy ``Row``
    objects to ``pd.DataFrame`` probes each row with ``hasattr`` through SQLAlchemy's missing-key
    path (7 of the 13 s of a 300-series cycle here)."""
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    return pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))


def local_frame(buckets: Any, values: Any, timezone: str) -> pd.DataFrame:
    """``ds`` (naive wall-clock time in ``timezone``) and float ``y``; ``buckets`` (a Series or
    an array) are instants or epoch seconds."""
    raw = np.asarray(buckets)
    if raw.dtype == np.float64:
        ds = np.frombuffer(_local_ns(timezone, raw.tobytes()), dtype="datetime64[ns]").copy()
    else:
        ds = _to_local(raw, timezone)
    return pd.DataFrame({"ds": ds, "y": np.asarray(values, dtype=float)})


def _to_local(buckets: Any, timezone: str) -> np.ndarray:
    numeric = pd.api.types.is_numeric_dtype(np.asarray(buckets).dtype)
    utc = pd.DatetimeIndex(pd.to_datetime(buckets, unit="s" if numeric else None, utc=True))
    local: np.ndarray = utc.tz_convert(timezone).tz_localize(None).to_numpy("datetime64[ns]")
    return local


# The series of one cycle share their hours: most windows are the same 672 epochs, and most
# forecasts the same 48 local hours. A conversion costs ~0.5-1 ms in pandas, a cache hit a
# hash of a few KB; hits return copies, so no caller shares an array.
@functools.lru_cache(maxsize=128)
def _local_ns(timezone: str, epochs: bytes) -> bytes:
    return _to_local(np.frombuffer(epochs, dtype=np.float64), timezone).tobytes()


@functools.lru_cache(maxsize=128)
def _utc_ns(timezone: str, local: bytes) -> bytes:
    naive = pd.DatetimeIndex(np.frombuffer(local, dtype="datetime64[ns]"))
    aware = naive.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    utc: np.ndarray = aware.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]")
    return utc.tobytes()


def to_utc(local: pd.Series, timezone: str) -> pd.Series:
    """Naive local ``ds`` back to UTC instants. A wall time that does not exist (DST gap) moves
    forward; an ambiguous one takes the first occurrence (China has no DST; other zones might)."""
    return pd.Series(utc_instants(local, timezone), index=local.index, name=local.name)


def utc_instants(local: Any, timezone: str) -> pd.DatetimeIndex:
    """``to_utc`` for a column or an array of naive local times, as an index of UTC instants
    (the cycle builds its frames from arrays: a Series per call costs more than the
    conversion)."""
    raw = np.asarray(local)
    if raw.dtype == np.dtype("datetime64[ns]"):
        converted = np.frombuffer(_utc_ns(timezone, raw.tobytes()), "datetime64[ns]")
        return pd.DatetimeIndex(converted.copy(), tz=None).tz_localize("UTC")
    naive = pd.DatetimeIndex(pd.to_datetime(local))
    zoned = naive.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return zoned.tz_convert("UTC")


def data_hash(history: pd.DataFrame, salt: str = "") -> str:
    """Fingerprint of a training window: equal hashes mean the same fit would come out.

    Values are rounded to 9 decimals so that float noise from re-aggregation does not force a
    refit; ``salt`` carries the model settings and horizon.
    """
    ds = history["ds"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    y = np.round(history["y"].to_numpy(dtype=float), 9)
    digest = hashlib.sha1(salt.encode())
    digest.update(ds.tobytes())
    digest.update(y.tobytes())
    return digest.hexdigest()

"""Forecast rows in PostgreSQL's binary COPY format, for ``store.save_forecasts``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# A forecast row in PostgreSQL's binary COPY format (documented with the COPY command): a field
# count, then each field as its byte length and value, big-endian; timestamptz is microseconds
# since 2000-01-01 UTC. A national cycle writes ~72,000 rows: one numpy record array is ~5 ms,
# where psycopg's write_row with a datetime per row took ~3 s of the hourly cycle under cProfile
# on a slow machine (docs/benchmarks.md run E: no difference measurable without it).
_FIELDS = (
    ("ds", ">i8"),
    ("run_id", ">i8"),
    ("series_id", ">i4"),
    ("yhat", ">f8"),
    ("yhat_lower", ">f8"),
    ("yhat_upper", ">f8"),
)
COLUMNS = tuple(name for name, _ in _FIELDS)
_ROW = np.dtype(
    [("fields", ">i2")]
    + [item for name, kind in _FIELDS for item in ((f"{name}_size", ">i4"), (name, kind))]
)
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no extension
_TRAILER = b"\xff\xff"  # a field count of -1
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds


def pg_microseconds(column: pd.Series) -> np.ndarray:
    """UTC instants as PostgreSQL's binary timestamptz: microseconds since 2000, floored (as
    the text path floored nanoseconds)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(column, utc=True))
    if stamps.hasnans:
        raise ValueError("forecast ds: a missing instant (NaT); ds is NOT NULL")
    nanos: np.ndarray = stamps.as_unit("ns").asi8
    return nanos // 1000 - _PG_EPOCH_US


def encoded(run_id: int, frames: Sequence[tuple[int, pd.DataFrame]]) -> tuple[bytes, int]:
    """The whole COPY stream for ``frames`` (series id, forecast with UTC ``ds``) of one run,
    and its row count; empty frames add nothing."""
    frames = [(sid, frame) for sid, frame in frames if len(frame)]
    rows = np.zeros(sum(len(frame) for _, frame in frames), dtype=_ROW)
    rows["fields"] = len(COLUMNS)
    for name in COLUMNS:
        rows[f"{name}_size"] = _ROW[name].itemsize
    rows["run_id"] = run_id
    if frames:
        rows["series_id"] = np.repeat([sid for sid, _ in frames], [len(f) for _, f in frames])
        rows["ds"] = np.concatenate([pg_microseconds(frame["ds"]) for _, frame in frames])
        for name in COLUMNS[3:]:  # the forecast and its band
            rows[name] = np.concatenate([frame[name].to_numpy(dtype=float) for _, frame in frames])
    return _SIGNATURE + rows.tobytes() + _TRAILER, len(rows)

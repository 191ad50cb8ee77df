"""An external ``timestamp,value`` CSV as the hourly ``ds, y`` frame the backtest scores.

The file is refused, with its path, the line and the reason, wherever reading it would mean
scoring something other than what it holds: not UTF-8 text, not two columns, a timestamp or a
value that does not parse, a value that is not finite, or data coarser than hourly. A missing
value (an empty cell, ``NA``, ``n/a`` and pandas' other missing-value markers) is a gap, as a
missing hour is; blank lines are skipped. Nothing is stored, so refusing the whole file loses
nothing: the user fixes the line and runs the command again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def read_csv_series(path: Path) -> pd.DataFrame:
    """``timestamp,value`` as an hourly ``ds, y`` frame (mean per hour), with any time zone
    converted to UTC and dropped; ``ValueError`` naming the file and the line otherwise.

    The first row is a header unless it parses as a timestamp and a number. Data finer than
    hourly is averaged per hour; coarser data (median spacing over 1 h, e.g. daily) is refused:
    spreading a daily value over 24 hours would invent the daily cycle the backtest scores.
    """
    raw = _table(path)
    if raw.shape[1] != 2:
        raise ValueError(
            f"{path}: expected two columns, timestamp and value; line 1 has {raw.shape[1]} field(s)"
        )
    if not _is_data_row(raw.iat[0, 0], raw.iat[0, 1]):
        raw = raw.iloc[1:]
    raw = raw.dropna(how="all")  # blank lines
    if raw.empty:
        raise ValueError(f"{path}: no data rows")
    stamps = _timestamps(path, raw.iloc[:, 0])
    values = _values(path, raw.iloc[:, 1])
    series = pd.Series(values, index=stamps.to_numpy()).sort_index()
    spacing = pd.Series(series.index.unique()).diff().median()
    if pd.notna(spacing) and spacing > pd.Timedelta(hours=1):
        raise ValueError(
            f"{path}: timestamps are {spacing} apart (median); the backtest scores hourly"
            " series with a daily cycle, so give hourly or finer data"
        )
    hourly = series.resample("h").mean()
    return pd.DataFrame({"ds": hourly.index, "y": hourly.to_numpy()})


def _table(path: Path) -> pd.DataFrame:
    """Every line as text cells, index = line number - 1 (blank lines kept as empty rows so
    that the numbers stay true); a byte-order mark is dropped."""
    try:
        raw = pd.read_csv(
            path, header=None, dtype=str, skip_blank_lines=False, encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: not a CSV of timestamp,value ({exc})") from None
    return raw.reset_index(drop=True)


def _timestamps(path: Path, cells: pd.Series) -> pd.Series:
    if cells.isna().any():
        raise ValueError(f"{path}: line {_line(cells.isna())}: the timestamp is missing")
    parsed = pd.to_datetime(cells, utc=True, format="mixed", errors="coerce")
    if parsed.isna().any():
        bad = parsed.isna()
        raise ValueError(
            f"{path}: line {_line(bad)}: {_shown(cells[bad].iloc[0])} is not a timestamp"
        )
    return parsed.dt.tz_localize(None)


def _values(path: Path, cells: pd.Series) -> np.ndarray:
    values = pd.to_numeric(cells, errors="coerce")
    unreadable = values.isna() & cells.notna()
    if unreadable.any():
        raise ValueError(
            f"{path}: line {_line(unreadable)}: {_shown(cells[unreadable].iloc[0])} is not a"
            " number (leave the cell empty for a missing value)"
        )
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(
            f"{path}: line {_line(infinite)}: {_shown(cells[infinite].iloc[0])} is not a finite"
            " number"
        )
    return np.asarray(values, dtype=float)


def _line(mask: pd.Series) -> int:
    return int(mask[mask].index[0]) + 1


def _shown(cell: object) -> str:
    text = str(cell)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _is_data_row(stamp: object, value: object) -> bool:
    try:
        pd.Timestamp(str(stamp))
        float(str(value))
    except ValueError:
        return False
    return True

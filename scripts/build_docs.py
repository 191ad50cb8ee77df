"""Regenerate the parts of docs/ that are derived from code: the indicator catalogue."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.indicators.compile import compile_spec  # noqa: E402
from collector.indicators.event_source import EVENTS  # noqa: E402
from collector.indicators.examples import GATE_IN_RIVER_PER_HOUR, RIVER_21_OVER_48H  # noqa: E402
from collector.indicators.spec import (  # noqa: E402
    EVENTS_WINDOW_HOURS,
    MAX_WINDOW_HOURS,
    IndicatorSpec,
)
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
    lines.append(
        f"- `{EVENTS.name}`: `occurred_at > t - interval 'W hours' AND occurred_at <= t`, W the"
        " widest `window_hours` of the active `source: events` specs (specs only)"
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
    "code": "lower-case letters, digits and `_` (3 to 63), unique nationwide; the series name;"
    " below `CN` it starts with its owner's namespace, `n<node id>__` (see the API section)",
    "name_en / name_zh / unit": "display names and unit",
    "theme": "one of the six themes above",
    "direction": "`higher_is_worse`, `higher_is_better` or `neutral`",
    "source": "`lots` (default; the lot-based sources above) or `events` (cargo events, the"
    " `cargo_events` source above)",
    "population": "lots: `present` (default), `arrived`, `declared`, `inspected`, `released`,"
    " `removed`; events have none",
    "window_hours": "lots: narrow a windowed population (at most its 24 h) on its defining stage"
    " time; events: required, more than 0 and at most 24, on `occurred_at`",
    "filters": "conditions that must all hold; a list is any of its values",
    "measure": "`count` (default) or `share`; lots: `duration`, `dwell`, `sum_teu`; events:"
    " `per_hour`, `delay`",
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
    "event_kind": "events only: kinds of event (`arrived`, `declared`, `inspection_started`,"
    " `inspection_finished`, `released`, `removed`, `held`, `hold_lifted`)",
    "late_over_minutes": "events only: received more than this many minutes after it occurred",
}
MEASURES = {
    "count": "number of rows",
    "share": "percent of the rows that also pass `part` (filters)",
    "duration": "`from`, `to` (a stage time or `now`), `stat`: hours between the two",
    "dwell": "`stat` of hours on site at t (present lots)",
    "sum_teu": "sum of TEU",
    "per_hour": "events: number of rows divided by `window_hours`",
    "delay": "events: `stat` of minutes from `occurred_at` to `received_at`",
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
    "# create, owned by the token's node (here Nanjing customs, 2300) or `scope` (a node of its",
    "# subtree); the code starts with the owner's namespace (below)",
    "curl -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
    "  -d @spec.json http://127.0.0.1:8080/api/v1/indicators",
    "# change: a changed definition is the next version; points carry the version",
    "curl -X PATCH -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
    '  -d \'{"filters": {"dwell_over_hours": 24}}\' \\',
    "  http://127.0.0.1:8080/api/v1/indicators/n2300__haz21_river_over_48h",
    "# propose for national scope; a national (CN) admin publishes",
    "curl -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
    '  -d \'{"comment": "why"}\' \\',
    "  http://127.0.0.1:8080/api/v1/indicators/n2300__haz21_river_over_48h/propose",
    'curl -X POST -H "Authorization: Bearer $CN_TOKEN" \\',
    "  http://127.0.0.1:8080/api/v1/indicators/n2300__haz21_river_over_48h/publish",
    "# retire: it stops computing; its versions and points stay",
    'curl -X DELETE -H "Authorization: Bearer $TOKEN" \\',
    "  http://127.0.0.1:8080/api/v1/indicators/n2300__haz21_river_over_48h",
    "```",
    "",
    "Codes are unique nationwide (rules, metric points and the forecaster name indicators by",
    "code), so a code below `CN` carries its owner's namespace: `n`, the owner's node id in",
    "lower case with other characters as `_`, then `__` (`n2300__` for Nanjing customs,",
    "`n2301_longtan__` for a site). A code created at `CN` contains no `__`; publishing keeps",
    "the code. Any other code is a 422 naming `code` and the prefix, checked before the code",
    'is looked up, so a 409 "Code taken" only names a code the caller can already see (its own',
    "namespace, a national code or a built-in), and a customs learns nothing about codes in a",
    "tree it cannot see.",
    "",
    "An invalid spec is a 422 naming the field (`errors[].field`), cost refusals included.",
    "Publishing stores the spec as the next version owned by `CN`. Each write is an",
    "`audit_log` row (`object_type` `indicator`, at the owner node; `GET /api/v1/audit`).",
]


def spec_markdown() -> list[str]:
    example = compile_spec(IndicatorSpec.model_validate(RIVER_21_OVER_48H))
    events = compile_spec(IndicatorSpec.model_validate(GATE_IN_RIVER_PER_HOUR))
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
        *yaml.safe_dump(RIVER_21_OVER_48H, allow_unicode=True, sort_keys=False).splitlines(),
        "```",
        "",
        f"Its definition reads: {example.definition}",
        "",
        "### Cargo events (`source: events`)",
        "",
        "A spec of `source: events` aggregates the cargo events themselves (`cargo_event`), not",
        "lots: every event that occurred in its `window_hours` before t (required, at most"
        f" {EVENTS_WINDOW_HOURS:g} h),",
        "at the site that sent it. The filters `hazardous`, `hazard_class`, `un_number`,",
        "`has_un_number`, `packing_group`, `direction` and `site_type` read the facts the event",
        "itself stated (an event that omits its hazard class is not hazardous here, even when its",
        "lot is); `event_kind` and `late_over_minutes` are for events only, and the lot filters",
        "(`stage`, `on_hold`, `deadline`, `limit_hours_at_most`, `stamped`, `within_hours`,",
        "`dwell_over_hours`, `longer_than`) are a 422 naming the filter, like a lot measure.",
        "Every events spec is one more aggregate of one statement over the events of the widest",
        "window of the active events specs before each time, bounded on `occurred_at` (the",
        "hypertable's time column) so only the chunks of the batch are read; a parent's value",
        "comes from its sites' rows with the same expression: a count",
        "or a rate of the nation is the sum of its customs', a `delay` p90 is the p90 of all",
        "the nation's events.",
        "",
        "Example: gate-in events per hour at river ports.",
        "",
        "```yaml",
        *yaml.safe_dump(GATE_IN_RIVER_PER_HOUR, allow_unicode=True, sort_keys=False).splitlines(),
        "```",
        "",
        f"Its definition reads: {events.definition}",
        "",
        "At 10:00, a river terminal with gate-in (`arrived`) events at 08:00, 09:00 and 09:30",
        "reads 1.0: two events after 08:00, over 2 h (08:00 itself is not after t - 2 h). Its",
        "office and customs read the sum of their river sites' rates, the nation the sum of",
        "every customs'. Sea ports read 0.",
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

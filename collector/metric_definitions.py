"""The one definition of every built-in indicator (the "data caliber").

Each indicator is an aggregate expression over the rows of one *source* (the lots present at a
time t, the lots released in the 24 h before t, ...). `metrics.py` evaluates every source once
per batch of times, grouped by GROUPING SETS over site, office, customs and the nation, so a
national figure is computed from the same rows with the same expression as a site's: p90 dwell is
the p90 over all the nation's lots, never an average of site p90s.

In expressions, `t` is the evaluation time and the source's columns are in scope.

Lot-based built-ins are specs (`_spec`, compiled by collector/indicators/compile.py like a
user's); the rest stay hand-written SQL, each group saying why the spec cannot express it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from collector.indicators.base import HOURS, Indicator, hours
from collector.indicators.compile import compile_spec
from collector.indicators.spec import IndicatorSpec

__all__ = ["HOURS", "INDICATORS", "SOURCES", "Indicator", "Source", "hours"]

LOT_COLUMNS = (
    "site_id, hazard_class, un_number, packing_group, direction, teu, arrived_at, declared_at,"
    " inspection_started_at, inspection_finished_at, released_at, removed_at, held_at, hold_lifted_at,"
    " limit_hours, deadline_at, warn_at"
)


@dataclass(frozen=True)
class Source:
    """Rows an indicator aggregates over: a candidate filter (index-friendly, over the whole
    batch of times [tmin, tmax]) and the membership test for one time t."""

    name: str
    table: str
    candidates: str
    member: str
    live_only: bool = False
    # Only these columns are carried into the aggregation: lot rows are wide.
    columns: str = LOT_COLUMNS


PRESENT = "arrived_at <= t AND coalesce(removed_at, 'infinity') > t"
SOURCES: dict[str, Source] = {
    "present": Source(
        "present",
        "lot",
        "arrived_at <= :tmax AND coalesce(removed_at, 'infinity') > :tmin",
        PRESENT,
    ),
    "released": Source(
        "released",
        "lot",
        "released_at > CAST(:tmin AS timestamptz) - interval '24 hours' AND released_at <= :tmax",
        "released_at > t - interval '24 hours' AND released_at <= t",
    ),
    "inspected": Source(
        "inspected",
        "lot",
        "inspection_finished_at > CAST(:tmin AS timestamptz) - interval '24 hours'"
        " AND inspection_finished_at <= :tmax",
        "inspection_finished_at > t - interval '24 hours' AND inspection_finished_at <= t",
    ),
    "removed": Source(
        "removed",
        "lot",
        "removed_at > CAST(:tmin AS timestamptz) - interval '24 hours' AND removed_at <= :tmax",
        "removed_at > t - interval '24 hours' AND removed_at <= t",
    ),
    "arrived": Source(
        "arrived",
        "lot",
        "arrived_at > CAST(:tmin AS timestamptz) - interval '24 hours' AND arrived_at <= :tmax",
        "arrived_at > t - interval '24 hours' AND arrived_at <= t",
    ),
    "declared": Source(
        "declared",
        "lot",
        "declared_at > CAST(:tmin AS timestamptz) - interval '24 hours' AND declared_at <= :tmax",
        "declared_at > t - interval '24 hours' AND declared_at <= t",
    ),
    "events": Source(
        "events",
        "cargo_event",
        "occurred_at > CAST(:tmin AS timestamptz) - interval '2 hours' AND occurred_at <= :tmax",
        "occurred_at > t - interval '2 hours' AND occurred_at <= t",
        columns="site_id, occurred_at, received_at",
    ),
    "feeds": Source(
        "feeds",
        "station_feed",
        "enabled",
        "true",
        live_only=True,
        columns="site_id, consecutive_failures",
    ),
    # Customs declarations with their risk mark (collector/risk/): risk_score is set when any
    # feature or rule flagged the declaration, risk_rules lists the rules that hit it.
    "declarations": Source(
        "declarations",
        "declaration",
        "declared_at > CAST(:tmin AS timestamptz) - interval '24 hours' AND declared_at <= :tmax",
        "declared_at > t - interval '24 hours' AND declared_at <= t",
        columns="site_id, declared_at, risk_score, risk_rules",
    ),
    "risk_reviews": Source(
        "risk_reviews",
        "risk_review",
        "reviewed_at > CAST(:tmin AS timestamptz) - interval '30 days' AND reviewed_at <= :tmax",
        "reviewed_at > t - interval '30 days' AND reviewed_at <= t",
        columns="site_id, reviewed_at, outcome",
    ),
}


def _share(part: str, whole: str = "true") -> str:
    return (
        f"100.0 * count(*) FILTER (WHERE ({whole}) AND ({part}))"
        f" / nullif(count(*) FILTER (WHERE {whole}), 0)"
    )


WORSE, BETTER, NEUTRAL = "higher_is_worse", "higher_is_better", "neutral"


def _spec(definition: str, **spec: Any) -> Indicator:
    """A built-in written as a spec (collector/indicators/spec.py), compiled like a user's.

    The catalogue keeps the reviewed hand-written definition; the spec is the caliber.
    tests/collector/indicators/test_builtin_specs.py checks the compiled SQL gives exactly
    the values of the hand-written SQL it replaced.
    """
    return replace(compile_spec(IndicatorSpec.model_validate(spec)), definition=definition)


INDICATORS: tuple[Indicator, ...] = (
    # -- hazardous goods safety -------------------------------------------------------------
    _spec(
        "Hazardous lots (any IMDG class) at the site at t.",
        code="hazardous_lots_held",
        name_en="Hazardous lots held",
        name_zh="在场危险品批次",
        unit="lots",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True},
        forecastable=True,
    ),
    _spec(
        "Hazardous lots at the site whose storage deadline is at or before t.",
        code="hazardous_overdue",
        name_en="Hazardous lots overdue",
        name_zh="超期滞留危险品批次",
        unit="lots",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True, "deadline": "overdue"},
        forecastable=True,
    ),
    _spec(
        "Hazardous lots past their warning point (share of the limit) but not yet overdue.",
        code="hazardous_near_deadline",
        name_en="Hazardous lots near deadline",
        name_zh="临近期限危险品批次",
        unit="lots",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True, "deadline": "near"},
        forecastable=True,
    ),
    _spec(
        "Hours the most overdue hazardous lot is past its deadline.",
        code="hazardous_max_overdue_hours",
        name_en="Longest overdue hazardous lot",
        name_zh="最长超期时长",
        unit="h",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True, "deadline": "overdue"},
        measure={"kind": "duration", "from": "deadline", "to": "now", "stat": "max"},
        empty="zero",
    ),
    _spec(
        "Longest time on site among held hazardous lots.",
        code="hazardous_dwell_max_hours",
        name_en="Max dwell of held hazardous lots",
        name_zh="危险品最长滞留时长",
        unit="h",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True},
        measure={"kind": "dwell", "stat": "max"},
        empty="zero",
        forecastable=True,
    ),
    _spec(
        "90th percentile of time on site among held hazardous lots.",
        code="hazardous_dwell_p90_hours",
        name_en="p90 dwell of held hazardous lots",
        name_zh="危险品滞留时长P90",
        unit="h",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True},
        measure={"kind": "dwell", "stat": "p90"},
        forecastable=True,
    ),
    _spec(
        "Held hazardous lots whose class must not be stored (limit of 2 h or less).",
        code="hazardous_direct_only_held",
        name_en="Direct-only hazardous lots held",
        name_zh="直装直提类危险品在场",
        unit="lots",
        theme="hazardous_goods",
        direction=WORSE,
        filters={"hazardous": True, "limit_hours_at_most": 2},
    ),
    _spec(
        "Held hazardous lots whose inspection started more than 120 h before t and is open.",
        code="hazardous_lab_wait_over_5d",
        name_en="Hazardous lots in inspection over 5 days",
        name_zh="危险品查验超5天",
        unit="lots",
        theme="hazardous_goods",
        direction=WORSE,
        filters={
            "hazardous": True,
            "stage": ["inspecting"],
            "longer_than": [{"from": "inspection_started", "hours": 120, "inclusive": True}],
        },
    ),
    _spec(
        "Hazardous lots that arrived in the 24 h before t.",
        code="hazardous_arrivals_24h",
        name_en="Hazardous arrivals (24 h)",
        name_zh="危险品到港批次(24小时)",
        unit="lots",
        theme="hazardous_goods",
        direction=NEUTRAL,
        population="arrived",
        filters={"hazardous": True},
    ),
    _spec(
        "Share of hazardous lots removed in the 24 h before t that left after their deadline.",
        code="hazardous_removed_overdue_share",
        name_en="Hazardous lots removed late",
        name_zh="危险品超期提离占比",
        unit="%",
        theme="hazardous_goods",
        direction=WORSE,
        population="removed",
        filters={"hazardous": True},
        measure={
            "kind": "share",
            "part": {"longer_than": [{"from": "deadline", "to": "removed", "hours": 0}]},
        },
    ),
    # -- process timeliness ---------------------------------------------------------------------
    _spec(
        "Median of declaration to release, over lots released in the 24 h before t.",
        code="clearance_time_p50_hours",
        name_en="Clearance time p50",
        name_zh="通关时间中位数",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="released",
        measure={"kind": "duration", "from": "declared", "to": "released", "stat": "p50"},
        forecastable=True,
    ),
    _spec(
        "90th percentile of declaration to release, over lots released in the 24 h before t.",
        code="clearance_time_p90_hours",
        name_en="Clearance time p90",
        name_zh="通关时间P90",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="released",
        measure={"kind": "duration", "from": "declared", "to": "released", "stat": "p90"},
        forecastable=True,
    ),
    _spec(
        "Mean of declaration to release, over lots released in the 24 h before t.",
        code="clearance_time_mean_hours",
        name_en="Clearance time mean",
        name_zh="平均通关时间",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="released",
        measure={"kind": "duration", "from": "declared", "to": "released", "stat": "mean"},
    ),
    _spec(
        "Mean of arrival to release over lots released in the 24 h before t (the GACC overall clearance time, import side).",
        code="overall_release_time_mean_hours",
        name_en="Arrival to release, mean",
        name_zh="整体通关时间",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="released",
        measure={"kind": "duration", "from": "arrived", "to": "released", "stat": "mean"},
    ),
    _spec(
        "Median of inspection start to finish over inspections finished in the 24 h before t.",
        code="inspection_duration_p50_hours",
        name_en="Inspection duration p50",
        name_zh="查验时长中位数",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="inspected",
        measure={
            "kind": "duration",
            "from": "inspection_started",
            "to": "inspection_finished",
            "stat": "p50",
        },
    ),
    _spec(
        "90th percentile of inspection duration over inspections finished in the 24 h before t.",
        code="inspection_duration_p90_hours",
        name_en="Inspection duration p90",
        name_zh="查验时长P90",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="inspected",
        measure={
            "kind": "duration",
            "from": "inspection_started",
            "to": "inspection_finished",
            "stat": "p90",
        },
    ),
    _spec(
        "Median of arrival to removal over lots removed in the 24 h before t.",
        code="dwell_p50_hours",
        name_en="Arrival to removal p50",
        name_zh="在港时长中位数",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="removed",
        measure={"kind": "duration", "from": "arrived", "to": "removed", "stat": "p50"},
    ),
    _spec(
        "90th percentile of arrival to removal over lots removed in the 24 h before t.",
        code="dwell_p90_hours",
        name_en="Arrival to removal p90",
        name_zh="在港时长P90",
        unit="h",
        theme="process_timeliness",
        direction=WORSE,
        population="removed",
        measure={"kind": "duration", "from": "arrived", "to": "removed", "stat": "p90"},
    ),
    _spec(
        "Share of lots released in the 24 h before t that were declared before arrival.",
        code="advance_declaration_share",
        name_en="Declared in advance",
        name_zh="提前申报占比",
        unit="%",
        theme="process_timeliness",
        direction=BETTER,
        population="released",
        filters={"stamped": ["declared", "arrived"]},
        measure={
            "kind": "share",
            "part": {"longer_than": [{"from": "declared", "to": "arrived", "hours": 0}]},
        },
    ),
    # -- business anomaly -----------------------------------------------------------------------
    _spec(
        "Lots at the site under a hold not lifted by t.",
        code="lots_on_hold",
        name_en="Lots on customs hold",
        name_zh="扣留批次",
        unit="lots",
        theme="business_anomaly",
        direction=WORSE,
        filters={"on_hold": True},
        forecastable=True,
    ),
    _spec(
        "Lots at the site more than 14 days after arrival with no declaration by t (Customs Law art. 24 clock).",
        code="undeclared_over_14d",
        name_en="Undeclared over 14 days",
        name_zh="超14天未申报批次",
        unit="lots",
        theme="business_anomaly",
        direction=WORSE,
        filters={
            "stage": ["not_declared"],
            "longer_than": [{"from": "arrived", "hours": 336, "inclusive": True}],
        },
    ),
    _spec(
        "Lots whose inspection started more than 24 h before t and has not finished.",
        code="inspection_backlog_24h",
        name_en="Inspections open over 24 h",
        name_zh="查验积压(超24小时)",
        unit="lots",
        theme="business_anomaly",
        direction=WORSE,
        filters={
            "stage": ["inspecting"],
            "longer_than": [{"from": "inspection_started", "hours": 24, "inclusive": True}],
        },
        forecastable=True,
    ),
    _spec(
        "Lots released more than 48 h before t that are still at the site.",
        code="released_not_removed_48h",
        name_en="Released, not removed after 48 h",
        name_zh="放行未提离超48小时",
        unit="lots",
        theme="business_anomaly",
        direction=WORSE,
        filters={"longer_than": [{"from": "released", "hours": 48, "inclusive": True}]},
    ),
    _spec(
        "Share of lots released in the 24 h before t that were inspected.",
        code="inspection_rate",
        name_en="Inspection rate",
        name_zh="查验率",
        unit="%",
        theme="business_anomaly",
        direction=NEUTRAL,
        population="released",
        measure={"kind": "share", "part": {"stamped": ["inspection_started"]}},
    ),
    # -- declaration risk ---------------------------------------------------------------------------
    _spec(
        "Held lots declared with a hazard class but no UN number (possible misdeclaration).",
        code="hazardous_missing_un_number",
        name_en="Hazardous lots without UN number",
        name_zh="危险品未申报联合国编号",
        unit="lots",
        theme="declaration_risk",
        direction=WORSE,
        filters={"hazardous": True, "has_un_number": False},
    ),
    _spec(
        "Share of lots declared in the 24 h before t whose declaration came more than 14 days after arrival.",
        code="late_declaration_share",
        name_en="Declarations over 14 days late",
        name_zh="超期申报占比",
        unit="%",
        theme="declaration_risk",
        direction=WORSE,
        population="declared",
        filters={"stamped": ["arrived"]},
        measure={
            "kind": "share",
            "part": {"longer_than": [{"from": "arrived", "to": "declared", "hours": 336}]},
        },
    ),
    _spec(
        "Lots declared in the 24 h before t.",
        code="declarations_24h",
        name_en="Declarations (24 h)",
        name_zh="申报批次(24小时)",
        unit="lots",
        theme="declaration_risk",
        direction=NEUTRAL,
        population="declared",
    ),
    # Hand-written from here: declarations and risk reviews are not lots (the spec's only source),
    # and their fields (risk_score, risk_rules, outcome) have no filters in the spec.
    Indicator(
        "declarations_screened_24h",
        "Declarations screened (24 h)",
        "已筛查报关单(24小时)",
        "declarations",
        "declaration_risk",
        NEUTRAL,
        "Customs declarations declared in the 24 h before t (each is screened as it is stored).",
        "declarations",
        "count(*)",
    ),
    Indicator(
        "declarations_flagged_24h",
        "Flagged declarations (24 h)",
        "风险标记报关单(24小时)",
        "declarations",
        "declaration_risk",
        WORSE,
        "Declarations declared in the 24 h before t that a risk feature or rule flagged.",
        "declarations",
        "count(*) FILTER (WHERE risk_score IS NOT NULL)",
        forecastable=True,
    ),
    Indicator(
        "declaration_flag_rate_per_1000",
        "Flag rate per 1,000 declarations",
        "每千票报关单风险标记数",
        "per 1000",
        "declaration_risk",
        WORSE,
        "Flagged declarations per 1,000 declared in the 24 h before t.",
        "declarations",
        "1000.0 * count(*) FILTER (WHERE risk_score IS NOT NULL) / nullif(count(*), 0)",
        empty=None,
    ),
    Indicator(
        "risk_rule_hits_24h",
        "Risk rule hits (24 h)",
        "风险规则命中(24小时)",
        "hits",
        "declaration_risk",
        WORSE,
        "Risk rule matches on declarations declared in the 24 h before t (one per rule).",
        "declarations",
        "coalesce(sum(cardinality(risk_rules)), 0)",
    ),
    Indicator(
        "risk_flag_precision",
        "Flag precision (30 d)",
        "风险标记查获率(30天)",
        "%",
        "declaration_risk",
        BETTER,
        "Share of flagged declarations reviewed in the 30 days before t that were confirmed.",
        "risk_reviews",
        _share("outcome = 'confirmed'"),
        empty=None,
    ),
    # -- throughput and capacity -----------------------------------------------------------------
    _spec(
        "All lots at the site at t.",
        code="lots_on_site",
        name_en="Lots on site",
        name_zh="在场批次",
        unit="lots",
        theme="throughput_capacity",
        direction=NEUTRAL,
        forecastable=True,
    ),
    _spec(
        "Sum of TEU of the lots at the site at t.",
        code="teu_on_site",
        name_en="TEU on site",
        name_zh="在场标箱",
        unit="TEU",
        theme="throughput_capacity",
        direction=NEUTRAL,
        measure={"kind": "sum_teu"},
    ),
    _spec(
        "Lots that arrived in the hour before t.",
        code="arrivals_per_hour",
        name_en="Arrivals per hour",
        name_zh="每小时到港批次",
        unit="lots/h",
        theme="throughput_capacity",
        direction=NEUTRAL,
        population="arrived",
        window_hours=1,
        forecastable=True,
    ),
    _spec(
        "Lots released in the hour before t.",
        code="releases_per_hour",
        name_en="Releases per hour",
        name_zh="每小时放行批次",
        unit="lots/h",
        theme="throughput_capacity",
        direction=NEUTRAL,
        population="released",
        window_hours=1,
        forecastable=True,
    ),
    _spec(
        "Lots removed (gated out) in the hour before t.",
        code="removals_per_hour",
        name_en="Removals per hour",
        name_zh="每小时提离批次",
        unit="lots/h",
        theme="throughput_capacity",
        direction=NEUTRAL,
        population="removed",
        window_hours=1,
        forecastable=True,
    ),
    # -- data quality ------------------------------------------------------------------------------
    # Hand-written: cargo events and station feeds are not lots; feed silence is a capped time
    # since the latest event and late events compare received_at with occurred_at, neither of
    # which the spec has a measure or filter for.
    Indicator(
        "events_per_hour",
        "Events per hour",
        "每小时事件数",
        "events/h",
        "data_quality",
        BETTER,
        "Cargo events that occurred in the hour before t.",
        "events",
        "count(*) FILTER (WHERE occurred_at > t - interval '1 hour')",
    ),
    Indicator(
        "feed_silence_minutes",
        "Minutes since last event",
        "数据静默分钟数",
        "min",
        "data_quality",
        WORSE,
        "Minutes from the latest event at the site to t, capped at 120.",
        "events",
        "coalesce(extract(epoch FROM (t - max(occurred_at)))::float8 / 60, 120)",
        empty=120.0,
    ),
    Indicator(
        "late_event_share",
        "Late events",
        "迟到事件占比",
        "%",
        "data_quality",
        WORSE,
        "Share of events in the hour before t received more than 15 minutes after they occurred.",
        "events",
        _share(
            "received_at > occurred_at + interval '15 minutes'",
            "occurred_at > t - interval '1 hour'",
        ),
        empty=None,
    ),
    Indicator(
        "feed_failures",
        "Failing station feeds",
        "异常数据源",
        "feeds",
        "data_quality",
        WORSE,
        "Station feeds of the site whose last poll failed (live only).",
        "feeds",
        "count(*) FILTER (WHERE consecutive_failures > 0)",
    ),
)

BY_CODE = {indicator.code: indicator for indicator in INDICATORS}

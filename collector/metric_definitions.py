"""The one definition of every built-in indicator (the "data caliber").

Each indicator is an aggregate expression over the rows of one *source* (the lots present at a
time t, the lots released in the 24 h before t, ...). `metrics.py` evaluates every source once
per batch of times, grouped by GROUPING SETS over site, office, customs and the nation, so a
national figure is computed from the same rows with the same expression as a site's: p90 dwell is
the p90 over all the nation's lots, never an average of site p90s.

In expressions, `t` is the evaluation time and the source's columns are in scope.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS = "extract(epoch FROM ({}))::float8 / 3600"


def hours(interval_sql: str) -> str:
    return HOURS.format(interval_sql)


@dataclass(frozen=True)
class Indicator:
    code: str
    name_en: str
    name_zh: str
    unit: str
    theme: str
    direction: str
    definition: str
    source: str
    expr: str
    empty: float | None = 0.0  # value for a node with no rows; None writes no point
    forecastable: bool = False


LOT_COLUMNS = (
    "site_id, hazard_class, un_number, teu, arrived_at, declared_at, inspection_started_at,"
    " inspection_finished_at, released_at, removed_at, held_at, hold_lifted_at,"
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

HAZ = "hazard_class IS NOT NULL"
ON_HOLD_AT_T = (
    "held_at <= t AND (hold_lifted_at IS NULL OR hold_lifted_at < held_at OR hold_lifted_at > t)"
)
NOT_DECLARED_AT_T = "(declared_at IS NULL OR declared_at > t)"
INSPECTING_AT_T = (
    "inspection_started_at <= t AND (inspection_finished_at IS NULL OR inspection_finished_at > t)"
)
RELEASED_NOT_REMOVED = "released_at <= t"


def _pct(p: float, value: str, where: str = "true") -> str:
    return f"percentile_cont({p}) WITHIN GROUP (ORDER BY {value}) FILTER (WHERE {where})"


def _share(part: str, whole: str = "true") -> str:
    return (
        f"100.0 * count(*) FILTER (WHERE ({whole}) AND ({part}))"
        f" / nullif(count(*) FILTER (WHERE {whole}), 0)"
    )


CLEARANCE = hours("released_at - declared_at")
WORSE, BETTER, NEUTRAL = "higher_is_worse", "higher_is_better", "neutral"

INDICATORS: tuple[Indicator, ...] = (
    # -- hazardous goods safety -------------------------------------------------------------
    Indicator(
        "hazardous_lots_held",
        "Hazardous lots held",
        "在场危险品批次",
        "lots",
        "hazardous_goods",
        WORSE,
        "Hazardous lots (any IMDG class) at the site at t.",
        "present",
        f"count(*) FILTER (WHERE {HAZ})",
        forecastable=True,
    ),
    Indicator(
        "hazardous_overdue",
        "Hazardous lots overdue",
        "超期滞留危险品批次",
        "lots",
        "hazardous_goods",
        WORSE,
        "Hazardous lots at the site whose storage deadline is at or before t.",
        "present",
        f"count(*) FILTER (WHERE {HAZ} AND deadline_at <= t)",
        forecastable=True,
    ),
    Indicator(
        "hazardous_near_deadline",
        "Hazardous lots near deadline",
        "临近期限危险品批次",
        "lots",
        "hazardous_goods",
        WORSE,
        "Hazardous lots past their warning point (share of the limit) but not yet overdue.",
        "present",
        f"count(*) FILTER (WHERE {HAZ} AND warn_at <= t AND deadline_at > t)",
        forecastable=True,
    ),
    Indicator(
        "hazardous_max_overdue_hours",
        "Longest overdue hazardous lot",
        "最长超期时长",
        "h",
        "hazardous_goods",
        WORSE,
        "Hours the most overdue hazardous lot is past its deadline.",
        "present",
        f"coalesce(max({hours('t - deadline_at')}) FILTER (WHERE {HAZ} AND deadline_at <= t), 0)",
    ),
    Indicator(
        "hazardous_dwell_max_hours",
        "Max dwell of held hazardous lots",
        "危险品最长滞留时长",
        "h",
        "hazardous_goods",
        WORSE,
        "Longest time on site among held hazardous lots.",
        "present",
        f"coalesce(max({hours('t - arrived_at')}) FILTER (WHERE {HAZ}), 0)",
        forecastable=True,
    ),
    Indicator(
        "hazardous_dwell_p90_hours",
        "p90 dwell of held hazardous lots",
        "危险品滞留时长P90",
        "h",
        "hazardous_goods",
        WORSE,
        "90th percentile of time on site among held hazardous lots.",
        "present",
        _pct(0.9, hours("t - arrived_at"), HAZ),
        empty=None,
        forecastable=True,
    ),
    Indicator(
        "hazardous_direct_only_held",
        "Direct-only hazardous lots held",
        "直装直提类危险品在场",
        "lots",
        "hazardous_goods",
        WORSE,
        "Held hazardous lots whose class must not be stored (limit of 2 h or less).",
        "present",
        f"count(*) FILTER (WHERE {HAZ} AND limit_hours <= 2)",
    ),
    Indicator(
        "hazardous_lab_wait_over_5d",
        "Hazardous lots in inspection over 5 days",
        "危险品查验超5天",
        "lots",
        "hazardous_goods",
        WORSE,
        "Held hazardous lots whose inspection started more than 120 h before t and is open.",
        "present",
        f"count(*) FILTER (WHERE {HAZ} AND {INSPECTING_AT_T} "
        "AND inspection_started_at <= t - interval '120 hours')",
    ),
    Indicator(
        "hazardous_arrivals_24h",
        "Hazardous arrivals (24 h)",
        "危险品到港批次(24小时)",
        "lots",
        "hazardous_goods",
        NEUTRAL,
        "Hazardous lots that arrived in the 24 h before t.",
        "arrived",
        f"count(*) FILTER (WHERE {HAZ})",
    ),
    Indicator(
        "hazardous_removed_overdue_share",
        "Hazardous lots removed late",
        "危险品超期提离占比",
        "%",
        "hazardous_goods",
        WORSE,
        "Share of hazardous lots removed in the 24 h before t that left after their deadline.",
        "removed",
        _share("removed_at > deadline_at", HAZ),
        empty=None,
    ),
    # -- process timeliness ---------------------------------------------------------------------
    Indicator(
        "clearance_time_p50_hours",
        "Clearance time p50",
        "通关时间中位数",
        "h",
        "process_timeliness",
        WORSE,
        "Median of declaration to release, over lots released in the 24 h before t.",
        "released",
        _pct(0.5, CLEARANCE, "declared_at IS NOT NULL"),
        empty=None,
        forecastable=True,
    ),
    Indicator(
        "clearance_time_p90_hours",
        "Clearance time p90",
        "通关时间P90",
        "h",
        "process_timeliness",
        WORSE,
        "90th percentile of declaration to release, over lots released in the 24 h before t.",
        "released",
        _pct(0.9, CLEARANCE, "declared_at IS NOT NULL"),
        empty=None,
        forecastable=True,
    ),
    Indicator(
        "clearance_time_mean_hours",
        "Clearance time mean",
        "平均通关时间",
        "h",
        "process_timeliness",
        WORSE,
        "Mean of declaration to release, over lots released in the 24 h before t.",
        "released",
        f"avg({CLEARANCE}) FILTER (WHERE declared_at IS NOT NULL)",
        empty=None,
    ),
    Indicator(
        "overall_release_time_mean_hours",
        "Arrival to release, mean",
        "整体通关时间",
        "h",
        "process_timeliness",
        WORSE,
        "Mean of arrival to release over lots released in the 24 h before t "
        "(the GACC overall clearance time, import side).",
        "released",
        f"avg({hours('released_at - arrived_at')}) FILTER (WHERE arrived_at IS NOT NULL)",
        empty=None,
    ),
    Indicator(
        "inspection_duration_p50_hours",
        "Inspection duration p50",
        "查验时长中位数",
        "h",
        "process_timeliness",
        WORSE,
        "Median of inspection start to finish over inspections finished in the 24 h before t.",
        "inspected",
        _pct(
            0.5,
            hours("inspection_finished_at - inspection_started_at"),
            "inspection_started_at IS NOT NULL",
        ),
        empty=None,
    ),
    Indicator(
        "inspection_duration_p90_hours",
        "Inspection duration p90",
        "查验时长P90",
        "h",
        "process_timeliness",
        WORSE,
        "90th percentile of inspection duration over inspections finished in the 24 h before t.",
        "inspected",
        _pct(
            0.9,
            hours("inspection_finished_at - inspection_started_at"),
            "inspection_started_at IS NOT NULL",
        ),
        empty=None,
    ),
    Indicator(
        "dwell_p50_hours",
        "Arrival to removal p50",
        "在港时长中位数",
        "h",
        "process_timeliness",
        WORSE,
        "Median of arrival to removal over lots removed in the 24 h before t.",
        "removed",
        _pct(0.5, hours("removed_at - arrived_at"), "arrived_at IS NOT NULL"),
        empty=None,
    ),
    Indicator(
        "dwell_p90_hours",
        "Arrival to removal p90",
        "在港时长P90",
        "h",
        "process_timeliness",
        WORSE,
        "90th percentile of arrival to removal over lots removed in the 24 h before t.",
        "removed",
        _pct(0.9, hours("removed_at - arrived_at"), "arrived_at IS NOT NULL"),
        empty=None,
    ),
    Indicator(
        "advance_declaration_share",
        "Declared in advance",
        "提前申报占比",
        "%",
        "process_timeliness",
        BETTER,
        "Share of lots released in the 24 h before t that were declared before arrival.",
        "released",
        _share("declared_at < arrived_at", "declared_at IS NOT NULL AND arrived_at IS NOT NULL"),
        empty=None,
    ),
    # -- business anomaly -----------------------------------------------------------------------
    Indicator(
        "lots_on_hold",
        "Lots on customs hold",
        "扣留批次",
        "lots",
        "business_anomaly",
        WORSE,
        "Lots at the site under a hold not lifted by t.",
        "present",
        f"count(*) FILTER (WHERE {ON_HOLD_AT_T})",
        forecastable=True,
    ),
    Indicator(
        "undeclared_over_14d",
        "Undeclared over 14 days",
        "超14天未申报批次",
        "lots",
        "business_anomaly",
        WORSE,
        "Lots at the site more than 14 days after arrival with no declaration by t "
        "(Customs Law art. 24 clock).",
        "present",
        f"count(*) FILTER (WHERE {NOT_DECLARED_AT_T} AND arrived_at <= t - interval '14 days')",
    ),
    Indicator(
        "inspection_backlog_24h",
        "Inspections open over 24 h",
        "查验积压(超24小时)",
        "lots",
        "business_anomaly",
        WORSE,
        "Lots whose inspection started more than 24 h before t and has not finished.",
        "present",
        f"count(*) FILTER (WHERE {INSPECTING_AT_T} "
        "AND inspection_started_at <= t - interval '24 hours')",
        forecastable=True,
    ),
    Indicator(
        "released_not_removed_48h",
        "Released, not removed after 48 h",
        "放行未提离超48小时",
        "lots",
        "business_anomaly",
        WORSE,
        "Lots released more than 48 h before t that are still at the site.",
        "present",
        "count(*) FILTER (WHERE released_at <= t - interval '48 hours')",
    ),
    Indicator(
        "inspection_rate",
        "Inspection rate",
        "查验率",
        "%",
        "business_anomaly",
        NEUTRAL,
        "Share of lots released in the 24 h before t that were inspected.",
        "released",
        _share("inspection_started_at IS NOT NULL"),
        empty=None,
    ),
    # -- declaration risk ---------------------------------------------------------------------------
    Indicator(
        "hazardous_missing_un_number",
        "Hazardous lots without UN number",
        "危险品未申报联合国编号",
        "lots",
        "declaration_risk",
        WORSE,
        "Held lots declared with a hazard class but no UN number (possible misdeclaration).",
        "present",
        f"count(*) FILTER (WHERE {HAZ} AND un_number IS NULL)",
    ),
    Indicator(
        "late_declaration_share",
        "Declarations over 14 days late",
        "超期申报占比",
        "%",
        "declaration_risk",
        WORSE,
        "Share of lots declared in the 24 h before t whose declaration came more than 14 days "
        "after arrival.",
        "declared",
        _share("declared_at > arrived_at + interval '14 days'", "arrived_at IS NOT NULL"),
        empty=None,
    ),
    Indicator(
        "declarations_24h",
        "Declarations (24 h)",
        "申报批次(24小时)",
        "lots",
        "declaration_risk",
        NEUTRAL,
        "Lots declared in the 24 h before t.",
        "declared",
        "count(*)",
    ),
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
    Indicator(
        "lots_on_site",
        "Lots on site",
        "在场批次",
        "lots",
        "throughput_capacity",
        NEUTRAL,
        "All lots at the site at t.",
        "present",
        "count(*)",
        forecastable=True,
    ),
    Indicator(
        "teu_on_site",
        "TEU on site",
        "在场标箱",
        "TEU",
        "throughput_capacity",
        NEUTRAL,
        "Sum of TEU of the lots at the site at t.",
        "present",
        "coalesce(sum(teu), 0)",
    ),
    Indicator(
        "arrivals_per_hour",
        "Arrivals per hour",
        "每小时到港批次",
        "lots/h",
        "throughput_capacity",
        NEUTRAL,
        "Lots that arrived in the hour before t.",
        "arrived",
        "count(*) FILTER (WHERE arrived_at > t - interval '1 hour')",
        forecastable=True,
    ),
    Indicator(
        "releases_per_hour",
        "Releases per hour",
        "每小时放行批次",
        "lots/h",
        "throughput_capacity",
        NEUTRAL,
        "Lots released in the hour before t.",
        "released",
        "count(*) FILTER (WHERE released_at > t - interval '1 hour')",
        forecastable=True,
    ),
    Indicator(
        "removals_per_hour",
        "Removals per hour",
        "每小时提离批次",
        "lots/h",
        "throughput_capacity",
        NEUTRAL,
        "Lots removed (gated out) in the hour before t.",
        "removed",
        "count(*) FILTER (WHERE removed_at > t - interval '1 hour')",
        forecastable=True,
    ),
    # -- data quality ------------------------------------------------------------------------------
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

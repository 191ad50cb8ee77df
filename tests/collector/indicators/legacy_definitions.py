"""The hand-written SQL of the built-in indicators as it was before they became specs.

Frozen copy: test_builtin_specs.py checks the spec-compiled built-ins give
exactly these values. Generated once from collector/metric_definitions.py; never edit."""

from __future__ import annotations

# code -> (source, expression, empty)
LEGACY: dict[str, tuple[str, str, float | None]] = {
    "hazardous_lots_held": (
        "present",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL)",
        0.0,
    ),
    "hazardous_overdue": (
        "present",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL AND deadline_at <= t)",
        0.0,
    ),
    "hazardous_near_deadline": (
        "present",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL AND warn_at <= t AND deadline_at > t)",
        0.0,
    ),
    "hazardous_max_overdue_hours": (
        "present",
        "coalesce(max(extract(epoch FROM (t - deadline_at))::float8 / 3600) FILTER (WHERE hazard_class IS NOT NULL AND deadline_at <= t), 0)",
        0.0,
    ),
    "hazardous_dwell_max_hours": (
        "present",
        "coalesce(max(extract(epoch FROM (t - arrived_at))::float8 / 3600) FILTER (WHERE hazard_class IS NOT NULL), 0)",
        0.0,
    ),
    "hazardous_dwell_p90_hours": (
        "present",
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM (t - arrived_at))::float8 / 3600) FILTER (WHERE hazard_class IS NOT NULL)",
        None,
    ),
    "hazardous_direct_only_held": (
        "present",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL AND limit_hours <= 2)",
        0.0,
    ),
    "hazardous_lab_wait_over_5d": (
        "present",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL AND inspection_started_at <= t AND (inspection_finished_at IS NULL OR inspection_finished_at > t) AND inspection_started_at <= t - interval '120 hours')",
        0.0,
    ),
    "hazardous_arrivals_24h": (
        "arrived",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL)",
        0.0,
    ),
    "hazardous_removed_overdue_share": (
        "removed",
        "100.0 * count(*) FILTER (WHERE (hazard_class IS NOT NULL) AND (removed_at > deadline_at)) / nullif(count(*) FILTER (WHERE hazard_class IS NOT NULL), 0)",
        None,
    ),
    "clearance_time_p50_hours": (
        "released",
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (released_at - declared_at))::float8 / 3600) FILTER (WHERE declared_at IS NOT NULL)",
        None,
    ),
    "clearance_time_p90_hours": (
        "released",
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM (released_at - declared_at))::float8 / 3600) FILTER (WHERE declared_at IS NOT NULL)",
        None,
    ),
    "clearance_time_mean_hours": (
        "released",
        "avg(extract(epoch FROM (released_at - declared_at))::float8 / 3600) FILTER (WHERE declared_at IS NOT NULL)",
        None,
    ),
    "overall_release_time_mean_hours": (
        "released",
        "avg(extract(epoch FROM (released_at - arrived_at))::float8 / 3600) FILTER (WHERE arrived_at IS NOT NULL)",
        None,
    ),
    "inspection_duration_p50_hours": (
        "inspected",
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (inspection_finished_at - inspection_started_at))::float8 / 3600) FILTER (WHERE inspection_started_at IS NOT NULL)",
        None,
    ),
    "inspection_duration_p90_hours": (
        "inspected",
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM (inspection_finished_at - inspection_started_at))::float8 / 3600) FILTER (WHERE inspection_started_at IS NOT NULL)",
        None,
    ),
    "dwell_p50_hours": (
        "removed",
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (removed_at - arrived_at))::float8 / 3600) FILTER (WHERE arrived_at IS NOT NULL)",
        None,
    ),
    "dwell_p90_hours": (
        "removed",
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM (removed_at - arrived_at))::float8 / 3600) FILTER (WHERE arrived_at IS NOT NULL)",
        None,
    ),
    "advance_declaration_share": (
        "released",
        "100.0 * count(*) FILTER (WHERE (declared_at IS NOT NULL AND arrived_at IS NOT NULL) AND (declared_at < arrived_at)) / nullif(count(*) FILTER (WHERE declared_at IS NOT NULL AND arrived_at IS NOT NULL), 0)",
        None,
    ),
    "lots_on_hold": (
        "present",
        "count(*) FILTER (WHERE held_at <= t AND (hold_lifted_at IS NULL OR hold_lifted_at < held_at OR hold_lifted_at > t))",
        0.0,
    ),
    "undeclared_over_14d": (
        "present",
        "count(*) FILTER (WHERE (declared_at IS NULL OR declared_at > t) AND arrived_at <= t - interval '14 days')",
        0.0,
    ),
    "inspection_backlog_24h": (
        "present",
        "count(*) FILTER (WHERE inspection_started_at <= t AND (inspection_finished_at IS NULL OR inspection_finished_at > t) AND inspection_started_at <= t - interval '24 hours')",
        0.0,
    ),
    "released_not_removed_48h": (
        "present",
        "count(*) FILTER (WHERE released_at <= t - interval '48 hours')",
        0.0,
    ),
    "inspection_rate": (
        "released",
        "100.0 * count(*) FILTER (WHERE (true) AND (inspection_started_at IS NOT NULL)) / nullif(count(*) FILTER (WHERE true), 0)",
        None,
    ),
    "hazardous_missing_un_number": (
        "present",
        "count(*) FILTER (WHERE hazard_class IS NOT NULL AND un_number IS NULL)",
        0.0,
    ),
    "late_declaration_share": (
        "declared",
        "100.0 * count(*) FILTER (WHERE (arrived_at IS NOT NULL) AND (declared_at > arrived_at + interval '14 days')) / nullif(count(*) FILTER (WHERE arrived_at IS NOT NULL), 0)",
        None,
    ),
    "declarations_24h": (
        "declared",
        "count(*)",
        0.0,
    ),
    "declarations_screened_24h": (
        "declarations",
        "count(*)",
        0.0,
    ),
    "declarations_flagged_24h": (
        "declarations",
        "count(*) FILTER (WHERE risk_score IS NOT NULL)",
        0.0,
    ),
    "declaration_flag_rate_per_1000": (
        "declarations",
        "1000.0 * count(*) FILTER (WHERE risk_score IS NOT NULL) / nullif(count(*), 0)",
        None,
    ),
    "risk_rule_hits_24h": (
        "declarations",
        "coalesce(sum(cardinality(risk_rules)), 0)",
        0.0,
    ),
    "risk_flag_precision": (
        "risk_reviews",
        "100.0 * count(*) FILTER (WHERE (true) AND (outcome = 'confirmed')) / nullif(count(*) FILTER (WHERE true), 0)",
        None,
    ),
    "lots_on_site": (
        "present",
        "count(*)",
        0.0,
    ),
    "teu_on_site": (
        "present",
        "coalesce(sum(teu), 0)",
        0.0,
    ),
    "arrivals_per_hour": (
        "arrived",
        "count(*) FILTER (WHERE arrived_at > t - interval '1 hour')",
        0.0,
    ),
    "releases_per_hour": (
        "released",
        "count(*) FILTER (WHERE released_at > t - interval '1 hour')",
        0.0,
    ),
    "removals_per_hour": (
        "removed",
        "count(*) FILTER (WHERE removed_at > t - interval '1 hour')",
        0.0,
    ),
    "events_per_hour": (
        "events",
        "count(*) FILTER (WHERE occurred_at > t - interval '1 hour')",
        0.0,
    ),
    "feed_silence_minutes": (
        "events",
        "coalesce(extract(epoch FROM (t - max(occurred_at)))::float8 / 60, 120)",
        120.0,
    ),
    "late_event_share": (
        "events",
        "100.0 * count(*) FILTER (WHERE (occurred_at > t - interval '1 hour') AND (received_at > occurred_at + interval '15 minutes')) / nullif(count(*) FILTER (WHERE occurred_at > t - interval '1 hour'), 0)",
        None,
    ),
    "feed_failures": (
        "feeds",
        "count(*) FILTER (WHERE consecutive_failures > 0)",
        0.0,
    ),
}

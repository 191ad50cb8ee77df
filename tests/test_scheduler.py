from __future__ import annotations

from quaywatch.scheduler import JOBS, _resolve, build_scheduler


def test_every_package_step_is_scheduled_for_the_all_role(settings, engine):
    scheduler = build_scheduler(settings, engine, "all")
    installed = {job.name for job in JOBS if _resolve(job.target) is not None}
    assert {job.id for job in scheduler.get_jobs()} == installed
    assert {"metrics", "evaluate", "dispatch"} <= installed


def test_a_role_runs_only_its_own_steps(settings, engine):
    collector = {job.id for job in build_scheduler(settings, engine, "collector").get_jobs()}
    assert collector == {"metrics", "rollup", "retention", "feeds", "declaration_feeds"}
    assert build_scheduler(settings, engine, "api").get_jobs() == []


def test_a_metrics_cycle_brings_rule_evaluation_forward(settings, engine):
    scheduler = build_scheduler(settings, engine, "all")
    scheduler.start(paused=True)
    try:
        before = scheduler.get_job("evaluate").next_run_time
        scheduler.get_job("metrics").func()
        assert scheduler.get_job("evaluate").next_run_time < before
    finally:
        scheduler.shutdown(wait=False)


def test_metrics_and_forecasts_first_run_soon_after_start_not_an_interval_later(settings, engine):
    from datetime import UTC, datetime, timedelta

    scheduler = build_scheduler(settings, engine, "all")
    scheduler.start(paused=True)
    try:
        soon = datetime.now(UTC) + timedelta(seconds=30)
        assert scheduler.get_job("metrics").next_run_time < soon
        if scheduler.get_job("forecast") is not None:
            assert scheduler.get_job("forecast").next_run_time < soon
        assert scheduler.get_job("prune").next_run_time > soon  # the rest keep their interval
    finally:
        scheduler.shutdown(wait=False)

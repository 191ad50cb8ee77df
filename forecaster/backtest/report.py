"""Runs ``quaywatch backtest`` and renders its markdown: threshold rules per indicator (or one
external CSV series), deadline warnings per scope, and the issue's Goal check; stores scores in
``backtest_result`` and, with ``--apply``, the chosen rule per indicator in
``forecast_decision``."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from forecaster import store
from forecaster.backtest import deadlines
from forecaster.backtest.conformal import pooled
from forecaster.backtest.csv_series import read_csv_series
from forecaster.backtest.scoring import Score, to_markdown
from forecaster.backtest.thresholds import (
    IndicatorResult,
    Replay,
    SeasonalityMode,
    best_blend,
    data_end,
    default_nodes,
    load,
    score_indicator,
)
from forecaster.crossings.decision import SEASONAL_NAIVE


def incident_sites(engine: Engine) -> list[str]:
    """Sites of the simulator's scripted incidents (none when the data is not simulated)."""
    from collector.simulator import default_incidents

    with engine.connect() as conn:
        detail = conn.execute(
            text("SELECT detail FROM job_state WHERE name = 'simulator'")
        ).scalar()
    if not detail or "anchor" not in detail:
        return []
    anchor = datetime.fromisoformat(detail["anchor"])
    return sorted({incident.site_id for incident in default_incidents(anchor)})


def run_backtest(engine: Engine | None, options: Mapping[str, Any]) -> Iterator[str]:
    """Yield markdown blocks as each part finishes (a national replay takes minutes)."""
    replay = Replay(
        window_hours=int(options.get("window_days", 28)) * 24,
        step_hours=options["step_hours"],
        workers=options["workers"],
        # Both modes compete on a CSV series; stored indicators are forecast in one mode by the
        # cycle (a decision row has no mode), so only the given one (default additive) is scored.
        seasonality_modes=_modes(options),
        # Stored indicators are all counts, rates or durations; a CSV series is whatever it is
        # unless declared a count.
        non_negative=bool(options.get("count")) if options.get("csv_path") else True,
    )
    rows: list[store.BacktestRow] = []
    results: list[IndicatorResult] = []
    if options.get("csv_path"):
        yield from _csv(options, replay, rows)
    else:
        assert engine is not None
        if options.get("thresholds", True):
            yield from _thresholds(engine, options, replay, rows, results)
        if options.get("deadlines", True):
            yield from _deadlines(engine, options, rows)
    if engine is not None and options.get("store", True):
        yield _save(engine, options, rows, results)


def _modes(options: Mapping[str, Any]) -> tuple[SeasonalityMode, ...]:
    given = options.get("seasonality_mode") or ()
    modes = (given,) if isinstance(given, str) else tuple(given)
    if modes:
        return modes
    return ("additive", "multiplicative") if options.get("csv_path") else ("additive",)


def _csv(
    options: Mapping[str, Any], replay: Replay, rows: list[store.BacktestRow]
) -> Iterator[str]:
    path = options["csv_path"]
    history = read_csv_series(path)
    days = options.get("days")
    note = ""
    if days is not None:
        # The same span as the stored-history replay: origins over the last ``days`` days.
        span = pd.Timedelta(hours=int(days) * 24 + replay.window_hours + replay.horizon_hours)
        history = history[history["ds"] > history["ds"].max() - span].reset_index(drop=True)
        note = f"; origins over the last {int(days)} day(s) of the file (--days)"
    name = f"csv:{path.name}"
    result = score_indicator(
        name,
        {name: history},
        replay,
        thresholds={name: options["threshold"]},
        direction=options.get("direction", "above"),
    )
    assert result is not None  # the threshold is given
    values = "clipped at zero (--count)" if replay.non_negative else "not clipped at zero"
    yield f"{path}: {len(history)} hourly rows, forecasts {values}{note}\n"
    yield _indicator_block(result, replay)
    rows += _threshold_rows(result, replay)


def _thresholds(
    engine: Engine,
    options: Mapping[str, Any],
    replay: Replay,
    rows: list[store.BacktestRow],
    results: list[IndicatorResult],
) -> Iterator[str]:
    nodes = list(options.get("sites") or ()) or default_nodes(engine)
    days = int(options["days"]) + replay.window_hours // 24 + 1
    data = load(
        engine, nodes, list(options.get("indicators") or ()) or None, days, data_end(engine)
    )
    for code in sorted(data):
        result = score_indicator(code, data[code], replay)
        if result is None:
            yield f"## {code}\n\nNo series with a usable threshold.\n"
            continue
        results.append(result)
        rows += _threshold_rows(result, replay)
        yield _indicator_block(result, replay)


def _threshold_rows(result: IndicatorResult, replay: Replay) -> list[store.BacktestRow]:
    chosen = result.chosen_score.method if result.chosen_score else None
    return [
        store.BacktestRow(
            "threshold", result.subject, "sample", s, s.method == chosen, replay.horizon_hours
        )
        for _, s in result.rows
    ]


def _indicator_block(result: IndicatorResult, replay: Replay) -> str:
    thresholds = ", ".join(f"{k} {v:g}" for k, v in sorted(result.thresholds.items()))
    head = (
        f"## {result.subject}\n\n{result.series} series, {replay.horizon_hours} h ahead, an origin"
        f" every {replay.step_hours} h; thresholds: {thresholds}\n\n"
        f"Origins: {result.origins}, scored {result.scored}; skipped {result.skipped_beyond}"
        f" already beyond the threshold (or without data before them), {result.skipped_failed}"
        " without a Prophet forecast (fit failed or skipped)\n\n"
    )
    s, chosen = result.chosen_score, result.chosen
    if chosen is None or s is None:
        return head + f"No rule could be chosen: {_why_unscored(result)}\n"
    return (
        head
        + to_markdown([score for _, score in result.rows])
        + _bands_block(result)
        + _champion_block(result)
        + f"\nChampion: **{s.method}**, F1 {s.f1:.2f}, precision {s.precision:.2f},"
        f" {s.false_alarm_episodes_per_site_week:.2f} false-alarm episodes per site-week"
        f"{_why(result)}.\n"
    )


def _champion_block(result: IndicatorResult) -> str:
    """The champion against the best blend and both seasonal naives (the comparison the
    choice is made on), then the same choice made on the earlier half of the origins and
    scored on the later half."""
    assert result.chosen_score is not None
    chosen = result.chosen_score
    blend = best_blend(result.rows)
    others = [blend[1]] if blend and blend[1] is not chosen else []
    others += [s for _, s in result.rows if s.method in SEASONAL_NAIVE and s is not chosen]
    text_ = _versus(
        "Champion, best blend and seasonal naives (lead: per crossing, from its first true"
        " warning)",
        chosen.method,
        [chosen, *others],
    )
    held = result.holdout
    if held is None:
        return text_
    return (
        text_
        + _versus(
            f"Out of sample: the champion chosen on the origins before {held.split:%Y-%m-%d %H:%M}"
            f" only ({held.champion.score.method}), scored with the best blend chosen there and"
            " the seasonal naives on the later origins",
            held.champion.score.method,
            held.later,
        )
        + f"\nOn the earlier origins: {held.champion.reason}.\n"
    )


def _versus(title: str, chosen: str, scores: list[Score]) -> str:
    lines = [
        f"\n{title}:\n",
        "| method | precision | recall | F1 | FA episodes / week | false warnings / week"
        " | median lead (h) | crossings warned |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for score in scores:
        mark = "**" if score.method == chosen else ""
        lines.append(
            f"| {mark}{score.method}{mark} | {_share(score.precision)} | {_share(score.recall)}"
            f" | {_share(score.f1)} | {_share(score.false_alarm_episodes_per_site_week)}"
            f" | {_share(score.false_alarms_per_site_week)} | {_share(score.median_lead_hours)}"
            f" | {len(score.leads_hours)} |"
        )
    return "\n".join(lines) + "\n"


def _why(result: IndicatorResult) -> str:
    won = result.champion
    if won is None:
        return ""
    factor = result.chosen.conformal_factor if result.chosen else None
    widen = f"; Prophet's band widened x{factor:.2f} in production" if factor else ""
    return f" ({won.reason}){widen}"


def _bands_block(result: IndicatorResult) -> str:
    """Prophet's 80 % band out of sample, per series and pooled, before and after widening."""
    if not any(b.rows for b in result.bands):
        return (
            "\nBand coverage: no origin had a calibration window (48 observed forecast rows"
            " before it), so coverage after widening is not measured.\n"
        )
    lines = [
        "\nProphet band coverage out of sample (80 % nominal), before and after split-conformal"
        " widening calibrated on each series' earlier origins:\n",
        "| series | origins | rows | coverage before | coverage after | median factor |",
        "|---|---|---|---|---|---|",
    ]
    every = [*result.bands, pooled(result.bands, "all")] if len(result.bands) > 1 else result.bands
    for b in every:
        lines.append(
            f"| {b.key} | {b.origins} | {b.rows} | {_share(b.before)} | {_share(b.after)}"
            f" | {_share(b.median_factor)} |"
        )
    return "\n".join(lines) + "\n"


def _share(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def _why_unscored(result: IndicatorResult) -> str:
    if result.origins == 0:
        return (
            "no origin fits in the data (it needs --window-days of history plus the 24 h"
            " horizon); give more history or a shorter --window-days."
        )
    if result.skipped_beyond == result.origins:
        return "the series was already beyond the threshold at every origin."
    if result.scored > 0:
        return (
            f"the threshold was not crossed within the horizon of any of the {result.scored}"
            " scored origins, so every rule scores F1 0; give a threshold the series reaches."
        )
    return "Prophet produced no forecast at any origin (each fit failed or was skipped)."


def _deadlines(
    engine: Engine, options: Mapping[str, Any], rows: list[store.BacktestRow]
) -> Iterator[str]:
    replay = deadlines.DeadlineReplay(test_days=int(options["days"]), workers=options["workers"])
    sites = incident_sites(engine)
    for report in deadlines.run(engine, replay, incident_sites=sites):
        rows += [
            store.BacktestRow("deadline", "hazardous_deadline", report.scope, s)
            for s in report.scores
        ]
        yield _deadline_block(report)


def _deadline_block(report: deadlines.DeadlineReport) -> str:
    text_ = (
        f"## Deadline warnings: {report.scope}\n\n{report.lots} hazardous lots with a deadline in"
        f" the window, {report.breaches} breached\n\n" + to_markdown(report.scores)
    )
    goal = report.goal
    if goal is None:
        return text_ + "\nGoal: no model variant reaches the static rule's precision.\n"
    verdict = "met" if goal.met else "NOT met"
    medians = "met" if goal.met_on_medians else "not met"
    return text_ + (
        f"\nGoal ({verdict}): {goal.method} at precision {goal.precision:.2f} (static"
        f" {goal.static_precision:.2f}); per breach caught by both, its warning comes a median"
        f" {_hours(goal.paired_gain_hours)} earlier than the static rule's. Median leads"
        f" {goal.lead_hours:.1f} h against {goal.static_lead_hours:.1f} h"
        f" ({goal.gain_hours:+.1f} h; on that reading the Goal is {medians}).\n"
    )


def _hours(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:+.1f} h"


def _save(
    engine: Engine,
    options: Mapping[str, Any],
    rows: list[store.BacktestRow],
    results: list[IndicatorResult],
) -> str:
    params = {k: (str(v) if k == "csv_path" and v else v) for k, v in options.items()}
    source = "csv" if options.get("csv_path") else "history"
    with engine.begin() as conn:
        backtest_id = store.save_backtest(
            conn, source, json.loads(json.dumps(params, default=str)), rows
        )
        if options.get("apply_rules"):
            for result in results:
                if result.chosen is None:
                    continue
                store.save_decision(
                    conn,
                    result.subject,
                    result.chosen,
                    false_alarm_budget=options["budget"],
                    backtest_id=backtest_id,
                    chosen=result.champion,
                )
    chosen = sum(result.chosen is not None for result in results)
    applied = (
        f"; decision rules applied for {chosen} indicator(s)" if options.get("apply_rules") else ""
    )
    return f"stored as backtest {backtest_id} ({len(rows)} rows){applied}"

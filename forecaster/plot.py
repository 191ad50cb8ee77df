"""A forecast picture: recent history, the forecast and its band, thresholds, predicted crossing.

Matplotlib with the Agg backend (no display needed); used by ``quaywatch forecast plot`` and to
make the figures in docs/forecasting.md. All times are naive local times of the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Engine

from forecaster.crossings.decision import Decision

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_forecast(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    out: Path,
    *,
    title: str,
    unit: str = "",
    decisions: Sequence[Decision] = (),
    actual: pd.DataFrame | None = None,
    history_hours: int = 7 * 24,
) -> Path:
    """Write a PNG of the last ``history_hours`` of ``history`` (``ds, y``), ``forecast``
    (``ds, yhat, yhat_lower, yhat_upper``), one line per decision's threshold with its
    predicted crossing, and optionally what actually happened next (``actual``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    recent = history[history["ds"] > history["ds"].max() - pd.Timedelta(hours=history_hours)]
    ax.plot(recent["ds"], recent["y"], color="#333333", lw=1.2, label="history")
    ax.fill_between(
        forecast["ds"],
        forecast["yhat_lower"],
        forecast["yhat_upper"],
        color="#4c8bf5",
        alpha=0.25,
        label="80 % band",
    )
    ax.plot(forecast["ds"], forecast["yhat"], color="#1a56c4", lw=1.5, label="forecast")
    if actual is not None and not actual.empty:
        ax.plot(actual["ds"], actual["y"], color="#333333", lw=1, ls=":", label="actual")
    for decision in decisions:
        _threshold(ax, decision)
    ax.axvline(recent["ds"].max(), color="#999999", lw=0.8)
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def _threshold(ax: Axes, decision: Decision) -> None:
    ax.axhline(decision.threshold, color="#d62728", lw=1, ls="--")
    if decision.crossing_at is None:
        label = f"threshold {decision.threshold:g}: no crossing (p={decision.probability:.2f})"
        ax.annotate(label, xy=(0.99, 0.02), xycoords="axes fraction", ha="right", fontsize=8)
        return
    at = pd.Timestamp(decision.crossing_at)
    ax.axvline(at, color="#d62728", lw=1)
    lead = f"in {decision.lead_hours:.0f} h, " if decision.lead_hours is not None else ""
    label = (
        f"crosses {decision.threshold:g} at {at:%m-%d %H:%M} ({lead}p={decision.probability:.2f})"
    )
    ax.annotate(
        label,
        xy=(at, decision.threshold),
        xytext=(8, 8),
        textcoords="offset points",
        color="#d62728",
        fontsize=8,
    )


def plot_series(
    engine: Engine,
    node_id: str,
    indicator: str,
    out: Path,
    *,
    at: datetime | None = None,
    thresholds: Sequence[float] = (),
    window_days: int = 28,
    horizon_hours: int = 48,
) -> list[Decision]:
    """Fit the series as the cycle would at ``at`` (default: now), plot it with every threshold
    its rules watch plus ``thresholds``, and what happened after ``at`` when the database has
    it. Returns the decisions drawn. Raises ``LookupError`` for an unknown series."""
    from forecaster.crossings.decision import DEFAULT_RULE, decide
    from forecaster.prophet.batch import FAST_CONFIG
    from forecaster.prophet.model import fit, predict
    from forecaster.series import forecastable_series, hour_floor, load_histories
    from forecaster.store import load_decisions
    from forecaster.targets import Target, targets_for

    now = at or datetime.now(UTC)
    until = hour_floor(now)
    since = until - timedelta(days=window_days)
    with engine.connect() as conn:
        keys = forecastable_series(
            conn,
            since,
            until + timedelta(hours=horizon_hours),
            min_points=2,
            nodes=[node_id],
            indicators=[indicator],
        )
        if not keys:
            raise LookupError(f"no hourly history for {indicator!r} at {node_id!r}")
        ((key, full),) = list(
            load_histories(conn, keys, since, until + timedelta(hours=horizon_hours))
        )
        watched = targets_for(conn, [key.series_id]).get(key.series_id, [])
        rule = load_decisions(conn).get(indicator, DEFAULT_RULE)
    local_now = pd.Timestamp(now).tz_convert(key.timezone).tz_localize(None)
    history = full[full["ds"] < local_now.floor("h")]
    actual = full[full["ds"] >= local_now.floor("h")]
    forecast = predict(fit(history, FAST_CONFIG), horizon_hours)
    watched += [Target(t, "above") for t in thresholds]
    origin = history["ds"].iloc[-1]
    decisions = [
        decide(forecast, t.threshold, t.direction, rule, origin=origin, now=local_now)
        for t in watched
    ]
    title = f"{node_id} · {indicator} · forecast at {local_now:%Y-%m-%d %H:%M} local"
    plot_forecast(history, forecast, out, title=title, decisions=decisions, actual=actual)
    return decisions

"""Shared pieces of the forecaster tests' lot frames."""

from __future__ import annotations

# The stage times a lot row carries after its arrival: all empty on a lot that only arrived.
LATER_STAGE_TIMES = (
    "declared_at",
    "inspection_started_at",
    "inspection_finished_at",
    "released_at",
    "held_at",
    "hold_lifted_at",
)

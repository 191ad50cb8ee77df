"""Errors raised by the forecaster core.

    ForecastError                 base class; catch it to record any forecaster failure
    ├── ForecastSkipped           not enough usable data: an expected outcome, not a bug
    └── ModelFormatError          a stored model cannot be read (unknown ``format_version``)

Functions raise; the caller (``prophet.batch.fit_many`` or the DB glue) records the reason.
"""

from __future__ import annotations


class ForecastError(Exception):
    """Base class for forecaster errors."""


class ForecastSkipped(ForecastError):
    """The series cannot be forecast now; ``reason`` says why (stored with the run)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelFormatError(ForecastError, ValueError):
    """A serialized model is not ours or has a ``format_version`` this build cannot read."""

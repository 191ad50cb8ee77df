"""Waiting in a test for something another process or thread does."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, every: float = 0.5
) -> None:
    """Return once `predicate()` is true, checking every `every` seconds; fail naming `what`
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")

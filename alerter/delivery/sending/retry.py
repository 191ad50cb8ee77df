"""When to try a failed notification again, and when to give up (reference §3.5); pure.

Exponential backoff with jitter from 2 s, doubling to a 10-minute cap; ``Retry-After`` and a
vendor's documented penalty (DingTalk 130101: 10 minutes) are waits at least that long. A rate
limit is not a failure of the receiver and does not spend the failure budget; every wait
counts against the deadline. Past either, the notification is dead-lettered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerter.channels.errors import DeliveryError, Outcome
from alerter.delivery.sending.store import Claim


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and pacing. Defaults: 2 s doubling to 10 min, 8 failures (about 8 min of
    backoff) or 1 h, whichever comes first, then dead letter and fallback."""

    base_s: float = 2.0
    cap_s: float = 600.0
    max_failures: int = 8
    deadline_s: float = 3600.0
    rate_limit_wait_s: float = 60.0  # when a vendor throttles without saying for how long
    lease_s: float = 120.0
    timeout_s: float = 10.0
    batch: int = 200  # claims per channel and pass when the bot has no rate limit
    workers: int = 8

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Equal jitter: half the exponential delay fixed, half random, so replicas retrying
        after one outage spread out (aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter)."""
        delay = min(self.cap_s, self.base_s * 2 ** max(failures - 1, 0))
        return float(delay / 2 + rng.random() * delay / 2)


DEFAULT_POLICY = RetryPolicy()


def next_step(
    claim: Claim,
    error: DeliveryError,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> tuple[datetime | None, int]:
    """(when to retry, failures so far); None means the retry budget is spent: dead letter."""
    if error.outcome is Outcome.PERMANENT:
        return None, claim.failures + 1
    if error.outcome is Outcome.RATE_LIMITED:  # the vendor's penalty is not our failure
        failures, wait = claim.failures, error.retry_after or policy.rate_limit_wait_s
    else:
        failures = claim.failures + 1
        wait = max(policy.backoff(failures, rng), error.retry_after or 0.0)
        if failures >= policy.max_failures:
            return None, failures
    retry_at = now + timedelta(seconds=wait)
    if retry_at - claim.created_at > timedelta(seconds=policy.deadline_s):
        return None, failures
    return retry_at, failures

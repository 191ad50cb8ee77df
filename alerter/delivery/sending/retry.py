"""When to try a failed notification again, and when to give up (reference §3.5); pure.

Exponential backoff with jitter from 2 s, doubling to a 10-minute cap; ``Retry-After`` and a
vendor's documented penalty (DingTalk 130101: 10 minutes) are waits at least that long. The
budget is time, not tries (``Settings.retry_budget_s``, 1 h by default, counted from the
notification's creation, every wait included): a receiver down for 30 minutes is tried about
a dozen times and gets everything when it is back. The last try falls at the budget's end;
a failure there dead-letters the notification.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerter.channels.errors import DeliveryError, Outcome
from alerter.delivery.sending.store import Claim
from quaywatch.settings import Settings


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and pacing. Defaults: 2 s doubling to 10 min for 1 h, then dead letter and
    fallback. ``max_failures`` (none by default) only lets tests give up after a few tries."""

    base_s: float = 2.0
    cap_s: float = 600.0
    max_failures: int | None = None
    deadline_s: float = 3600.0  # the retry budget: Settings.retry_budget_s
    rate_limit_wait_s: float = 60.0  # when a vendor throttles without saying for how long
    lease_s: float = 120.0
    timeout_s: float = 10.0
    # Claims per channel and round when the bot has no rate limit: what the senders are about
    # to send, so a killed dispatcher leaves little in flight (sent twice at worst).
    batch: int = 8
    rounds: int = 25  # claim-and-send rounds per pass: up to 200 per channel, as one claim was
    workers: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(deadline_s=settings.retry_budget_s)

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Equal jitter: half the exponential delay fixed, half random, so replicas retrying
        after one outage spread out (aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter)."""
        delay = min(self.cap_s, self.base_s * 2 ** max(failures - 1, 0))
        return float(delay / 2 + rng.random() * delay / 2)


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
        if policy.max_failures is not None and failures >= policy.max_failures:
            return None, failures
    deadline = claim.created_at + timedelta(seconds=policy.deadline_s)
    earliest = now + timedelta(seconds=error.retry_after or 0.0)  # the vendor's wait is binding
    if now >= deadline or earliest > deadline:
        return None, failures
    # A backoff reaching past the budget is cut to its end: one last try, not none.
    return min(now + timedelta(seconds=wait), deadline), failures

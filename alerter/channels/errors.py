"""The one error a channel raises, and what the caller should do about it; no tables.

Error tree (one class: the caller branches on ``outcome``, not on the type)::

    Exception
    └── DeliveryError(message, outcome, retry_after, vendor_code, parts_sent)
        ├── outcome "rate_limited"  the vendor throttled us: wait max(retry_after, backoff),
        │                           keep the job and coalesce what queues behind it
        ├── outcome "retryable"     network error, timeout, 5xx/408, vendor "system busy",
        │                           an unreadable answer: retry with backoff until a deadline
        └── outcome "permanent"     misconfiguration (bad token, signature, keyword, IP
                                    allowlist, refused address) or a rejected payload:
                                    do not retry, record it and warn through a fallback

Configuration errors are not DeliveryErrors: a channel config that does not validate raises
``pydantic.ValidationError`` at construction, and an unknown kind raises ``ValueError``.

The message never holds a URL token or secret: channels build it from redacted parts, and
``Channel.send`` redacts it once more before it leaves (STYLE.md G2).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the caller does next; values are the strings stored in delivery rows."""

    RATE_LIMITED = "rate_limited"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


class DeliveryError(Exception):
    """A delivery failed; ``outcome`` says whether and when to try again.

    ``parts_sent`` counts the payloads of a split message that were delivered before this
    failure, so a retry can resume with ``payloads[parts_sent:]`` instead of repeating them.
    """

    def __init__(
        self,
        message: str,
        outcome: Outcome | str = Outcome.PERMANENT,
        *,
        retry_after: float | None = None,
        vendor_code: str | None = None,
        parts_sent: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.outcome = Outcome(outcome)
        self.retry_after = retry_after
        self.vendor_code = vendor_code
        self.parts_sent = parts_sent

    @property
    def permanent(self) -> bool:
        return self.outcome is Outcome.PERMANENT

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"DeliveryError({self.message!r}, {self.outcome.value!r}, "
            f"retry_after={self.retry_after!r}, vendor_code={self.vendor_code!r})"
        )

"""An HttpClient naming the notification in every request, so receivers dedupe; no tables.

Delivery is at least once: a dispatcher killed after the receiver answered but before the
attempt was recorded sends the notification again. Every request therefore carries
``X-QuayWatch-Notification-Id`` and an ``Idempotency-Key`` per part
(draft-ietf-httpapi-idempotency-key-header), the same on every retry of that part.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

from alerter.channels.http import HttpClient

NOTIFICATION_HEADER = "X-QuayWatch-Notification-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class KeyedClient(HttpClient):
    """``parts`` counts the requests made through this client (what vendors rate-limit)."""

    def __init__(
        self, session: requests.Session | None, notification_id: int | None, first_part: int = 0
    ) -> None:
        super().__init__(session)
        self.notification_id = notification_id
        self.part = first_part
        self.parts = 0

    def request_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        self.part += 1
        self.parts += 1
        if self.notification_id is None:
            return headers
        return {
            **headers,
            NOTIFICATION_HEADER: str(self.notification_id),
            IDEMPOTENCY_HEADER: f"qw-{self.notification_id}-{self.part}",
        }

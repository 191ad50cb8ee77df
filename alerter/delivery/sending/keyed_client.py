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

    def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,
        allow_private: bool = False,
    ) -> requests.Response:
        self.part += 1
        self.parts += 1
        extra = {}
        if self.notification_id is not None:
            extra = {
                NOTIFICATION_HEADER: str(self.notification_id),
                IDEMPOTENCY_HEADER: f"qw-{self.notification_id}-{self.part}",
            }
        return super().post(
            url, body, {**headers, **extra}, timeout=timeout, allow_private=allow_private
        )

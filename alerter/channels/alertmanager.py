"""Alertmanager peer: push alerts to ``POST {url}/api/v2/alerts`` (reference §2.2); no tables.

The body is a JSON array of postable alerts (``api/v2/openapi.yaml`` ``postableAlert``).
Alertmanager resolves an alert whose ``endsAt`` has passed, and one it stops hearing about
after ``resolve_timeout``, so the dispatcher re-sends firing groups (repeat interval) and
resolved ones for a while.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import SecretStr

from alerter.channels.base import Channel, ChannelConfig, Outgoing, Payload, encode_json
from alerter.channels.message import iso_utc
from alerter.channels.responses import http_error

API_PATH = "/api/v2/alerts"


class AlertmanagerConfig(ChannelConfig):
    """``url`` is Alertmanager's base URL, e.g. http://alertmanager:9093."""

    bearer_token: SecretStr | None = None  # for an Alertmanager behind an auth proxy


class Alertmanager(Channel):
    kind = "alertmanager"
    Config = AlertmanagerConfig
    config: AlertmanagerConfig

    def render(self, context: Mapping[str, Any], lang: str | None = None) -> list[Payload]:
        """One payload ``{"alerts": [...]}``; ``sign`` sends the list itself."""
        now = iso_utc(datetime.fromtimestamp(self.clock(), UTC))
        return [{"alerts": [self._postable(a, now) for a in context["alerts"]]}]

    @staticmethod
    def _postable(alert: Mapping[str, Any], now: str) -> dict[str, Any]:
        postable: dict[str, Any] = {
            "labels": alert["labels"],
            "annotations": alert["annotations"],
            "startsAt": alert["starts_at"],
        }
        if alert["ends_at"] or not alert["firing"]:
            postable["endsAt"] = alert["ends_at"] or now  # endsAt <= now resolves it
        if alert["generator_url"]:  # the schema says format uri; leave it out when unknown
            postable["generatorURL"] = alert["generator_url"]
        return postable

    def sign(self, payload: Payload) -> Outgoing:
        out = super().sign(payload)
        headers = dict(out.headers)
        if self.config.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.config.bearer_token.get_secret_value()}"
        url = self.url.rstrip("/") + API_PATH
        return replace(out, url=url, body=encode_json(payload["alerts"]), headers=headers)

    def classify(self, response: requests.Response) -> str | None:
        error = http_error(response)
        if error is not None:
            raise error
        return str(response.status_code)

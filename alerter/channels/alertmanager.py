"""Alertmanager peer: push alerts to ``POST {url}/api/v2/alerts`` (reference §2.2); no tables.

The body is a JSON array of postable alerts (``api/v2/openapi.yaml`` ``postableAlert``).
Alertmanager resolves an alert whose ``endsAt`` has passed, and one it stops hearing about
after ``resolve_timeout``, so the dispatcher re-sends firing groups (repeat interval) and
resolved ones for a while.

A firing alert is sent with ``endsAt`` ``ENDS_AT_AHEAD_S`` ahead, as Prometheus does
(``rules/alerting.go`` ``sendAlerts``: ``ValidUntil = ts + 4 * max(resendDelay, interval)``):
without one Alertmanager ends it after ``resolve_timeout``, and with ``resolve_timeout: 1m``
our re-push every 60-72 s came too late, so the alert resolved and fired again each round.
A test send (reason ``test``) is pushed firing, then resolved at once, so it leaves nothing
firing in the peer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pydantic import ConfigDict, SecretStr

from alerter.channels.base import Channel, ChannelConfig, Outgoing, Payload, encode_json
from alerter.channels.message import iso_utc
from alerter.channels.responses import http_error

API_PATH = "/api/v2/alerts"
# 4x our re-push interval (alerter.delivery.routing.ALERTMANAGER_RESEND_S, 60 s): three late or
# failed re-pushes in a row still do not resolve the alert.
ENDS_AT_AHEAD_S = 4 * 60
TEST_REASON = "test"  # alerter.delivery.probe.sample_content


class AlertmanagerConfig(ChannelConfig):
    """``url`` is Alertmanager's base URL, e.g. http://alertmanager:9093."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"url": "http://127.0.0.1:9093", "bearer_token": "example-bearer-token"}
        }
    )

    bearer_token: SecretStr | None = None  # for an Alertmanager behind an auth proxy


class Alertmanager(Channel):
    kind = "alertmanager"
    Config = AlertmanagerConfig
    config: AlertmanagerConfig

    def render(self, context: Mapping[str, Any], lang: str | None = None) -> list[Payload]:
        """One payload ``{"alerts": [...]}``; ``sign`` sends the list itself. A test send is
        two: the alerts firing, then the same alerts resolved."""
        moment = datetime.fromtimestamp(self.clock(), UTC)
        now, ahead = iso_utc(moment), iso_utc(moment + timedelta(seconds=ENDS_AT_AHEAD_S))
        alerts = context["alerts"]
        payloads = [{"alerts": [self._postable(a, now, ahead) for a in alerts]}]
        if context.get("notification_reason") == TEST_REASON:
            ended = [{**a, "firing": False, "ends_at": None} for a in alerts]
            payloads.append({"alerts": [self._postable(a, now, ahead) for a in ended]})
        return payloads

    @staticmethod
    def _postable(alert: Mapping[str, Any], now: str, ahead: str) -> dict[str, Any]:
        postable: dict[str, Any] = {
            "labels": alert["labels"],
            "annotations": alert["annotations"],
            "startsAt": alert["starts_at"],
        }
        if alert["firing"]:
            postable["endsAt"] = ahead  # re-pushed well before: see ENDS_AT_AHEAD_S
        else:
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

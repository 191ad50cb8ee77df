"""Generic webhook: Alertmanager webhook v4 JSON, optionally HMAC-signed; writes nothing.

Body: prometheus/alertmanager ``notify/webhook/webhook.go`` ``Message`` (version "4"; reference
§2.1), built in code because it is data, not wording. Signing follows Grafana's
``http/hmac.go``: ``X-QuayWatch-Signature: sha256=hex(HMAC_SHA256(secret, f"{ts}.{body}"))``
with the Unix seconds in ``X-QuayWatch-Timestamp``, so receivers can refuse replays.

As Alertmanager does, ``fingerprint`` is the label-set fingerprint (16 hex digits, the same
one Alertmanager's API gives for these labels); ours, which also covers the rule id and keys
``/api/v1/alerts``, is ``quaywatchFingerprint``. With ``max_alerts``, ``status``,
``commonLabels`` and ``commonAnnotations`` describe the alerts sent, not the whole group
(``notify/webhook/webhook.go`` truncates before ``GetTemplateData``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import requests
from pydantic import Field, SecretStr

from alerter.channels.base import Channel, ChannelConfig, Outgoing, Payload
from alerter.channels.message import common_pairs
from alerter.channels.responses import http_error
from alerter.channels.vendor_urls import with_example

TIMESTAMP_HEADER = "X-QuayWatch-Timestamp"
SIGNATURE_HEADER = "X-QuayWatch-Signature"
# Alertmanager sends firing alerts with this endsAt (dispatch/dispatch.go:927).
ZERO_TIME = "0001-01-01T00:00:00Z"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` keyed with the secret."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class WebhookConfig(ChannelConfig):
    model_config = with_example(
        {
            "url": "http://127.0.0.1:9/hook",
            "secret": "example-signing-secret",
            "max_alerts": 50,
            "external_url": "http://127.0.0.1:8080/",
        }
    )

    secret: SecretStr | None = None
    max_alerts: int = Field(0, ge=0)  # 0 sends all; otherwise the rest count in truncatedAlerts
    external_url: str = ""  # where receivers can link back to; defaults to the group's


def v4_alert(alert: Mapping[str, Any]) -> dict[str, Any]:
    ends_at = alert["ends_at"] if not alert["firing"] and alert["ends_at"] else ZERO_TIME
    return {
        "status": alert["status"],
        "labels": alert["labels"],
        "annotations": alert["annotations"],
        "startsAt": alert["starts_at"],
        "endsAt": ends_at,
        "generatorURL": alert["generator_url"],
        "fingerprint": alert["label_fingerprint"],
        "quaywatchFingerprint": alert["fingerprint"],
    }


class Webhook(Channel):
    kind = "webhook"
    Config = WebhookConfig
    config: WebhookConfig

    def render(self, context: Mapping[str, Any], lang: str | None = None) -> list[Payload]:
        """One v4 message; the language does not apply to data."""
        alerts = context["alerts"]
        shown = alerts[: self.config.max_alerts or len(alerts)]
        firing = any(a["firing"] for a in shown)
        return [
            {
                "version": "4",
                "groupKey": context["group_key"],
                "truncatedAlerts": len(alerts) - len(shown),
                "status": "firing" if firing else "resolved",
                "receiver": context["receiver"],
                "notification_reason": context["notification_reason"] or "unknown",
                "groupLabels": context["group_labels"],
                "commonLabels": common_pairs([a["labels"] for a in shown]),
                "commonAnnotations": common_pairs([a["annotations"] for a in shown]),
                "externalURL": self.config.external_url or context["external_url"],
                "alerts": [v4_alert(a) for a in shown],
            }
        ]

    def sign(self, payload: Payload) -> Outgoing:
        out = super().sign(payload)
        if self.config.secret is None:
            return out
        timestamp = str(int(self.clock()))
        digest = webhook_signature(self.config.secret.get_secret_value(), timestamp, out.body)
        signed = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: f"sha256={digest}"}
        return replace(out, headers={**out.headers, **signed})

    def classify(self, response: requests.Response) -> str | None:
        error = http_error(response)
        if error is not None:
            raise error
        return str(response.status_code)

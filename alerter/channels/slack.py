"""Slack incoming webhook: header + mrkdwn blocks; answers "ok" or an error name; no tables.

https://api.slack.com/messaging/webhooks#handling_errors . No outbound signing: Slack's
signing secret only verifies requests coming from Slack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from alerter.channels.base import Channel, ChannelConfig, Payload
from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.render import slack_escape
from alerter.channels.responses import http_error
from alerter.channels.vendor_urls import url_must, with_example

# Error names Slack answers in the body; all come with a 4xx status and are permanent (the
# HTTP status decides), except 429, which carries Retry-After.
HINTS = {
    "invalid_payload": "malformed JSON",
    "no_text": "no text",
    "too_many_attachments": "too many attachments",
    "action_prohibited": "an admin restricted posting",
    "invalid_token": "the webhook token is invalid",
    "channel_not_found": "the channel was deleted or renamed",
    "no_service": "the webhook was removed or its URL is wrong",
    "channel_is_archived": "the channel is archived",
    "team_disabled": "the workspace is disabled",
}

# Block Kit limits: section text 3000 characters, header text 150 characters
# (https://api.slack.com/reference/block-kit/blocks). Counting UTF-8 bytes against the
# character limit is stricter, hence safe.
SECTION_LIMIT = 3000
HEADER_LIMIT = 150


class SlackConfig(ChannelConfig):
    model_config = with_example(
        {"url": "http://127.0.0.1:9/services/T0000/B0000/example-webhook-token"}
    )
    _is_webhook = url_must(
        lambda parts: parts.path.startswith("/services/"),
        "must be an incoming webhook URL, …/services/T…/B…/…",
    )


class Slack(Channel):
    kind = "slack"
    Config = SlackConfig
    template = "slack.mrkdwn.j2"
    dialect = "slack"
    byte_limit = SECTION_LIMIT

    def build_payload(self, context: Mapping[str, Any], title: str, text: str) -> Payload:
        header = title if len(title) <= HEADER_LIMIT else title[: HEADER_LIMIT - 1] + "…"
        return {
            "text": slack_escape(title),  # the notification fallback
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": header}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            ],
        }

    def payload_size(self, payload: Payload) -> int:
        return len(payload["blocks"][1]["text"]["text"].encode("utf-8"))

    def classify(self, response: requests.Response) -> str | None:
        body = response.text.strip()
        if response.status_code == 200 and body == "ok":
            return "ok"
        error = http_error(response)
        if error is None:  # 2xx without "ok": we cannot tell whether it was posted
            raise DeliveryError(f"HTTP {response.status_code} without 'ok'", Outcome.RETRYABLE)
        name = body[:64] if body in HINTS else error.vendor_code
        hint = f" ({HINTS[body]})" if body in HINTS else ""
        raise DeliveryError(
            error.message + hint, error.outcome, retry_after=error.retry_after, vendor_code=name
        )

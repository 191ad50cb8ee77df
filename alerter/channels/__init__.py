"""Notification channels: one module per kind, one registry (STYLE.md G1); write nothing.

``CHANNEL_KINDS`` maps kind -> (display name, "module:Class"). Classes are imported on first
use, so importing this package loads neither requests nor Jinja2 (G7).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alerter.channels.base import Channel

CHANNEL_KINDS: dict[str, tuple[str, str]] = {
    "webhook": ("Webhook", "alerter.channels.webhook:Webhook"),
    "alertmanager": ("Alertmanager", "alerter.channels.alertmanager:Alertmanager"),
    "dingtalk": ("DingTalk", "alerter.channels.dingtalk:DingTalk"),
    "wecom": ("WeCom", "alerter.channels.wecom:WeCom"),
    "feishu": ("Feishu / Lark", "alerter.channels.feishu:Feishu"),
    "slack": ("Slack", "alerter.channels.slack:Slack"),
}


def load_channel_class(kind: str) -> type[Channel]:
    """Import and return the channel class of ``kind``; ValueError for an unknown kind."""
    from alerter.channels.base import Channel

    try:
        path = CHANNEL_KINDS[kind][1]
    except KeyError:
        known = ", ".join(CHANNEL_KINDS)
        raise ValueError(f"unknown channel kind {kind!r}; known kinds: {known}") from None
    module_name, _, class_name = path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise TypeError(f"{path} is not a Channel")
    return cls

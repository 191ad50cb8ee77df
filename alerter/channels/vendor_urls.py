"""What a vendor's robot URL must contain, and the example a channel's config documents; no tables.

Each vendor hands out one kind of URL (DingTalk ``access_token=``, WeCom ``key=``, the Slack
``/services/`` and Feishu ``/hook/`` paths); refusing any other when the channel is saved says
which part is missing, instead of a vendor error at the first alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from pydantic import ConfigDict, SecretStr, field_validator


def with_example(example: dict[str, Any]) -> ConfigDict:
    """A config's model_config: the example the OpenAPI document shows (pydantic merges it
    with ChannelConfig's settings)."""
    return ConfigDict(json_schema_extra={"example": example})


def url_must(has: Callable[[SplitResult], bool], message: str) -> Any:
    """A validator of ``url``: ValueError(``message``) unless ``has`` holds for its parts."""

    def check(cls: type, url: SecretStr) -> SecretStr:
        if not has(urlsplit(url.get_secret_value())):
            raise ValueError(message)
        return url

    return field_validator("url")(classmethod(check))


def in_query(name: str) -> Callable[[SplitResult], bool]:
    """True for a URL whose query gives ``name`` a value."""
    return lambda parts: bool(parse_qs(parts.query).get(name))

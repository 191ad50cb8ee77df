"""Fixtures for the delivery tests: a fake receiver on 127.0.0.1 and channels aimed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.alerter.helpers import SECRET, TOKEN, create_channel
from tests.fakes.im_server import ImServer


@pytest.fixture
def receiver() -> Iterator[ImServer]:
    with ImServer(TOKEN, SECRET) as server:
        yield server


def _maker(engine: Engine, kind: str, config: dict[str, Any]) -> Callable[..., int]:
    """A factory of `kind` channels with `config`, each call with its own fields."""

    def make(**fields: Any) -> int:
        return create_channel(engine, kind, dict(config), **fields)

    return make


@pytest.fixture
def webhook_channel(engine: Engine, receiver: ImServer) -> Callable[..., int]:
    """webhook_channel(**fields) -> channel id of a signed webhook aimed at the receiver."""
    return _maker(engine, "webhook", {"url": f"{receiver.url}/quaywatch/hook", "secret": SECRET})


@pytest.fixture
def make_dingtalk(engine: Engine, receiver: ImServer) -> Callable[..., int]:
    """make_dingtalk(**fields) -> channel id of a signed DingTalk robot aimed at the receiver."""
    config = {"url": f"{receiver.url}/robot/send?access_token={TOKEN}", "secret": SECRET}
    return _maker(engine, "dingtalk", config)

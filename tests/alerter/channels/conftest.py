"""Fixtures for the channel tests: a fake vendor server, and channels of each kind aimed at it.

Channels here are built with allow_private=True because the fake listens on 127.0.0.1;
test_conformance shows that the default refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alerter.channels import CHANNEL_KINDS, load_channel_class
from alerter.channels.base import Channel, DeliveryError
from alerter.channels.message import build_context
from tests.fakes.alert_groups import NOW, sample_group
from tests.fakes.channel_cases import CASES, CLIENT_TIMEOUT, SECRET, TOKEN, KindCase, config_for
from tests.fakes.im_server import ImServer
from tests.fakes.im_vendors import Reply


@pytest.fixture
def im_server() -> Iterator[ImServer]:
    with ImServer(TOKEN, SECRET) as server:
        yield server


@pytest.fixture(params=list(CHANNEL_KINDS))
def case(request: pytest.FixtureRequest) -> KindCase:
    return CASES[request.param]


@pytest.fixture
def make_channel(im_server: ImServer) -> Callable[..., Channel]:
    """make_channel(kind, token=..., secret=..., clock=..., **config overrides)."""

    def make(
        kind: str,
        *,
        token: str = TOKEN,
        secret: str = SECRET,
        clock: Callable[[], float] | None = None,
        **overrides: Any,
    ) -> Channel:
        config = {**config_for(kind, im_server.url, token, secret), **overrides}
        cls = load_channel_class(kind)
        return cls(config, clock=clock) if clock else cls(config)

    return make


@pytest.fixture
def channel(case: KindCase, make_channel: Callable[..., Channel]) -> Channel:
    return make_channel(case.kind)


@pytest.fixture
def context() -> dict[str, Any]:
    return build_context(sample_group(), "zh", now=NOW)


@pytest.fixture
def refused(
    make_channel: Callable[..., Channel], im_server: ImServer, context: dict[str, Any]
) -> Callable[[str, Reply], DeliveryError]:
    """refused(kind, reply) -> the error a channel of that kind raises when the vendor answers
    its send with ``reply``."""

    def send(kind: str, reply: Reply) -> DeliveryError:
        channel = make_channel(kind)
        im_server.play(reply)
        with pytest.raises(DeliveryError) as info:
            channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)
        return info.value

    return send

from __future__ import annotations

import pytest
from click.testing import CliRunner

from alerter.delivery.commands import register
from tests.alerter.helpers import SECRET, TOKEN, create_channel
from tests.command_line import fresh_cli
from tests.fakes import im_vendors as replies


@pytest.fixture
def quaywatch(db_url):
    root = fresh_cli(register)
    env = {"DATABASE_URL": db_url, "QUAYWATCH_ALLOW_PRIVATE_URLS": "true"}
    return lambda *args: CliRunner().invoke(root, list(args), env=env)


@pytest.fixture
def robot(engine, receiver):
    config = {"url": f"{receiver.url}/robot/send?access_token={TOKEN}", "secret": SECRET}
    return create_channel(engine, "dingtalk", config, name="ningbo-ops", node_id="3100")


def test_channels_list_shows_each_channel_without_its_secrets(quaywatch, robot):
    result = quaywatch("channels", "list")

    assert result.exit_code == 0, result.output
    assert "ningbo-ops" in result.output and "dingtalk" in result.output
    assert TOKEN not in result.output and SECRET not in result.output
    assert quaywatch("channels", "list", "--node", "2200").output == ""


def test_channels_test_sends_once_and_fails_with_the_vendors_reason(quaywatch, robot, receiver):
    ok = quaywatch("channels", "test", str(robot))
    receiver.play(replies.DINGTALK_310000)
    refused = quaywatch("channels", "test", str(robot))

    assert ok.exit_code == 0 and ok.output.startswith("ok: delivered")
    assert refused.exit_code == 1 and "permanent" in refused.output and "310000" in refused.output
    assert len(receiver.requests) == 2
    assert quaywatch("channels", "test", "999").exit_code == 1

"""The registry (STYLE.md G1): each kind has a module, a class, a template and a test."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerter.channels import CHANNEL_KINDS, load_channel_class
from alerter.channels.base import Channel, ChannelConfig

HERE = Path(__file__).parent


@pytest.mark.parametrize("kind", CHANNEL_KINDS)
def test_each_kind_has_a_class_a_config_a_template_and_a_test(kind):
    cls = load_channel_class(kind)

    assert issubclass(cls, Channel) and cls.kind == kind
    assert issubclass(cls.Config, ChannelConfig)
    if cls.template is not None:
        templates = resources.files("alerter.channels") / "templates"
        assert (templates / cls.template).is_file()
        assert cls.byte_limit
    assert (HERE / f"test_{kind}.py").is_file()


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown channel kind 'telegram'"):
        load_channel_class("telegram")


def test_importing_the_package_loads_no_channel_and_no_http_library():
    code = (
        "import sys, alerter.channels; "
        "print(sorted(m for m in ('requests', 'jinja2', 'alerter.channels.dingtalk') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_a_config_error_names_the_field_but_not_the_secret_url():
    with pytest.raises(ValidationError) as info:
        load_channel_class("dingtalk")({"url": "ftp://host/robot/send?access_token=tok-secret-1"})

    assert "url" in str(info.value)
    assert "tok-secret-1" not in str(info.value)


def test_secrets_are_masked_in_the_config_repr():
    config = load_channel_class("feishu").Config.model_validate(
        {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/tok-secret-2", "secret": "SECx"}
    )

    assert "tok-secret-2" not in repr(config) and "SECx" not in repr(config)


def test_unknown_config_fields_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        load_channel_class("slack")({"url": "https://hooks.slack.com/services/T/B/x", "x": 1})

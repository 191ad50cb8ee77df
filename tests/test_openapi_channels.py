"""The OpenAPI document types a channel body per kind (alerter.delivery.api, whose config schemas
come from each kind's model, alerter.delivery.channel_config.config_schema), while the API
still checks bodies as before."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from alerter.channels import CHANNEL_KINDS
from alerter.delivery.channel_config import config_model, secret_fields, validate
from quaywatch.http.openapi import build_document

REF = "#/components/schemas/"


def _json_body(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _resolved(document: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][ref.removeprefix(REF)]
    return schema


@pytest.fixture
def document(app):
    return build_document(app)


def test_a_channel_body_is_one_schema_per_registered_kind_picked_by_kind(document):
    union = _json_body(document, "/api/v1/channels", "post")

    mapping = union["discriminator"]["mapping"]
    assert union["discriminator"]["propertyName"] == "kind"
    assert set(mapping) == set(CHANNEL_KINDS)
    assert [option["$ref"] for option in union["oneOf"]] == list(mapping.values())
    for kind, ref in mapping.items():
        variant = _resolved(document, ref)
        assert variant["properties"]["kind"]["enum"] == [kind]
        assert {"name", "kind", "config"} <= set(variant["required"])


def test_each_kinds_config_schema_has_its_models_keys_and_secrets_write_only(document):
    mapping = _json_body(document, "/api/v1/channels", "post")["discriminator"]["mapping"]
    for kind, ref in mapping.items():
        config = _resolved(document, _resolved(document, ref)["properties"]["config"]["$ref"])
        # allow_private is the server's to set (QUAYWATCH_ALLOW_PRIVATE_URLS), never the body's.
        assert set(config["properties"]) == set(config_model(kind).model_fields) - {"allow_private"}
        assert config["additionalProperties"] is False and config["required"] == ["url"]
        for name in secret_fields(kind):
            secret = config["properties"][name]
            assert secret["writeOnly"] is True and secret["format"] == "password"


@pytest.mark.parametrize("kind", sorted(CHANNEL_KINDS))
def test_each_kinds_example_is_a_config_its_model_accepts_on_loopback(document, kind):
    ref = _json_body(document, "/api/v1/channels", "post")["discriminator"]["mapping"][kind]
    variant = _resolved(document, ref)
    example = variant["example"]
    config = _resolved(document, variant["properties"]["config"]["$ref"])

    assert example["kind"] == kind and example["config"] == config["example"]
    readable, secrets = validate(kind, example["config"])  # raises if the example rotted
    assert urlsplit(secrets["url"]).hostname == "127.0.0.1"
    assert set(readable) | set(secrets) == set(example["config"])


@pytest.mark.parametrize("kind", sorted(CHANNEL_KINDS))
def test_each_kinds_example_creates_a_channel_through_the_api(document, client, auth, kind):
    # The test settings allow loopback addresses (QUAYWATCH_ALLOW_PRIVATE_URLS=true).
    ref = _json_body(document, "/api/v1/channels", "post")["discriminator"]["mapping"][kind]
    example = _resolved(document, ref)["example"]

    response = client.post("/api/v1/channels", json=example, headers=auth)

    assert response.status_code == 201, response.json
    assert response.json["kind"] == kind
    for name in secret_fields(kind) - {"url"}:
        assert response.json["config"][name] == "********"


def test_a_patch_config_takes_any_kinds_keys_each_optional(document):
    patch = _json_body(document, "/api/v1/channels/{channel_id}", "patch")
    config = patch["properties"]["config"]

    assert config["nullable"] is True
    partials = [_resolved(document, option["$ref"]) for option in config["anyOf"]]
    assert len(partials) == len(CHANNEL_KINDS)
    assert all("required" not in p for p in partials)
    assert all("default" not in field for p in partials for field in p["properties"].values())
    keys = {key for kind in CHANNEL_KINDS for key in config_model(kind).model_fields}
    assert set().union(*(p["properties"] for p in partials)) == keys - {"allow_private"}


def test_the_api_still_refuses_a_key_of_another_kind_naming_it(client, auth):
    body = {"name": "ops", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}}
    body["config"]["at_all"] = True  # a DingTalk and Feishu key

    response = client.post("/api/v1/channels", json=body, headers=auth)

    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "config.at_all"


def test_the_api_still_refuses_allow_private_naming_the_setting(client, auth):
    config = {"url": "http://127.0.0.1:9/hook", "allow_private": True}
    body = {"name": "ops", "kind": "webhook", "config": config}

    response = client.post("/api/v1/channels", json=body, headers=auth)

    assert response.status_code == 422
    assert "QUAYWATCH_ALLOW_PRIVATE_URLS" in response.json["detail"]

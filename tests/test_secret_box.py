from __future__ import annotations

import pytest

from quaywatch.security.secret_box import SecretBox, SecretBoxError, generate_key


def test_the_first_key_seals_and_every_key_opens():
    old, new = generate_key(), generate_key()
    token = SecretBox(old).seal({"url": "https://example.test/hook"})

    assert SecretBox(f"{new}, {old}").open(token) == {"url": "https://example.test/hook"}
    assert not SecretBox(f"{new},{old}").is_current(token)
    assert SecretBox(new).open(SecretBox(f"{new},{old}").rotate(token))["url"].endswith("/hook")


def test_a_malformed_key_is_refused_naming_the_variable_but_never_echoed():
    with pytest.raises(SecretBoxError) as raised:
        SecretBox(f"{generate_key()},not-a-fernet-key")

    assert "QUAYWATCH_SECRET_KEYS: key 2" in str(raised.value)
    assert "not-a-fernet-key" not in str(raised.value)


def test_no_key_and_an_unknown_key_say_what_to_do_without_the_secret():
    token = SecretBox(generate_key()).seal({"secret": "s3cr3t"})

    with pytest.raises(SecretBoxError, match="QUAYWATCH_SECRET_KEYS is not set"):
        SecretBox("").seal({"secret": "s3cr3t"})
    with pytest.raises(SecretBoxError, match="no key of QUAYWATCH_SECRET_KEYS") as raised:
        SecretBox(generate_key()).open(token)
    assert "s3cr3t" not in str(raised.value) and repr(SecretBox("")) == "SecretBox(0 key(s))"

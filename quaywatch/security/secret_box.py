"""Secrets sealed at rest with Fernet keys (``QUAYWATCH_SECRET_KEYS``); writes nothing.

A ``SecretBox`` seals a JSON mapping of secrets into one Fernet token and opens it again. The
keys are comma-separated: the first seals, every one opens (``MultiFernet``), so a new key is
added in front, ``quaywatch channels rotate-secrets`` re-seals with it, and the old key is
dropped afterwards (docs/channels.md). Errors name the variable, never a key or a secret.

The engine carries the keys as the execution option ``ENGINE_OPTION`` (``quaywatch.db``), so
every reader of a sealed row opens it with the settings its engine was built from.
Imports no product package: only the standard library and ``cryptography``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

VARIABLE = "QUAYWATCH_SECRET_KEYS"
ENGINE_OPTION = "quaywatch_secret_keys"


class SecretBoxError(ValueError):
    """Keys missing or malformed, or a sealed value no key opens; names ``VARIABLE``."""


def generate_key() -> str:
    """A new Fernet key (32 random bytes, url-safe base64), as ``VARIABLE`` takes it."""
    return Fernet.generate_key().decode("ascii")


def _fernets(keys: str) -> list[Fernet]:
    found = []
    for number, key in enumerate((k.strip() for k in keys.split(",") if k.strip()), start=1):
        try:
            found.append(Fernet(key))
        except ValueError:
            # The key itself is never echoed: it is a credential even when malformed.
            raise SecretBoxError(
                f"{VARIABLE}: key {number} is not a Fernet key (32 url-safe base64-encoded"
                " bytes; make one with `quaywatch channels new-key`)"
            ) from None
    return found


class SecretBox:
    """Seals and opens secrets with the comma-separated Fernet ``keys``; empty means none."""

    def __init__(self, keys: str) -> None:
        self._fernets = _fernets(keys)

    def __repr__(self) -> str:
        return f"SecretBox({len(self._fernets)} key(s))"

    @property
    def has_keys(self) -> bool:
        return bool(self._fernets)

    def require_keys(self) -> None:
        """Raise SecretBoxError naming the variable when no key is given."""
        self._all()

    def _all(self) -> MultiFernet:
        if not self._fernets:
            raise SecretBoxError(
                f"{VARIABLE} is not set: channel secrets are stored encrypted and need a key"
            )
        return MultiFernet(self._fernets)

    def seal(self, secrets: Mapping[str, str]) -> str:
        """The Fernet token of ``secrets`` (a JSON object), sealed with the first key."""
        plain = json.dumps(dict(secrets), sort_keys=True, ensure_ascii=False)
        return self._all().encrypt(plain.encode()).decode("ascii")

    def open(self, token: str) -> dict[str, str]:
        """The mapping sealed in ``token``; SecretBoxError when no key opens it."""
        try:
            plain = self._all().decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise self._unopenable() from None
        value = json.loads(plain)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise SecretBoxError("sealed secrets are not an object of strings")
        return value

    def is_current(self, token: str) -> bool:
        """Whether the first key opens ``token`` (re-sealing it would change nothing)."""
        try:
            self._all()
            self._fernets[0].decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` re-sealed with the first key; SecretBoxError when no key opens it."""
        try:
            return self._all().rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise self._unopenable() from None

    def _unopenable(self) -> SecretBoxError:
        return SecretBoxError(
            f"no key of {VARIABLE} ({len(self._fernets)} given) decrypts the stored secrets:"
            " add back the key they were encrypted with, or enter them again"
        )

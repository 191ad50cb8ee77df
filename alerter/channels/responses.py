"""Classification helpers shared by the channels' ``classify`` methods; writes nothing.

``http_error`` is the generic rule (Alertmanager's Retrier): 2xx ok, 429 rate limited,
408/5xx retryable, anything else permanent. Vendors that answer HTTP 200 with an error code
(DingTalk, WeCom, Feishu) read the body with ``json_body`` and map the code through their own
``VendorCode`` table with ``vendor_error`` (STYLE.md G3: the table stays in the vendor module).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.http import parse_retry_after


@dataclass(frozen=True)
class VendorCode:
    """How to treat one vendor error code: an entry of a channel's classification table."""

    outcome: Outcome
    retry_after: float | None = None  # the vendor's penalty, when it documents one
    hint: str = ""


def _snippet(response: requests.Response) -> str:
    return " ".join(response.text[:200].split()) or "(empty body)"


def http_error(response: requests.Response) -> DeliveryError | None:
    """Classify by HTTP status alone (Alertmanager's Retrier): None for 2xx."""
    status, code = response.status_code, str(response.status_code)
    if 200 <= status < 300:
        return None
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return DeliveryError(
            f"HTTP 429 rate limited: {_snippet(response)}",
            Outcome.RATE_LIMITED,
            retry_after=retry_after,
            vendor_code=code,
        )
    if status == 408 or status >= 500:
        return DeliveryError(
            f"HTTP {status}: {_snippet(response)}", Outcome.RETRYABLE, vendor_code=code
        )
    if 300 <= status < 400:
        return DeliveryError(
            f"HTTP {status}: redirect not followed, update the URL",
            Outcome.PERMANENT,
            vendor_code=code,
        )
    return DeliveryError(
        f"HTTP {status}: {_snippet(response)}", Outcome.PERMANENT, vendor_code=code
    )


def json_body(response: requests.Response) -> dict[str, Any]:
    """The JSON object answered; an unreadable answer is retryable (delivery is unknown)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DeliveryError(
            f"HTTP {response.status_code} with an unreadable body: {_snippet(response)}",
            Outcome.RETRYABLE,
        )
    return body


def vendor_error(
    response: requests.Response,
    code: int,
    text: str,
    table: Mapping[int, VendorCode],
    wait: float | None = None,
) -> DeliveryError:
    """A DeliveryError for a vendor error code; codes not in ``table`` are permanent.

    ``retry_after`` is the largest of the table's penalty, ``wait`` and a Retry-After header.
    """
    entry = table.get(code, VendorCode(Outcome.PERMANENT))
    header = parse_retry_after(response.headers.get("Retry-After"))
    waits = [entry.retry_after, wait, header]
    known = [w for w in waits if w is not None]
    hint = f" ({entry.hint})" if entry.hint else ""
    return DeliveryError(
        f"error {code}: {text}{hint}",
        entry.outcome,
        retry_after=max(known) if known else None,
        vendor_code=str(code),
    )


def code_result(
    response: requests.Response,
    table: Mapping[int, VendorCode],
    *,
    code_key: str = "errcode",
    text_key: str = "errmsg",
) -> str:
    """For vendors whose HTTP 200 carries ``{"errcode": N}``: return "0" or raise.

    HTTP 200 does not mean delivered (reference §3): a missing or non-integer code is an
    unreadable answer, hence retryable.
    """
    error = http_error(response)
    if error is not None:
        raise error
    body = json_body(response)
    code = body.get(code_key)
    if code == 0 and not isinstance(code, bool):
        return "0"
    if not isinstance(code, int) or isinstance(code, bool):
        raise DeliveryError(
            f"HTTP {response.status_code} without {code_key}: {_snippet(response)}",
            Outcome.RETRYABLE,
        )
    raise vendor_error(response, code, str(body.get(text_key, "")), table)

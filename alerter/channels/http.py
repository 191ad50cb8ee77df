"""Outbound HTTP for channels: address checks, redaction, Retry-After, a session; no tables.

A channel URL is a credential (DingTalk ``access_token=``, WeCom ``key=``, the Slack and Feishu
path), so nothing here puts a URL or a token into an error message or a log line unredacted.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, quote_plus, urljoin, urlsplit

import requests

from alerter.channels.errors import DeliveryError, Outcome

MASK = "***"
# 307/308 keep the method and body; 301/302/303 would turn our POST into a GET, so those are
# reported to the channel's classify() instead of being followed.
FOLLOWED_REDIRECTS = (307, 308)
MAX_REDIRECTS = 3

# DingTalk access_token/sign, WeCom key, and the usual names of credentials in a query.
_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:access_token|key|sign|token|secret|signature|api_key|apikey)=)[^&#\s'\"]*"
)
# Slack https://hooks.slack.com/services/T…/B…/X… and Feishu/Lark …/bot/v2/hook/<token>.
_SECRET_PATHS = re.compile(r"(/services/|/hook/)[^?#\s'\"]+")
_USERINFO = re.compile(r"(://)[^/@\s]+@")


def redact_url(url: str) -> str:
    """Mask credentials in a URL, or in any text that contains URLs or URL paths."""
    url = _USERINFO.sub(rf"\g<1>{MASK}@", url)
    url = _SECRET_PATHS.sub(rf"\g<1>{MASK}", url)
    return _SECRET_PARAMS.sub(rf"\g<1>{MASK}", url)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask each known secret (also percent-encoded) and every URL credential in ``text``."""
    variants = {v for s in secrets if len(s) >= 4 for v in (s, quote(s, safe=""), quote_plus(s))}
    for secret in sorted(variants, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return redact_url(text)


class RedactingFilter(logging.Filter):
    """Mask URL credentials in log records.

    urllib3 logs every request line at DEBUG, path and query included (so the DingTalk
    ``access_token`` and ``sign``); install this filter on the handlers that may see DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_url(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    # is_global is False for loopback, RFC 1918, link-local, CGNAT, reserved and unspecified;
    # multicast ranges count as global, hence the second test.
    return address.is_multicast or not address.is_global


def check_url(url: str, allow_private: bool = False) -> None:
    """Refuse URLs that are not http(s), or whose host resolves to an internal address.

    Raises DeliveryError: permanent for a refused URL, retryable when the name does not resolve.
    The check runs before each request (and each redirect); it does not pin the address, so a
    name that changes its answer between check and connect is not caught.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError("only http(s) URLs with a host name can be used", Outcome.PERMANENT)
    if allow_private:
        return
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise DeliveryError(f"cannot resolve {host}: {reason}", Outcome.RETRYABLE) from None
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if _is_internal(address):
            raise DeliveryError(
                f"refusing to send to {host} ({address}): loopback, private, link-local, "
                "multicast and reserved addresses are refused unless allow_private is set",
                Outcome.PERMANENT,
            )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 10.2.3).

    Returns None when the header is missing or unreadable; a date in the past gives 0.0.
    """
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 850 and asctime dates carry no zone; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


class HttpClient:
    """A requests.Session wrapper: one POST with a timeout, address checks, same-host redirects.

    The session is created on first use, never at import. Transport failures become retryable
    DeliveryErrors whose text is redacted; HTTP answers, good or bad, are returned as they are.
    """

    user_agent = "QuayWatch-Alerter/0.1"

    def __init__(self, session: requests.Session | None = None) -> None:
        self._session = session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,
        allow_private: bool = False,
    ) -> requests.Response:
        """POST ``body``; follow up to 3 redirects (307/308) that stay on the same origin."""
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private)
            response = self._post_once(url, body, headers, timeout)
            location = response.headers.get("Location")
            if response.status_code not in FOLLOWED_REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            if _origin(target) != _origin(url):
                host = urlsplit(target).hostname
                raise DeliveryError(
                    f"HTTP {response.status_code}: redirect to another host ({host}) refused",
                    Outcome.PERMANENT,
                )
            url = target
        raise DeliveryError(f"more than {MAX_REDIRECTS} redirects", Outcome.PERMANENT)

    def _post_once(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> requests.Response:
        host = urlsplit(url).hostname
        try:
            return self.session.post(
                url,
                data=body,
                headers={"User-Agent": self.user_agent, **headers},
                timeout=timeout,
                allow_redirects=False,
            )
        # "from None": the chained requests exception repeats the URL, token and all, and would
        # print it in any traceback that logs this error.
        except requests.Timeout:
            raise DeliveryError(
                f"no answer from {host} within {timeout:g} s", Outcome.RETRYABLE
            ) from None
        except requests.RequestException as exc:
            raise DeliveryError(
                f"request to {host} failed: {redact(str(exc))}", Outcome.RETRYABLE
            ) from None

"""Outbound HTTP for channels: address checks, redaction, Retry-After, a session; no tables.

The URL is read once, by urllib3's parser (the one requests connects with); its host is
resolved once, every address is checked, and the connection goes to that checked address
(``PinnedAdapter``), so neither a URL two parsers read differently nor a DNS answer that
changes between check and connect can send a request somewhere the check did not look.

A channel URL is a credential (DingTalk ``access_token=``, WeCom ``key=``, the Slack and Feishu
path), so nothing here puts a URL or a token into an error message or a log line unredacted.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, quote_plus, urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from alerter.channels.errors import DeliveryError, Outcome

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs

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


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    # is_global is False for loopback, RFC 1918, link-local, CGNAT, reserved and unspecified;
    # multicast ranges count as global, hence the second test.
    return address.is_multicast or not address.is_global


ALLOW_SETTING = "QUAYWATCH_ALLOW_PRIVATE_URLS"
# Characters two URL parsers read differently (WHATWG treats a backslash as "/", RFC 3986 does
# not; urlsplit and urllib3 disagreed on http://127.0.0.1:9<backslash>@8.8.8.8/), any space or control
# character, which also splits a request line.
_AMBIGUOUS = re.compile(r"[\\\x00-\x20\x7f]")


@dataclass(frozen=True)
class Target:
    """A URL as urllib3 (the library that connects) reads it, and the address to connect to."""

    scheme: str
    host: str  # as in the URL, IPv6 without brackets
    port: int
    address: str  # the checked IP: every request for this URL goes there

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url`` read with urllib3's parser, the one requests connects
    with; raises DeliveryError (permanent) for a URL two parsers could read differently."""
    refused = DeliveryError(
        "only plain http(s) URLs with a host can be used (no user info, backslash, space or"
        f" control character), whatever {ALLOW_SETTING} says",
        Outcome.PERMANENT,
    )
    if _AMBIGUOUS.search(url):
        raise refused
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise refused from None
    if parts.scheme not in ("http", "https") or not parts.host or parts.auth is not None:
        raise refused
    if "@" in (parts.netloc or ""):
        raise refused
    host = parts.host.strip("[]").lower()
    return parts.scheme, host, parts.port or (443 if parts.scheme == "https" else 80)


def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise DeliveryError(f"cannot resolve {host}: {reason}", Outcome.RETRYABLE) from None
    found = [str(sockaddr[0]).split("%")[0] for *_, sockaddr in infos]
    return list(dict.fromkeys(found))


def check_url(url: str, allow_private: bool = False) -> Target:
    """Read ``url`` with urllib3's parser, resolve its host once, check every address, and
    return the target pinned to the first one (the request connects there and nowhere else).

    Raises DeliveryError: permanent for a refused URL, retryable when the name does not
    resolve. Loopback, private, link-local, multicast and reserved addresses are refused unless
    ``allow_private`` (QUAYWATCH_ALLOW_PRIVATE_URLS=true).
    """
    scheme, host, port = parse_target(url)
    addresses = _addresses(host, port)
    if not addresses:
        raise DeliveryError(f"cannot resolve {host}: no address", Outcome.RETRYABLE)
    if not allow_private:
        for text in addresses:
            address = ipaddress.ip_address(text)
            if _is_internal(address):
                raise DeliveryError(
                    f"refusing to send to {host} ({address}): loopback, private, link-local,"
                    f" multicast and reserved addresses are refused unless {ALLOW_SETTING}=true"
                    " (allow_private)",
                    Outcome.PERMANENT,
                )
    return Target(scheme, host, port, addresses[0])


class PinnedAdapter(HTTPAdapter):
    """Connects to the address check_url pinned on the request, not to what DNS says now.

    The pool is keyed to the IP; TLS still sends the URL's host as SNI and checks the
    certificate against it, and the Host header carries the URL's host. A name that changes
    its answer between check and connect (DNS rebinding) therefore cannot move the request.
    """

    _PIN = "_quaywatch_pinned_address"

    @classmethod
    def pin(cls, request: requests.PreparedRequest, address: str) -> None:
        setattr(request, cls._PIN, address)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        address = getattr(request, self._PIN, None)
        if address is None:
            raise DeliveryError("request was not address-checked", Outcome.PERMANENT)
        _, host, _ = parse_target(request.url or "")
        host_params["host"] = address
        if host_params["scheme"] == "https":
            # urllib3 pool keys accept both; requests' stubs list only the TLS-file ones.
            tls = {**pool_kwargs, "server_hostname": host, "assert_hostname": host}
            pool_kwargs = cast("_PoolKwargs", tls)
        return host_params, pool_kwargs


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


def _origin(url: str) -> tuple[str, str, int]:
    return parse_target(url)


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
            self._session.trust_env = False  # no proxy from the environment: we pin the IP
        for prefix in ("http://", "https://"):
            if not isinstance(self._session.get_adapter(prefix), PinnedAdapter):
                self._session.mount(prefix, PinnedAdapter())
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
        headers = self.request_headers(headers)
        for _ in range(MAX_REDIRECTS + 1):
            target = check_url(url, allow_private)
            response = self._post_once(url, target, body, headers, timeout)
            location = response.headers.get("Location")
            if response.status_code not in FOLLOWED_REDIRECTS or not location:
                return response
            following = urljoin(url, location)
            if _origin(following) != _origin(url):
                host = _origin(following)[1]
                raise DeliveryError(
                    f"HTTP {response.status_code}: redirect to another host ({host}) refused",
                    Outcome.PERMANENT,
                )
            url = following
        raise DeliveryError(f"more than {MAX_REDIRECTS} redirects", Outcome.PERMANENT)

    def request_headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """The headers of one post (its redirects reuse them); subclasses add their own."""
        return headers

    def _post_once(
        self, url: str, target: Target, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> requests.Response:
        host = target.host
        try:
            request = self.session.prepare_request(
                requests.Request(
                    "POST",
                    url,
                    data=body,
                    headers={"User-Agent": self.user_agent, **headers, "Host": target.host_header},
                )
            )
            PinnedAdapter.pin(request, target.address)
            return self.session.send(request, timeout=timeout, allow_redirects=False)
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

"""Settings: one typed table, read once from the environment (and an optional file).

Every setting is a `Setting` row below; `docs/configuration.md` documents each one and
`tests/test_docs.py` fails when a row is undocumented. Values come from, in order of precedence:
the process environment, then the file named by `QUAYWATCH_CONFIG` (KEY=VALUE lines). A secret
may also come from `<NAME>_FILE`, the path of a file holding it. Invalid values fail at start with
an error naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


class Secret(str):
    """A string whose repr never shows the value, so settings can be logged safely."""

    def __repr__(self) -> str:
        return "Secret('********')"

    @property
    def value(self) -> str:
        return str.__str__(self)


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("use true or false")


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _log_format(raw: str) -> str:
    if raw.strip().lower() not in ("text", "json"):
        raise ValueError("use text or json")
    return raw.strip().lower()


def _whole(reason: str, low: int, high: int | None = None) -> Callable[[str], int]:
    """A parser of whole numbers from ``low`` (to ``high``), refusing others with ``reason``."""

    def parse(raw: str) -> int:
        number = int(raw)
        if number < low or (high is not None and number > high):
            raise ValueError(reason)
        return number

    return parse


_positive_int = _whole("must be a positive whole number", 1)
_whole_number = _whole("must be a whole number, 0 or more", 0)
_port = _whole("must be a port number from 0 to 65535", 0, 65535)


def _positive_float(raw: str) -> float:
    number = float(raw)
    if number <= 0:
        raise ValueError("must be a positive number")
    return number


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {raw!r}") from exc
    return raw


def _database_url(raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise ValueError("must be a postgresql:// URL")
    # SQLAlchemy needs the driver named; users paste plain libpq URLs.
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _optional_timezone(raw: str) -> str | None:
    return _timezone(raw) if raw else None


def _secret(raw: str) -> Secret:
    return Secret(raw)


@dataclass(frozen=True)
class Setting:
    name: str
    attr: str
    parse: Callable[[str], Any]
    default: str | None
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "database_url",
        _database_url,
        None,
        "PostgreSQL/TimescaleDB URL; `make run` and `make test` start a local cluster when unset.",
        secret=True,
    ),
    Setting("QUAYWATCH_API_HOST", "api_host", str, "127.0.0.1", "Address the HTTP API listens on."),
    Setting("QUAYWATCH_API_PORT", "api_port", _port, "8080", "Port the HTTP API listens on."),
    Setting("QUAYWATCH_LOG_LEVEL", "log_level", _log_level, "INFO", "Python logging level."),
    Setting(
        "QUAYWATCH_LOG_FORMAT",
        "log_format",
        _log_format,
        "text",
        "`text` (one line for people) or `json` (one JSON object a line, for log shippers).",
    ),
    Setting(
        "QUAYWATCH_METRICS_INTERVAL_S",
        "metrics_interval_s",
        _positive_int,
        "60",
        "Seconds between metrics cycles (per-site metrics and rollups to every level).",
    ),
    Setting(
        "QUAYWATCH_ROLLUP_INTERVAL_S",
        "rollup_interval_s",
        _positive_int,
        "300",
        "Seconds between hourly-rollup refreshes.",
    ),
    Setting(
        "QUAYWATCH_FEED_POLL_INTERVAL_S",
        "feed_poll_interval_s",
        _positive_int,
        "5",
        "Seconds between checks for station feeds that are due.",
    ),
    Setting(
        "QUAYWATCH_FEED_TIMEOUT_S",
        "feed_timeout_s",
        _positive_float,
        "10",
        "Timeout in seconds for one station feed request.",
    ),
    Setting(
        "QUAYWATCH_RETENTION_POINTS_DAYS",
        "retention_points_days",
        _positive_int,
        "30",
        "Days of per-minute metric points kept (whole chunks are dropped).",
    ),
    Setting(
        "QUAYWATCH_RETENTION_HOURLY_DAYS",
        "retention_hourly_days",
        _positive_int,
        "730",
        "Days of hourly rollups kept.",
    ),
    Setting(
        "QUAYWATCH_RETENTION_EVENTS_DAYS",
        "retention_events_days",
        _positive_int,
        "180",
        "Days of raw cargo events kept.",
    ),
    Setting(
        "QUAYWATCH_MAX_BODY_BYTES",
        "max_body_bytes",
        _positive_int,
        "16777216",
        "Largest accepted request body in bytes; larger bodies get 413.",
    ),
    Setting(
        "QUAYWATCH_MAX_BATCH",
        "max_batch",
        _positive_int,
        "10000",
        "Most events accepted in one push; longer batches get 413.",
    ),
    Setting(
        "QUAYWATCH_MAX_CLOCK_SKEW_S",
        "max_clock_skew_s",
        _positive_int,
        "300",
        "Events stamped further than this in the future are rejected.",
    ),
    Setting(
        "QUAYWATCH_NAIVE_TIMEZONE",
        "naive_timezone",
        _optional_timezone,
        "",
        "Zone assumed for timestamps without an offset; empty rejects them.",
    ),
    Setting(
        "QUAYWATCH_GRAFANA_URL",
        "grafana_url",
        str,
        "http://127.0.0.1:3000",
        "Grafana base URL used in links sent with alerts.",
    ),
    Setting(
        "QUAYWATCH_PUBLIC_URL",
        "public_url",
        str,
        "http://127.0.0.1:8080",
        "The API's public base URL, for the links back to QuayWatch sent with alerts.",
    ),
    Setting(
        "QUAYWATCH_ALLOW_PRIVATE_URLS",
        "allow_private_urls",
        _bool,
        "false",
        "Allow outbound requests to loopback, private and link-local addresses.",
    ),
    Setting(
        "QUAYWATCH_ADMIN_TOKEN",
        "admin_token",
        _secret,
        "",
        "Bootstrap token with national admin rights, created at start if set.",
        secret=True,
    ),
    Setting(
        "QUAYWATCH_SECRET_KEYS",
        "secret_keys",
        _secret,
        "",
        "Comma-separated Fernet keys for channel secrets at rest; the first encrypts, all decrypt.",
        secret=True,
    ),
    Setting(
        "QUAYWATCH_RETRY_BUDGET_S",
        "retry_budget_s",
        _positive_float,
        "3600",
        "Seconds a notification that fails with a retryable error keeps being retried.",
    ),
    Setting(
        "QUAYWATCH_DASK_SCHEDULER",
        "dask_scheduler",
        str,
        "",
        "Dask scheduler address for forecast cycles; empty runs them in local processes.",
    ),
    Setting(
        "QUAYWATCH_FORECAST_REFIT_HOURS",
        "forecast_refit_hours",
        _whole_number,
        "12",
        "Hours at most between two fits of a series; in between, forecasts come from its stored"
        " fit. 0 refits every changed window.",
    ),
    Setting(
        "QUAYWATCH_FORECAST_SELECT_HOURS",
        "forecast_select_hours",
        _whole_number,
        "24",
        "Hours between two re-selections of every indicator's warning champion by backtest"
        " (as `quaywatch backtest --apply`, thresholds only, the last 7 days of origins)."
        " 0 turns the scheduled re-selection off.",
    ),
    Setting(
        "QUAYWATCH_SIM_SCALE",
        "sim_scale",
        _positive_float,
        "1.0",
        "Simulator volume multiplier (1.0 is about 20,000 lots a day nationally).",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(repr=False)  # may hold a password
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    log_level: str = "INFO"
    log_format: str = "text"
    metrics_interval_s: int = 60
    rollup_interval_s: int = 300
    feed_poll_interval_s: int = 5
    feed_timeout_s: float = 10.0
    retention_points_days: int = 30
    retention_hourly_days: int = 730
    retention_events_days: int = 180
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch: int = 10_000
    max_clock_skew_s: int = 300
    naive_timezone: str | None = None
    grafana_url: str = "http://127.0.0.1:3000"
    public_url: str = "http://127.0.0.1:8080"
    allow_private_urls: bool = False
    admin_token: Secret = field(default_factory=lambda: Secret(""))
    sim_scale: float = 1.0
    secret_keys: Secret = field(default_factory=lambda: Secret(""))
    retry_budget_s: float = 3600.0
    dask_scheduler: str = ""
    forecast_refit_hours: int = 12
    forecast_select_hours: int = 24

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def read_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _raw_value(
    setting: Setting, env: Mapping[str, str], file_values: Mapping[str, str]
) -> str | None:
    file_var = f"{setting.name}_FILE"
    if setting.name in env:
        return env[setting.name]
    if file_var in env:
        try:
            return Path(env[file_var]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{file_var}: cannot read {env[file_var]}: {exc.strerror}") from exc
    if setting.name in file_values:
        return file_values[setting.name]
    return setting.default


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment; raise SettingsError naming the bad variable."""
    env = os.environ if env is None else env
    config_file = env.get("QUAYWATCH_CONFIG")
    file_values = read_file(Path(config_file)) if config_file else {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _raw_value(setting, env, file_values)
        if raw is None:
            raise SettingsError(f"{setting.name} is not set: {setting.help}")
        try:
            values[setting.attr] = setting.parse(raw)
        except ValueError as exc:
            shown = "********" if setting.secret else repr(raw)
            raise SettingsError(f"{setting.name}={shown} is invalid: {exc}") from exc
    return Settings(**values)

from __future__ import annotations

import pytest

from quaywatch.settings import SettingsError, load_settings

URL = "postgresql://u@127.0.0.1:5432/q"


def test_settings_come_from_the_environment_with_defaults():
    settings = load_settings({"DATABASE_URL": URL, "QUAYWATCH_API_PORT": "9000"})
    assert settings.api_port == 9000
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1:5432/q"
    assert settings.metrics_interval_s == 60


def test_a_missing_database_url_names_the_variable():
    with pytest.raises(SettingsError, match="DATABASE_URL is not set"):
        load_settings({})


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("QUAYWATCH_ALLOW_PRIVATE_URLS", "maybe", "use true or false"),
        ("QUAYWATCH_API_PORT", "70000", "port number"),
        ("QUAYWATCH_METRICS_INTERVAL_S", "0", "positive"),
        ("QUAYWATCH_FORECAST_REFIT_HOURS", "-1", "0 or more"),
        ("QUAYWATCH_FORECAST_REFIT_HOURS", "2.5", "invalid literal"),
        ("QUAYWATCH_NAIVE_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("DATABASE_URL", "mysql://x", "postgresql://"),
    ],
)
def test_an_invalid_value_is_refused_naming_the_variable_and_reason(name, value, reason):
    env = {"DATABASE_URL": URL, name: value}
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert name in str(raised.value) and reason in str(raised.value)


def test_refits_every_time_are_a_valid_choice():
    assert load_settings({"DATABASE_URL": URL}).forecast_refit_hours == 12
    settings = load_settings({"DATABASE_URL": URL, "QUAYWATCH_FORECAST_REFIT_HOURS": "0"})
    assert settings.forecast_refit_hours == 0


def test_a_secret_can_come_from_a_file_and_is_never_shown(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("qw_topsecret\n")
    settings = load_settings({"DATABASE_URL": URL, "QUAYWATCH_ADMIN_TOKEN_FILE": str(secret)})
    assert settings.admin_token.value == "qw_topsecret"
    assert "topsecret" not in repr(settings)
    assert "postgresql" not in repr(settings)


def test_an_invalid_secret_is_reported_without_echoing_it(tmp_path):
    with pytest.raises(SettingsError) as raised:
        load_settings({"DATABASE_URL": "mysql://user:hunter2@host/db"})
    assert "DATABASE_URL" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_config_file_fills_in_what_the_environment_does_not_set(tmp_path):
    config = tmp_path / "quaywatch.env"
    config.write_text("# deployment\nDATABASE_URL=postgresql://f@db/q\nQUAYWATCH_API_PORT=8181\n")
    settings = load_settings({"QUAYWATCH_CONFIG": str(config), "QUAYWATCH_API_PORT": "8282"})
    assert settings.database_url.endswith("@db/q")
    assert settings.api_port == 8282

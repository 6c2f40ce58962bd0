import pytest

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_settings

GOOD_SECRET = "a" * 16 + "b" * 16


def test_defaults_in_development():
    settings = load_settings({"APP_ENV": "development"})
    assert settings.slow_max_seconds == 10.0
    assert settings.max_content_length == 1024 * 1024
    assert settings.log_level == "INFO"
    assert settings.metrics_enabled is True
    assert len(settings.secret_key) == 64


def test_development_secret_is_random_per_start():
    first = load_settings({"APP_ENV": "development"}).secret_key
    assert first != load_settings({"APP_ENV": "development"}).secret_key


def test_values_come_from_the_environment():
    settings = load_settings(
        {
            "APP_ENV": "production",
            "SECRET_KEY": GOOD_SECRET,
            "LOG_LEVEL": "DEBUG",
            "SLOW_MAX_SECONDS": "2.5",
            "MAX_CONTENT_LENGTH": "2048",
{%- if cookiecutter.database == "postgresql" %}
            "DATABASE_URL": "postgresql://app:password@db.example.com/app",
{%- endif %}
        }
    )
    assert settings.secret_key == GOOD_SECRET
    assert settings.log_level == "DEBUG"
    assert settings.slow_max_seconds == 2.5
    assert settings.max_content_length == 2048


def test_choices_are_taken_in_any_case():
    settings = load_settings({"APP_ENV": "Development", "LOG_LEVEL": "debug"})
    assert (settings.app_env, settings.log_level) == ("development", "DEBUG")


def test_production_is_the_default_environment():
    with pytest.raises(SettingsError, match="SECRET_KEY is required in production"):
        load_settings({})


@pytest.mark.parametrize("secret", ["", "change-me", "CHANGEME", "secret", "short-but-real"])
def test_production_refuses_a_missing_or_placeholder_secret(secret):
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({"APP_ENV": "production", "SECRET_KEY": secret})


def test_create_app_refuses_to_start_in_production_without_secret(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLOW_MAX_SECONDS", "ten"),
        ("SLOW_MAX_SECONDS", "-1"),
        ("SLOW_MAX_SECONDS", "inf"),
        ("MAX_CONTENT_LENGTH", "1MB"),
        ("MAX_CONTENT_LENGTH", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("APP_ENV", "staging"),
        ("METRICS_ENABLED", "maybe"),
{%- if cookiecutter.database != "none" %}
        ("DATABASE_URL", "not a url"),
        ("DATABASE_POOL_TIMEOUT", "soon"),
{%- endif %}
    ],
)
def test_malformed_setting_names_the_variable(name, value):
    environ = {"APP_ENV": "development", name: value}
    with pytest.raises(SettingsError, match=name):
        load_settings(environ)

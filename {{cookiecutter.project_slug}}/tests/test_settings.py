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
{%- if cookiecutter.auth == "oidc" %}
            "OIDC_ISSUER": "https://login.example.com/realms/acme",
            "OIDC_AUDIENCE": "orders-api",
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


def test_a_secret_is_never_printed():
    with pytest.raises(SettingsError, match="SECRET_KEY") as raised:
        load_settings({"APP_ENV": "production", "SECRET_KEY": "short-but-real"})
    assert "short-but-real" not in str(raised.value)


def test_values_are_taken_without_surrounding_spaces():
    settings = load_settings({"APP_ENV": " test ", "METRICS_ENABLED": "false ", "PORT": " 80"})
    assert (settings.app_env, settings.metrics_enabled) == ("test", False)


@pytest.fixture
def dotenv(tmp_path, monkeypatch):
    """A .env file where the service starts, and an environment that leaves its variables unset."""
    monkeypatch.chdir(tmp_path)
    for name in ("APP_ENV", "SECRET_KEY", "LOG_LEVEL", "MAX_CONTENT_LENGTH"):
        monkeypatch.delenv(name, raising=False)
    lines = ["APP_ENV=development", "LOG_LEVEL=DEBUG", "MAX_CONTENT_LENGTH=2048"]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    return monkeypatch


@pytest.mark.parametrize("app_env", ["development", "test"])
def test_a_dotenv_file_is_read_in_development_and_tests(dotenv, app_env):
    dotenv.setenv("APP_ENV", app_env)
    dotenv.setenv("MAX_CONTENT_LENGTH", "4096")  # the environment wins over the file
    settings = load_settings()
    assert (settings.log_level, settings.max_content_length) == ("DEBUG", 4096)


def test_a_dotenv_file_is_ignored_in_production(dotenv):
    dotenv.setenv("APP_ENV", "production")
    dotenv.setenv("SECRET_KEY", GOOD_SECRET)
{%- if cookiecutter.database == "postgresql" %}
    dotenv.setenv("DATABASE_URL", "postgresql://app:password@db.example.com/app")
{%- endif %}
{%- if cookiecutter.auth == "oidc" %}
    dotenv.setenv("OIDC_ISSUER", "https://login.example.com/realms/acme")
    dotenv.setenv("OIDC_AUDIENCE", "orders-api")
{%- endif %}
    assert load_settings().log_level == "INFO"


def test_a_dotenv_file_cannot_take_a_server_out_of_production(dotenv):
    # APP_ENV=development in the file: production still, the default, which needs a secret.
    with pytest.raises(SettingsError, match="SECRET_KEY is required in production"):
        load_settings()


def test_a_given_environment_is_the_whole_environment(dotenv):
    assert load_settings({"APP_ENV": "development"}).log_level == "INFO"

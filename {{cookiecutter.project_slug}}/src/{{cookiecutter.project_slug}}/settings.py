"""Settings from the environment, parsed and checked once at start-up (pydantic-settings).

Every variable keeps its own name (the README's table): a field's alias. A value that cannot be
used stops the service with SettingsError, one line that names the variable and never shows a
secret, so a typo in a deployment fails loudly at start instead of misbehaving later.
"""

import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
{%- if cookiecutter.auth == "oidc" %}
from urllib.parse import urlsplit
{%- endif %}

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
{%- if cookiecutter.database != "none" %}
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
{%- endif %}

AppEnv = Literal["production", "development", "test"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# Values people copy from examples; a production service must not sign sessions with them.
PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "dev", "development", "replace-me"}
MIN_SECRET_LENGTH = 32
SECRET_HINT = 'generate one with: python3 -c "import secrets; print(secrets.token_hex(32))"'
# Their values never appear in a message: a signing key, and a URL that may hold a password.
SECRET_VARIABLES = {"SECRET_KEY", "DATABASE_URL"}
# OTEL_TRACES_EXPORTER's values this service ships an exporter for.
KNOWN_TRACE_EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"
# prometheus_client's multiprocess directory: the launcher prepares it (serving/), the metrics
# middleware reads it (middleware/); named here, below both.
METRICS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Read in development and tests only, from where the process starts (the project's root).
DOTENV = Path(".env")
# pydantic's complaints, worded as this service words them ({name} is the variable).
MESSAGES = {
    "int_parsing": "{name}={value!r} is not a whole number",
    "float_parsing": "{name}={value!r} is not a number",
    "bool_parsing": "{name}={value!r} is not a boolean: use true or false",
    "greater_than_equal": "{name}={value!r} must be at least {ge}",
    "less_than_equal": "{name}={value} is above the most allowed, {le}",
    "value_error": "{name}={value!r} {error}",
}


class SettingsError(ValueError):
    """A setting from the environment is missing or malformed."""


def describe(error: ErrorDetails) -> str:
    """pydantic's error as one line that names the variable (a field's alias)."""
    context = error.get("ctx", {})
    if isinstance(context.get("error"), SettingsError):
        return str(context["error"])  # worded in full where it was raised
    name = str(error["loc"][-1])
    if name in SECRET_VARIABLES:
        return f"{name} {context.get('error', error['msg'])}"
    template = MESSAGES.get(error["type"], "{name}={value!r}: {msg}")
    value = str(error["input"]).strip()
    return template.format_map({**context, "name": name, "value": value, "msg": error["msg"]})


def dotenv_file(environ: Mapping[str, str]) -> Path | None:
    """The .env file in development and tests, never in production.

    APP_ENV decides from the real environment alone (production when unset), so no file can take
    a server out of production. A mapping other than os.environ (a test's) is the whole
    environment: no .env under it.
    """
    app_env = environ.get("APP_ENV", "production").strip().casefold()
    return DOTENV if environ is os.environ and app_env in ("development", "test") else None


class FromEnvironment(BaseSettings):
    """A group of settings, each field read from the variable its alias names."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load() hands over the environment itself as init values (os.environ, or a test's dict),
        # and the .env file, when there is one to read, fills in what the environment leaves out.
        return init_settings, dotenv_settings

    @classmethod
    def load(cls, environ: Mapping[str, str] = os.environ) -> Self:
        # Values as people type them, spaces around them ignored ("true ", " 8000").
        values: dict[str, Any] = {name: value.strip() for name, value in environ.items()}
        values["_env_file"] = dotenv_file(environ)  # pydantic-settings': .env for this call, if any
        try:
            return cls(**values)
        except ValidationError as error:
            raise SettingsError(describe(error.errors()[0])) from None

    @model_validator(mode="before")
    @classmethod
    def read_groups(cls, data: Any) -> Any:
        """A field that is a group of its own reads its variables from the same environment."""
        groups = {
            name: data
            for name, field in cls.model_fields.items()
            if isinstance(field.annotation, type) and issubclass(field.annotation, FromEnvironment)
        }
        return {**data, **groups} if groups and isinstance(data, dict) else data


def one_of(choices: Any) -> BeforeValidator:
    """A Literal's values in any case, as people type them: LOG_LEVEL=debug is DEBUG."""

    def pick(value: object) -> object:
        for choice in get_args(choices):
            if str(value).strip().casefold() == choice.casefold():
                return choice
        raise ValueError(f"is not one of: {', '.join(get_args(choices))}")

    return BeforeValidator(pick)


def finite_at_least(minimum: float) -> AfterValidator:
    def check(value: float) -> float:
        if not math.isfinite(value) or value < minimum:
            raise ValueError(f"must be a finite number of at least {minimum}")
        return value

    return AfterValidator(check)


Environment = Annotated[AppEnv, one_of(AppEnv)]


class HeaderLimits(FromEnvironment):
    """What one request may send before its body: gunicorn's settings and defaults, which the
    other servers apply too (serving/http_limits.py). Past them: 414 for the line, 431 for the
    headers. The ceilings are gunicorn's own for the first two; the third keeps a header sane."""

    # bytes of "GET /path?query HTTP/1.1" (uvicorn: of its "/path?query")
    request_line: int = Field(4094, alias="LIMIT_REQUEST_LINE", ge=256, le=8190)
    fields: int = Field(100, alias="LIMIT_REQUEST_FIELDS", ge=1, le=32768)  # header fields
    # bytes of one "Name: value" field
    field_size: int = Field(8190, alias="LIMIT_REQUEST_FIELD_SIZE", ge=256, le=65536)

    @property
    def header_section(self) -> int:
        """The most a request's line and headers can take, with their line ends."""
        return self.request_line + 2 + self.fields * (self.field_size + 2) + 2


def load_header_limits(environ: Mapping[str, str] = os.environ) -> HeaderLimits:
    return HeaderLimits.load(environ)


class TraceSettings(FromEnvironment):
    """OpenTelemetry's standard variables, as far as this service acts on them."""

    disabled: bool = Field(False, alias="OTEL_SDK_DISABLED")  # true: off, whatever else is set
    exporter: str = Field("", alias="OTEL_TRACES_EXPORTER")  # otlp, console, none
    endpoint: str = Field("", alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    traces_endpoint: str = Field("", alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    protocol: str = Field("", alias="OTEL_EXPORTER_OTLP_PROTOCOL")
    traces_protocol: str = Field("", alias="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")  # wins

    @property
    def exporters(self) -> tuple[str, ...]:
        """The exporters asked for; none (the default) is tracing off. Without
        OTEL_TRACES_EXPORTER, an OTLP endpoint means otlp."""
        if self.disabled:
            return ()
        if self.exporter:
            names = (name.strip() for name in self.exporter.split(","))
            return tuple(name for name in names if name not in ("", "none"))
        return ("otlp",) if self.endpoint or self.traces_endpoint else ()

    @model_validator(mode="after")
    def check_exporters(self) -> Self:
        unknown = [name for name in self.exporters if name not in KNOWN_TRACE_EXPORTERS]
        if unknown:
            choices = ", ".join((*KNOWN_TRACE_EXPORTERS, "none"))
            raise SettingsError(
                f"OTEL_TRACES_EXPORTER={self.exporter!r}: {unknown} not one of: {choices}"
            )
        protocol = self.traces_protocol or self.protocol
        if "otlp" in self.exporters and protocol not in ("", OTLP_PROTOCOL):
            name = f"OTEL_EXPORTER_OTLP_{'TRACES_' if self.traces_protocol else ''}PROTOCOL"
            raise SettingsError(
                f"{name}={protocol!r}: this service exports traces over {OTLP_PROTOCOL} "
                "(the grpc exporter is not installed)"
            )
        return self


def load_trace_exporters(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    return TraceSettings.load(environ).exporters


def check_secret_key(secret_key: str) -> None:
    """Refuse a secret that is missing, a known placeholder or too short to resist guessing."""
    if not secret_key:
        raise SettingsError(f"SECRET_KEY is required in production; {SECRET_HINT}")
    if secret_key.lower() in PLACEHOLDER_SECRETS:
        raise SettingsError(f"SECRET_KEY is a placeholder ({secret_key!r}); {SECRET_HINT}")
    if len(secret_key) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters long; {SECRET_HINT}"
        )


{% if cookiecutter.__framework == "flask" -%}
class WorkerThreads(FromEnvironment):
{%- if cookiecutter.interface == "wsgi" %}
    """{{ cookiecutter.__server | upper }}_THREADS: how many requests one {{ cookiecutter.__server }} worker serves at once."""

    count: int = Field(128, alias="{{ cookiecutter.__server | upper }}_THREADS", ge=1)
{%- else %}
    """ASGI_THREADS: how many requests one process serves at once (each holds a pool thread)."""

    count: int = Field(512, alias="ASGI_THREADS", ge=1)
{%- endif %}


def worker_threads(environ: Mapping[str, str] = os.environ) -> int:
    return WorkerThreads.load(environ).count


{% endif -%}
{% if cookiecutter.auth == "oidc" -%}
# The issuer of the tokens the local development key signs (middleware/auth/local_key.py): trusted
# in development and tests only, and only while OIDC_ISSUER is unset.
LOCAL_ISSUER = "urn:local-development-key"
LOCAL_AUDIENCE = "{{ cookiecutter.project_slug | replace('_', '-') }}"
ISSUER_EXAMPLE = "https://login.example.com/realms/acme"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def check_https(name: str, url: str) -> str:
    """A provider's URL: https, or http on this machine only (a test issuer, a local Keycloak).
    Keys fetched over plain HTTP from elsewhere could be swapped on the way."""
    parsed = urlsplit(url)
    local = parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS
    if not parsed.hostname or not (parsed.scheme == "https" or local):
        raise SettingsError(f"{name}={url!r} must be an https:// URL, e.g. {ISSUER_EXAMPLE}")
    return url


class AuthSettings(FromEnvironment):
    """Who may call the API: bearer tokens from OIDC_ISSUER for OIDC_AUDIENCE (middleware/auth/).
    Outside production, with no OIDC_ISSUER, tokens from the local development key instead."""

    app_env: Environment = Field("production", alias="APP_ENV")
    issuer: str = Field("", alias="OIDC_ISSUER")
    audience: str = Field("", alias="OIDC_AUDIENCE")
    # Clock skew allowed between the provider and this service, for exp and nbf.
    leeway: int = Field(30, alias="OIDC_LEEWAY_SECONDS", ge=0, le=300)
    # A token signed with a key not in the cache fetches the keys again, at most this often: a
    # stream of made-up key ids must not make the service hammer the provider.
    refetch_interval: int = Field(30, alias="OIDC_KEYS_REFETCH_SECONDS", ge=1, le=3600)
    # Keys older than this are fetched again on use (a removed key stops passing); while the
    # provider cannot be reached, the cached ones stay in use.
    max_age: int = Field(3600, alias="OIDC_KEYS_MAX_AGE_SECONDS", ge=60)
    fetch_timeout: Annotated[float, finite_at_least(0.1)] = Field(
        3.0, alias="OIDC_FETCH_TIMEOUT_SECONDS", le=30
    )
    # Development and tests only: the local key, made on first use (`make token`).
    local_key_file: Path = Field(Path("data/local-signing-key.pem"), alias="OIDC_LOCAL_KEY_FILE")

    @model_validator(mode="after")
    def required_in_production(self) -> Self:
        if self.app_env == "production":
            if not self.issuer:
                raise SettingsError(f"OIDC_ISSUER is required in production, e.g. {ISSUER_EXAMPLE}")
            if not self.audience:
                raise SettingsError(
                    "OIDC_AUDIENCE is required in production: the audience (aud) your "
                    "provider writes into this API's tokens"
                )
        if self.issuer == LOCAL_ISSUER and self.app_env == "production":
            raise SettingsError(
                f"OIDC_ISSUER={LOCAL_ISSUER!r} is the local development key, refused in production"
            )
        if self.issuer and self.issuer != LOCAL_ISSUER:
            check_https("OIDC_ISSUER", self.issuer)
            if not self.audience:  # the local audience is for the local key alone
                raise SettingsError("OIDC_AUDIENCE is required with OIDC_ISSUER")
        return self

    @property
    def uses_local_key(self) -> bool:
        return self.issuer in ("", LOCAL_ISSUER)

    @property
    def expected_issuer(self) -> str:
        return self.issuer or LOCAL_ISSUER

    @property
    def expected_audience(self) -> str:
        return self.audience or LOCAL_AUDIENCE


def load_auth_settings(environ: Mapping[str, str] = os.environ) -> AuthSettings:
    return AuthSettings.load(environ)


{% endif -%}
{% if cookiecutter.database != "none" -%}
{% if cookiecutter.database == "sqlite" -%}
# Zero setup: a file under ./data (created on first use), relative to where the server starts.
DEFAULT_DATABASE_URL = "sqlite:///data/{{ cookiecutter.project_slug }}.sqlite3"
DATABASE_URL_EXAMPLE = DEFAULT_DATABASE_URL
DATABASE_SCHEMES = {"sqlite", "sqlite+pysqlite"}
DATABASE_DRIVER = "sqlite"
{%- else -%}
# Development and tests only: production must name its database.
DEFAULT_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:5432/{{ cookiecutter.project_slug }}"
DATABASE_URL_EXAMPLE = "postgresql://user:password@db.example.com:5432/orders"
# Providers write postgres:// or postgresql://; both mean psycopg 3 here.
DATABASE_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
DATABASE_DRIVER = "postgresql+psycopg"
{%- endif %}
# A hard cap per process: WEB_CONCURRENCY x DATABASE_POOL_SIZE connections at most, which must
# stay under the database's own limit (PostgreSQL allows 100 by default).
MAX_DEFAULT_POOL_SIZE = 16


def parse_database_url(raw: str) -> str:
    """DATABASE_URL as hosting providers hand it out, as a SQLAlchemy URL with our driver.

    A ValueError says what is wrong, never with the password."""
    try:
        url = make_url(raw)
        url.port  # noqa: B018 - a port that is not a number only fails when read
    except (ArgumentError, ValueError):
        raise ValueError(f"is not a database URL; expected e.g. {DATABASE_URL_EXAMPLE}") from None
    if url.drivername not in DATABASE_SCHEMES:
        raise ValueError(
            f"uses the scheme {url.drivername!r}; this service is built for "
            f"{DATABASE_DRIVER.split('+')[0]}, e.g. {DATABASE_URL_EXAMPLE}"
        )
{%- if cookiecutter.database == "postgresql" %}
    if not url.host or not url.database:
        raise ValueError(f"needs a host and a database name, e.g. {DATABASE_URL_EXAMPLE}")
{%- else %}
    if not url.database or url.database == ":memory:":
        # Every worker process would get its own empty in-memory database.
        raise ValueError(f"must name a database file, e.g. {DATABASE_URL_EXAMPLE}")
{%- endif %}
    return url.set(drivername=DATABASE_DRIVER).render_as_string(hide_password=False)


class DatabaseSettings(FromEnvironment):
    """DATABASE_URL and the pool; loadable alone, so `migrate` needs no SECRET_KEY."""
{% if cookiecutter.database == "postgresql" %}
    app_env: Environment = Field("production", alias="APP_ENV")  # DATABASE_URL's default
{%- endif %}
{%- if cookiecutter.__framework == "flask" %}
    threads: WorkerThreads  # the pool's default size
{%- endif %}
    # A SQLAlchemy URL with the driver chosen, e.g. postgresql+psycopg://...
    url: str = Field("", alias="DATABASE_URL", validate_default=True, repr=False)
{%- if cookiecutter.__framework == "flask" %}
    configured_pool_size: int | None = Field(None, alias="DATABASE_POOL_SIZE", ge=1)
{%- else %}
    pool_size: int = Field(MAX_DEFAULT_POOL_SIZE, alias="DATABASE_POOL_SIZE", ge=1)
{%- endif %}
    # How long a request waits for a free connection before it gets a 503.
    pool_timeout: Annotated[float, finite_at_least(0.1)] = Field(5.0, alias="DATABASE_POOL_TIMEOUT")

    @field_validator("url")
    @classmethod
{%- if cookiecutter.database == "postgresql" %}
    def with_our_driver(cls, raw: str, info: ValidationInfo) -> str:
        if not raw and info.data.get("app_env") == "production":
            raise SettingsError(
                f"DATABASE_URL is required in production, e.g. {DATABASE_URL_EXAMPLE}"
            )
        return parse_database_url(raw or DEFAULT_DATABASE_URL)
{%- else %}
    def with_our_driver(cls, raw: str) -> str:
        return parse_database_url(raw or DEFAULT_DATABASE_URL)
{%- endif %}
{%- if cookiecutter.__framework == "flask" %}

    @property
    def pool_size(self) -> int:
        # A request holds a thread and at most one connection, so a pool as big as the thread
        # pool means no thread ever waits for a connection, up to the cap.
        return self.configured_pool_size or min(self.threads.count, MAX_DEFAULT_POOL_SIZE)
{%- endif %}


def load_database_settings(environ: Mapping[str, str] = os.environ) -> DatabaseSettings:
    return DatabaseSettings.load(environ)


{% endif -%}
class Settings(FromEnvironment):
    """Every variable the app reads. The server's launcher reads its own (env_int, below)."""

    app_env: Environment = Field("production", alias="APP_ENV")
    # Development and tests get a fresh random key: nothing to configure, nothing to leak.
    secret_key: str = Field("", alias="SECRET_KEY", validate_default=True, repr=False)
    log_level: Annotated[LogLevel, one_of(LogLevel)] = Field("INFO", alias="LOG_LEVEL")
    slow_max_seconds: Annotated[float, finite_at_least(0.0)] = Field(10.0, alias="SLOW_MAX_SECONDS")
    max_content_length: int = Field(1024 * 1024, alias="MAX_CONTENT_LENGTH", ge=1)
    metrics_enabled: bool = Field(True, alias="METRICS_ENABLED")
{%- if cookiecutter.__framework == "quart" %}
    ws_max_message_bytes: int = Field(64 * 1024, alias="WS_MAX_MESSAGE_BYTES", ge=1)
{%- endif %}
    limits: HeaderLimits
    tracing: TraceSettings
{%- if cookiecutter.database != "none" %}
    database: DatabaseSettings
{%- endif %}
{%- if cookiecutter.auth == "oidc" %}
    auth: AuthSettings
{%- endif %}

    @field_validator("secret_key")
    @classmethod
    def required_in_production(cls, secret_key: str, info: ValidationInfo) -> str:
        if info.data.get("app_env") == "production":
            check_secret_key(secret_key)
        return secret_key or secrets.token_hex(32)

    def as_app_config(self) -> dict[str, object]:
        return {
            "APP_ENV": self.app_env,
            "SECRET_KEY": self.secret_key,
            "LOG_LEVEL": self.log_level,
            "SLOW_MAX_SECONDS": self.slow_max_seconds,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "METRICS_ENABLED": self.metrics_enabled,
            "TRACE_EXPORTERS": self.tracing.exporters,
{%- if cookiecutter.__framework == "quart" %}
            "WS_MAX_MESSAGE_BYTES": self.ws_max_message_bytes,
{%- endif %}
{%- if cookiecutter.database != "none" %}
            "DATABASE_URL": self.database.url,
            "DATABASE_POOL_SIZE": self.database.pool_size,
            "DATABASE_POOL_TIMEOUT": self.database.pool_timeout,
{%- endif %}
{%- if cookiecutter.auth == "oidc" %}
            "AUTH": self.auth,
{%- endif %}
        }


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    return Settings.load(environ)


# The launcher's own variables (HOST, PORT, WEB_CONCURRENCY, the server's timeouts): read once, in
# the server's master, next to the setting each one feeds (gunicorn.conf.py or serving/*_server.py).
def env_str(environ: Mapping[str, str], name: str, default: str) -> str:
    return environ.get(name, default).strip()


def env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env_str(environ, name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value

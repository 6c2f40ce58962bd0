"""Settings from the environment, parsed and checked once at start-up.

A value that cannot be parsed stops the service with a message that names the variable, so a typo in
a deployment fails loudly at start instead of misbehaving later.
"""

import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
{%- if cookiecutter.database != "none" %}

from .database.url import DatabaseUrlError, parse_database_url
{%- endif %}

ENVIRONMENTS = ("production", "development", "test")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Values people copy from examples; a production service must not sign sessions with them.
PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "dev", "development", "replace-me"}
MIN_SECRET_LENGTH = 32
SECRET_HINT = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
# OTEL_TRACES_EXPORTER's values this service ships an exporter for.
KNOWN_TRACE_EXPORTERS = ("otlp", "console")
OTLP_PROTOCOL = "http/protobuf"
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")
# prometheus_client's multiprocess directory: the launcher prepares it (serving/), the metrics
# middleware reads it (middleware/); named here, below both.
METRICS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class SettingsError(ValueError):
    """A setting from the environment is missing or malformed."""


def env_str(environ: Mapping[str, str], name: str, default: str) -> str:
    return environ.get(name, default).strip()


def env_choice(
    environ: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]
) -> str:
    value = env_str(environ, name, default)
    # In any case, as people type them: LOG_LEVEL=debug is DEBUG, APP_ENV=Test is test.
    for choice in choices:
        if value.casefold() == choice.casefold():
            return choice
    raise SettingsError(f"{name}={value!r} is not one of: {', '.join(choices)}")


def env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env_str(environ, name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env_str(environ, name, str(default).lower())
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false")


def env_float(environ: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env_str(environ, name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < minimum:
        raise SettingsError(f"{name}={raw!r} must be a finite number of at least {minimum}")
    return value


{% if cookiecutter.__framework == "flask" -%}
def worker_threads(environ: Mapping[str, str]) -> int:
{%- if cookiecutter.interface == "wsgi" %}
    """GUNICORN_THREADS: how many requests one gunicorn worker serves at once."""
    return env_int(environ, "GUNICORN_THREADS", 128, minimum=1)
{%- else %}
    """ASGI_THREADS: how many requests one process serves at once (each holds a pool thread)."""
    return env_int(environ, "ASGI_THREADS", 512, minimum=1)
{%- endif %}


{% endif -%}
@dataclass(frozen=True)
class HeaderLimits:
    """What one request may send before its body: gunicorn's settings and defaults, which the
    uvicorn modes apply too (serving/http_limits.py). Past them: 414 for the line, 431 for the
    headers."""

    request_line: int  # bytes of "GET /path?query HTTP/1.1" (uvicorn: of its "/path?query")
    fields: int  # header fields per request
    field_size: int  # bytes of one "Name: value" field

    @property
    def header_section(self) -> int:
        """The most a request's line and headers can take, with their line ends."""
        return self.request_line + 2 + self.fields * (self.field_size + 2) + 2


def load_header_limits(environ: Mapping[str, str]) -> HeaderLimits:
    limits = HeaderLimits(
        request_line=env_int(environ, "LIMIT_REQUEST_LINE", 4094, minimum=256),
        fields=env_int(environ, "LIMIT_REQUEST_FIELDS", 100, minimum=1),
        field_size=env_int(environ, "LIMIT_REQUEST_FIELD_SIZE", 8190, minimum=256),
    )
    # gunicorn quietly caps the first two at these; the third keeps a header within reason.
    for name, value, ceiling in (
        ("LIMIT_REQUEST_LINE", limits.request_line, 8190),
        ("LIMIT_REQUEST_FIELDS", limits.fields, 32768),
        ("LIMIT_REQUEST_FIELD_SIZE", limits.field_size, 65536),
    ):
        if value > ceiling:
            raise SettingsError(f"{name}={value} is above the most allowed, {ceiling}")
    return limits


def load_trace_exporters(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The exporters OpenTelemetry's standard variables ask for; none (the default) is tracing off.

    OTEL_TRACES_EXPORTER names them (otlp, console, none); without it an OTLP endpoint means otlp.
    OTEL_SDK_DISABLED=true turns tracing off whatever else is set.
    """
    if env_bool(environ, "OTEL_SDK_DISABLED", False):
        return ()
    raw = env_str(environ, "OTEL_TRACES_EXPORTER", "")
    if raw:
        names = tuple(name.strip() for name in raw.split(",") if name.strip() not in ("", "none"))
        unknown = [name for name in names if name not in KNOWN_TRACE_EXPORTERS]
        if unknown:
            choices = ", ".join((*KNOWN_TRACE_EXPORTERS, "none"))
            raise SettingsError(f"OTEL_TRACES_EXPORTER={raw!r}: {unknown} not one of: {choices}")
    else:
        endpoints = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
        names = ("otlp",) if any(env_str(environ, name, "") for name in endpoints) else ()
    if "otlp" in names:
        for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            protocol = env_str(environ, name, "")
            if protocol and protocol != OTLP_PROTOCOL:
                raise SettingsError(
                    f"{name}={protocol!r}: this service exports traces over {OTLP_PROTOCOL} "
                    "(the grpc exporter is not installed)"
                )
            if protocol:
                break
    return names


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


{% if cookiecutter.database != "none" -%}
{% if cookiecutter.database == "sqlite" -%}
# Zero setup: a file under ./data (created on first use), relative to where the server starts.
DEFAULT_DATABASE_URL = "sqlite:///data/{{ cookiecutter.project_slug }}.sqlite3"
{%- else -%}
# Development and tests only: production must name its database.
DEFAULT_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:5432/{{ cookiecutter.project_slug }}"
{%- endif %}
# A hard cap per process: WEB_CONCURRENCY x DATABASE_POOL_SIZE connections at most, which must
# stay under the database's own limit (PostgreSQL allows 100 by default).
MAX_DEFAULT_POOL_SIZE = 16


@dataclass(frozen=True)
class DatabaseSettings:
    url: str  # a SQLAlchemy URL with the driver chosen, e.g. postgresql+psycopg://...
    pool_size: int
    pool_timeout: float


def load_database_settings(environ: Mapping[str, str] = os.environ) -> DatabaseSettings:
    """DATABASE_URL and the pool. Separate from load_settings so `migrate` needs no SECRET_KEY."""
    raw_url = env_str(environ, "DATABASE_URL", "")
{%- if cookiecutter.database == "postgresql" %}
    if not raw_url:
        if env_str(environ, "APP_ENV", "production") == "production":
            raise SettingsError(
                "DATABASE_URL is required in production, "
                "e.g. postgresql://user:password@db.example.com:5432/orders"
            )
        raw_url = DEFAULT_DATABASE_URL
{%- else %}
    raw_url = raw_url or DEFAULT_DATABASE_URL
{%- endif %}
    try:
        url = parse_database_url(raw_url)
    except DatabaseUrlError as error:
        raise SettingsError(f"DATABASE_URL {error}") from None
{%- if cookiecutter.__framework == "flask" %}
    # A request holds a thread and at most one connection, so a pool as big as the thread pool
    # means no thread ever waits for a connection, up to the cap.
    default_pool_size = min(worker_threads(environ), MAX_DEFAULT_POOL_SIZE)
{%- else %}
    default_pool_size = MAX_DEFAULT_POOL_SIZE
{%- endif %}
    return DatabaseSettings(
        url=url,
        pool_size=env_int(environ, "DATABASE_POOL_SIZE", default_pool_size, minimum=1),
        # How long a request waits for a free connection before it gets a 503.
        pool_timeout=env_float(environ, "DATABASE_POOL_TIMEOUT", 5.0, minimum=0.1),
    )


{% endif -%}
@dataclass(frozen=True)
class Settings:
    app_env: str
    secret_key: str
    log_level: str
    slow_max_seconds: float
    max_content_length: int
    metrics_enabled: bool
    trace_exporters: tuple[str, ...]
{%- if cookiecutter.__framework == "quart" %}
    ws_max_message_bytes: int
{%- endif %}
{%- if cookiecutter.database != "none" %}
    database: DatabaseSettings
{%- endif %}

    def as_app_config(self) -> dict[str, object]:
        return {
            "APP_ENV": self.app_env,
            "SECRET_KEY": self.secret_key,
            "LOG_LEVEL": self.log_level,
            "SLOW_MAX_SECONDS": self.slow_max_seconds,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "METRICS_ENABLED": self.metrics_enabled,
            "TRACE_EXPORTERS": self.trace_exporters,
{%- if cookiecutter.__framework == "quart" %}
            "WS_MAX_MESSAGE_BYTES": self.ws_max_message_bytes,
{%- endif %}
{%- if cookiecutter.database != "none" %}
            "DATABASE_URL": self.database.url,
            "DATABASE_POOL_SIZE": self.database.pool_size,
            "DATABASE_POOL_TIMEOUT": self.database.pool_timeout,
{%- endif %}
        }


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    app_env = env_choice(environ, "APP_ENV", "production", ENVIRONMENTS)
    secret_key = env_str(environ, "SECRET_KEY", "")
    if app_env == "production":
        check_secret_key(secret_key)
    elif not secret_key:
        # Development and tests get a fresh random key: nothing to configure, nothing to leak.
        secret_key = secrets.token_hex(32)
    return Settings(
        app_env=app_env,
        secret_key=secret_key,
        log_level=env_choice(environ, "LOG_LEVEL", "INFO", LOG_LEVELS),
        slow_max_seconds=env_float(environ, "SLOW_MAX_SECONDS", 10.0),
        max_content_length=env_int(environ, "MAX_CONTENT_LENGTH", 1024 * 1024, minimum=1),
        metrics_enabled=env_bool(environ, "METRICS_ENABLED", True),
        trace_exporters=load_trace_exporters(environ),
{%- if cookiecutter.__framework == "quart" %}
        ws_max_message_bytes=env_int(environ, "WS_MAX_MESSAGE_BYTES", 64 * 1024, minimum=1),
{%- endif %}
{%- if cookiecutter.database != "none" %}
        database=load_database_settings(environ),
{%- endif %}
    )

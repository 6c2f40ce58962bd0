"""{{ cookiecutter.description }}"""

from collections.abc import Mapping
from typing import Any

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}
{% if cookiecutter.database != "none" %}
from .database import session as database
{%- endif %}
from .middleware import access_log, errors, {% if cookiecutter.database != "none" %}openapi, {% endif %}request_id
{%- if cookiecutter.auth == "oidc" %}
from .middleware.auth import bearer
{%- endif %}
{%- if cookiecutter.__framework == "flask" %}
from .middleware.body_limit import ChunkedBodyLimit, DeclaredLength
{%- endif %}
from .middleware.logs import configure_logging
{%- if cookiecutter.database != "none" %}
from .middleware.readiness import add_readiness_check
{%- endif %}
from .middleware.strict_json import StrictJSONProvider, StrictRequest
from .settings import load_settings
from .views import demo, health{% if cookiecutter.database != "none" %}, items{% endif %}{% if cookiecutter.auth == "oidc" %}, me{% endif %}{% if cookiecutter.__framework == "quart" %}, realtime{% endif %}


def create_app(config: Mapping[str, Any] | None = None) -> {{ cookiecutter.__app_class }}:
    """Build the application: settings from the environment, then `config` on top (for tests)."""
    app = {{ cookiecutter.__app_class }}(__name__)
    # Request bodies: hostile JSON gets a 400 that says why (middleware/strict_json.py).
    app.request_class = StrictRequest
    app.json = StrictJSONProvider(app)
    app.config.from_mapping(load_settings().as_app_config())
    if config:
        app.config.from_mapping(config)
    configure_logging(app.config["LOG_LEVEL"])

    request_id.init_app(app)
    access_log.init_app(app)
    errors.init_app(app)
{%- if cookiecutter.auth == "oidc" %}
    bearer.init_app(app)
{%- endif %}
    app.register_blueprint(health.bp)
    app.register_blueprint(demo.bp)
{%- if cookiecutter.auth == "oidc" %}
    app.register_blueprint(me.bp)
{%- endif %}
{%- if cookiecutter.database != "none" %}
    database.init_app(app)
    add_readiness_check(app, "database", database.readiness_check(app))
    app.register_blueprint(items.bp)
    app.register_blueprint(openapi.bp)
{%- endif %}
    if app.config["METRICS_ENABLED"]:
        # Imported only when on, in the worker: prometheus_client chooses its multiprocess mode
        # on import, from PROMETHEUS_MULTIPROC_DIR, which the server's launcher sets.
        from .middleware import metrics

        metrics.init_app(app)
{%- if cookiecutter.__framework == "flask" %}
    # Flask's documented way to wrap it in WSGI middleware; mypy sees a method replaced.
    app.wsgi_app = DeclaredLength(  # type: ignore[method-assign]
        ChunkedBodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    )
{%- endif %}
{%- if cookiecutter.__framework == "quart" %}
    app.register_blueprint(realtime.bp)
{%- endif %}
    if app.config["TRACE_EXPORTERS"]:
        # Imported only when on (OTEL_* variables): off, OpenTelemetry is not even loaded.
        from .middleware import tracing

        tracing.init_app(app)
    return app

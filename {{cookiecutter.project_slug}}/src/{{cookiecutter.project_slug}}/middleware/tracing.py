"""Tracing with OpenTelemetry, on only when the standard OTEL_* variables ask for it (settings.py).

Off, this module is never imported and requests pay nothing. On, every request gets a span named by
its route, {% if cookiecutter.database != "none" %}every SQL statement a child span, {% endif %}and every log line made while serving it
carries its trace_id and span_id. The SDK reads its other variables itself: OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_ENDPOINT and _HEADERS, OTEL_BSP_*.
"""

import logging
import os

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}{% if cookiecutter.__framework == "quart" %}, request{% endif %}

try:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
{%- if cookiecutter.__framework == "quart" %}
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
{%- else %}
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
{%- endif %}
{%- if cookiecutter.database != "none" %}
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.instrumentation.utils import suppress_instrumentation
{%- endif %}
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
except ImportError as error:  # installed without the lock or the [tracing] extra
    raise ImportError(
        "tracing is on (OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_ENDPOINT is set) but "
        "OpenTelemetry is not installed: pip install --require-hashes -r requirements.txt"
    ) from error
{%- if cookiecutter.database != "none" %}

from .readiness import Check, readiness_checks
{%- endif %}

EXPORTER_CLASSES = {"otlp": OTLPSpanExporter, "console": ConsoleSpanExporter}
# Probes and scrapes every few seconds would bury the requests worth tracing; the standard
# OTEL_PYTHON_{{ "ASGI" if cookiecutter.__framework == "quart" else "FLASK" }}_EXCLUDED_URLS replaces this list (regular expressions, comma-separated).
UNTRACED_URLS = "/healthz$,/readyz$,/metrics$"


class TraceContextFilter(logging.Filter):
    """Stamp each log record made inside a span with its ids, as W3C trace context writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


def init_app(app: {{ cookiecutter.__app_class }}, exporters: list[SpanExporter] | None = None) -> None:
    """Trace `app`, exporting to OTEL_TRACES_EXPORTER's exporters or to `exporters` (tests)."""
    provider = TracerProvider(resource=service_resource())
    exporters = exporters or [EXPORTER_CLASSES[name]() for name in app.config["TRACE_EXPORTERS"]]
    for exporter in exporters:
        # Spans leave in batches, from a thread of their own, never on the request's time.
        provider.add_span_processor(BatchSpanProcessor(exporter))
    app.extensions["tracer_provider"] = provider
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        # The app's own code may add spans: trace.get_tracer(__name__).start_as_current_span(...)
        trace.set_tracer_provider(provider)
{%- if cookiecutter.__framework == "quart" %}
    # Quart's way to add ASGI middleware, but mypy sees a method, and OpenTelemetry types the
    # scope as a plain mapping where Quart has its TypedDicts.
    app.asgi_app = OpenTelemetryMiddleware(  # type: ignore[method-assign, assignment]
        app.asgi_app,
        excluded_urls=os.environ.get("OTEL_PYTHON_ASGI_EXCLUDED_URLS", UNTRACED_URLS),
        tracer_provider=provider,
        # A span per ASGI message would outnumber the requests' own.
        exclude_spans=["receive", "send"],
    )
    app.before_request(name_span_by_route)
{%- else %}
    FlaskInstrumentor().instrument_app(
        app,
        excluded_urls=os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS", UNTRACED_URLS),
        tracer_provider=provider,
    )
{%- endif %}
{%- if cookiecutter.database != "none" %}
{%- if cookiecutter.__framework == "quart" %}

    async def trace_database_once_open() -> None:
        trace_database(app)

    # The engine is made when the server starts (database.session), just before this runs.
    app.before_serving(trace_database_once_open)
{%- else %}
    trace_database(app)
{%- endif %}
    # Readiness probes connect every few seconds, outside any request: no spans for them.
    checks = readiness_checks(app)
    for name, check in checks.items():
        checks[name] = untraced(check)
{%- endif %}
    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceContextFilter())


def service_resource() -> Resource:
    """Named by OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES; by the package if by neither."""
    named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return Resource.create({} if named else {SERVICE_NAME: "{{ cookiecutter.project_slug }}"})
{%- if cookiecutter.__framework == "quart" %}


async def name_span_by_route() -> None:
    """The ASGI middleware names a span by its path (/items/42); name it by the route instead."""
    if request.url_rule is not None:
        span = trace.get_current_span()
        span.update_name(f"{request.method} {request.url_rule.rule}")
        span.set_attribute("http.route", request.url_rule.rule)
{%- endif %}
{%- if cookiecutter.database != "none" %}


def trace_database(app: {{ cookiecutter.__app_class }}) -> None:
    SQLAlchemyInstrumentor().instrument(
        engine=app.extensions["database"].engine{% if cookiecutter.__framework == "quart" %}.sync_engine{% endif %},
        tracer_provider=app.extensions["tracer_provider"],
        # Its declared range predates SQLAlchemy 2.1; the events it hooks are unchanged, and
        # tests/test_tracing.py checks that every query still becomes a span.
        skip_dep_check=True,
    )


def untraced(check: Check) -> Check:
    {{ cookiecutter.__async }}def run_untraced() -> object:
        with suppress_instrumentation():
            return {{ cookiecutter.__await }}check()

    return run_untraced
{%- endif %}

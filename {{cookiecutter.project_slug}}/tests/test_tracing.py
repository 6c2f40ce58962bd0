"""Tracing: off unless the standard OTEL_* variables ask for it. On, each request is a span named
by its route{% if cookiecutter.database != "none" %}, each query a span inside it{% endif %}, and its log lines carry the trace id."""

import json
import os
import subprocess
import sys

import pytest
{%- if cookiecutter.__framework == "flask" %}
from opentelemetry.instrumentation.flask import FlaskInstrumentor
{%- endif %}
{%- if cookiecutter.database != "none" %}
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
{%- endif %}
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
{%- if cookiecutter.database != "none" %}
from opentelemetry.trace import SpanKind
{%- endif %}

from {{ cookiecutter.project_slug }}.middleware import tracing
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_trace_exporters


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, ()),
        ({"OTEL_SERVICE_NAME": "orders"}, ()),  # naming the service does not switch it on
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ("otlp", "console")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ()),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, ()),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
            | {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
            ("otlp",),
        ),
    ],
)
def test_the_standard_variables_switch_tracing_on(environ, exporters):
    assert load_trace_exporters(environ) == exporters


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "PROTOCOL"),
        ({"OTEL_SDK_DISABLED": "maybe"}, "OTEL_SDK_DISABLED"),
    ],
)
def test_a_setting_it_cannot_honour_stops_the_start(environ, named):
    with pytest.raises(SettingsError, match=named):
        load_trace_exporters(environ)


def test_off_opentelemetry_is_not_even_imported(tmp_path):
    environ = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    environ["APP_ENV"] = "test"
{%- if cookiecutter.database == "sqlite" %}
    environ["DATABASE_URL"] = f"sqlite:///{tmp_path / 'off.sqlite3'}"
{%- endif %}
    code = (
        "import sys; from {{ cookiecutter.project_slug }} import create_app; create_app(); "
        "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=environ, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.fixture
def traced(app):
{%- if cookiecutter.__framework == "quart" and cookiecutter.database == "none" %}
    """The app traced into memory."""
    exporter = InMemorySpanExporter()
    tracing.init_app(app, exporters=[exporter])
    return app, exporter
{%- else %}
    """The app traced into memory; the instrumentation is undone after the test."""
    exporter = InMemorySpanExporter()
    tracing.init_app(app, exporters=[exporter])
    yield app, exporter
{%- endif %}
{%- if cookiecutter.__framework == "flask" %}
    FlaskInstrumentor.uninstrument_app(app)
{%- endif %}
{%- if cookiecutter.database != "none" %}
    SQLAlchemyInstrumentor().uninstrument()
{%- endif %}


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def finished_spans(app, exporter):
    app.extensions["tracer_provider"].force_flush()
    return exporter.get_finished_spans()


# `database` first: its tables are made before tracing starts, and dropped after it stops.
def test_a_request_is_a_span_named_by_its_route_and_its_log_lines_carry_it(
    {% if cookiecutter.database != "none" %}database, {% endif %}traced, client_for, capsys
):
    app, exporter = traced
    client = client_for(app)
{%- if cookiecutter.database != "none" %}
    item_id = client.post("/items", json={"name": "traced"}).json["id"]
    path, route = f"/items/{item_id}", "/items/<int:item_id>"
{%- else %}
    path, route = "/", "/"
{%- endif %}
    exporter.clear()
    capsys.readouterr()

    assert client.get(path).status_code == 200

    spans = finished_spans(app, exporter)
    requests = [span for span in spans if span.name == f"GET {route}"]
    assert len(requests) == 1, [span.name for span in spans]
    request_span = requests[0]
    assert request_span.attributes["http.route"] == route
    access = [line for line in json_lines(capsys.readouterr().out) if line["logger"] == "access"]
    assert access[-1]["trace_id"] == format(request_span.context.trace_id, "032x")
    assert access[-1]["span_id"] == format(request_span.context.span_id, "016x")
{%- if cookiecutter.database != "none" %}
    queries = [
        span
        for span in spans
        if span.kind == SpanKind.CLIENT and span.parent == request_span.context
    ]
    assert any(span.name.startswith("SELECT") for span in queries), [s.name for s in spans]
{%- endif %}


def test_probes_and_scrapes_make_no_spans({% if cookiecutter.database != "none" %}database, {% endif %}traced, client_for):
    app, exporter = traced
    client = client_for(app)
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path
    assert finished_spans(app, exporter) == ()

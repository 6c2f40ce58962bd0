"""/metrics: what it counts, how it labels, and how worker processes add up."""

import os
import re
import signal
import subprocess
import sys
{%- if cookiecutter.interface == "asgi" and cookiecutter.asgi_server != "granian" %}
from pathlib import Path
from typing import Any
{%- endif %}

import pytest

{% if cookiecutter.database != "none" -%}
from {{ cookiecutter.project_slug }}.database.session import get_session
{% endif -%}
from {{ cookiecutter.project_slug }}.middleware import metrics
{%- if cookiecutter.interface == "asgi" and cookiecutter.asgi_server != "granian" %}
from {{ cookiecutter.project_slug }}.serving import asgi_server
{%- endif %}
from {{ cookiecutter.project_slug }}.serving.metrics_directory import (
    ENVIRONMENT_VARIABLE,
    prepare_metrics_directory,
    remove_metrics_directory,
)
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_settings

SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


# (name, labels) -> value
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Samples of the text exposition format: {(name, labels): value}."""
    samples: Samples = {}
    for line in text.splitlines():
        if match := SAMPLE.match(line):
            name, labels, value = match.groups()
            samples[name, frozenset(LABEL.findall(labels or ""))] = float(value)
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(response.data.decode())


def test_requests_are_counted_by_route_template_never_by_path(app, client):
    @app.get("/things/<int:thing_id>")
    {{ cookiecutter.__async }}def thing(thing_id):
        return {"id": thing_id}

    labels = {"method": "GET", "route": "/things/<int:thing_id>", "status": "200"}
    before = sample(scrape(client), "http_requests_total", **labels)
    for thing_id in (5, 6, 7):
        assert client.get(f"/things/{thing_id}").status_code == 200
    samples = scrape(client)
    assert sample(samples, "http_requests_total", **labels) == before + 3
    assert not [key for key in samples if "/things/5" in str(key)]


def test_unmatched_paths_and_unknown_methods_share_fixed_labels(client):
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    other = {"method": "other", "route": "<unmatched>", "status": "405"}
    before = scrape(client)
    assert client.get("/no/such/page/42").status_code == 404
    assert client.open("/", method="BREW").status_code == 405
    samples = scrape(client)
    assert sample(samples, "http_requests_total", **unmatched) == (
        sample(before, "http_requests_total", **unmatched) + 1
    )
    assert sample(samples, "http_requests_total", **other) == (
        sample(before, "http_requests_total", **other) + 1
    )
    assert not [key for key in samples if "/no/such" in str(key) or "BREW" in str(key)]


def test_each_request_is_timed(client):
    labels = {"method": "GET", "route": "/"}
    before = scrape(client)
    client.get("/")
    samples = scrape(client)
    count = sample(samples, "http_request_duration_seconds_count", **labels)
    assert count == sample(before, "http_request_duration_seconds_count", **labels) + 1
    assert sample(samples, "http_request_duration_seconds_bucket", **labels, le="+Inf") == count
    assert sample(samples, "http_request_duration_seconds_sum", **labels) > 0


def test_requests_leave_the_in_flight_gauge_when_they_end_even_on_errors(app, client):
    @app.get("/boom")
    {{ cookiecutter.__async }}def boom():
        raise RuntimeError("kaput")

    # The scrape itself is in flight while it is answered.
    before = sample(scrape(client), "http_requests_in_flight")
    assert before >= 1
    assert client.get("/boom").status_code == 500
    assert client.get("/nowhere").status_code == 404
    client.get("/")
    assert sample(scrape(client), "http_requests_in_flight") == before
{%- if cookiecutter.database != "none" %}


@pytest.mark.usefixtures("database")
def test_the_pool_gauges_show_its_size_and_the_connections_lent(app, client):
    @app.get("/holds-a-connection")
    {{ cookiecutter.__async }}def holds_a_connection():
        {{ cookiecutter.__await }}get_session()
        return metrics.exposition(None)

    idle = scrape(client)
    assert sample(idle, "database_pool_size") == app.config["DATABASE_POOL_SIZE"]
    busy = parse(client.get("/holds-a-connection").data.decode())
    lent = sample(idle, "database_pool_checked_out")
    assert sample(busy, "database_pool_checked_out") == lent + 1
    assert sample(scrape(client), "database_pool_checked_out") == lent
{%- endif %}


@pytest.fixture
def app_without_metrics(monkeypatch, request):
    monkeypatch.setenv("METRICS_ENABLED", "false")
    return request.getfixturevalue("app")


def test_metrics_enabled_false_removes_the_endpoint_and_every_hook(app_without_metrics, client_for):
    app = app_without_metrics
    assert client_for(app).get("/metrics").status_code == 404
    hooks = [
        *app.before_request_funcs.get(None, []),
        *app.after_request_funcs.get(None, []),
        *app.teardown_request_funcs.get(None, []),
    ]
    assert [hook for hook in hooks if hook.__module__ == metrics.__name__] == []


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        *[("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True)],
        *[("false", False), ("False", False), ("0", False), ("no", False), ("off", False)],
    ],
)
def test_metrics_enabled_reads_the_usual_spellings(value, enabled):
    settings = load_settings({"APP_ENV": "development", "METRICS_ENABLED": value})
    assert settings.metrics_enabled is enabled


@pytest.mark.parametrize("value", ["maybe", "", "2", "enabled"])
def test_a_bad_metrics_enabled_value_names_the_variable(value):
    with pytest.raises(SettingsError, match=f"METRICS_ENABLED={value!r}"):
        load_settings({"APP_ENV": "development", "METRICS_ENABLED": value})


def test_the_launcher_makes_a_fresh_directory_exports_it_and_removes_it():
    environ: dict[str, str] = {}
    directory = prepare_metrics_directory(environ)
    assert directory.created
    assert list(directory.path.iterdir()) == []
    assert environ[ENVIRONMENT_VARIABLE] == str(directory.path)
    remove_metrics_directory(directory)
    assert not directory.path.exists()


def test_the_launcher_empties_the_operators_directory_and_keeps_it(tmp_path):
    (tmp_path / "counter_0.db").write_bytes(b"figures of an earlier run")
    (tmp_path / "notes.txt").write_text("not ours")
    directory = prepare_metrics_directory({ENVIRONMENT_VARIABLE: str(tmp_path)})
    assert not directory.created
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]
    remove_metrics_directory(directory)
    assert (tmp_path / "notes.txt").exists()


def test_a_metrics_directory_that_cannot_be_made_stops_the_launcher_naming_it(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SettingsError, match=ENVIRONMENT_VARIABLE):
        prepare_metrics_directory({ENVIRONMENT_VARIABLE: str(tmp_path / "a-file" / "metrics")})


# A worker process, as the server starts them: it counts requests, keeps one in flight, says which
# slot it took and lives until the test closes its stdin (or kills it).
WORKER = """
import sys
from {{ cookiecutter.project_slug }}.middleware import metrics

for _ in range(int(sys.argv[1])):
    metrics.REQUESTS.labels("GET", "/", "200").inc()
metrics.IN_FLIGHT.inc()
print(metrics.WORKER_SLOT.slot, flush=True)
sys.stdin.readline()
"""
COUNTED = {"method": "GET", "route": "/", "status": "200"}


@pytest.fixture
def start_worker(tmp_path):
    """Start a worker process on the metrics directory tmp_path; returns (process, slot)."""
    processes = []

    def start(requests: int) -> tuple[subprocess.Popen[str], int]:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(requests)],
            env={**os.environ, ENVIRONMENT_VARIABLE: str(tmp_path)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None  # stdout=PIPE
        return process, int(process.stdout.readline())

    yield start
    for process in processes:
        try:
            # End of input: the worker exits normally, so what it ran counts in the coverage.
            process.communicate(timeout=10)
        finally:
            process.kill()  # one that hangs; nothing once it has exited


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_scrape_adds_up_every_worker_process(start_worker, tmp_path):
    assert start_worker(3)[1] == 0
    assert start_worker(4)[1] == 1
    samples = parse(metrics.exposition(tmp_path).decode())
    assert sample(samples, "http_requests_total", **COUNTED) == 7
    assert sample(samples, "http_requests_in_flight") == 2


def test_a_killed_worker_keeps_its_counts_and_loses_its_gauges(start_worker, tmp_path):
    killed, _ = start_worker(3)
    start_worker(4)
    kill(killed)
    samples = parse(metrics.exposition(tmp_path).decode())
    assert sample(samples, "http_requests_total", **COUNTED) == 7
    assert sample(samples, "http_requests_in_flight") == 1


def test_a_replacement_takes_the_free_slot_and_counts_on(start_worker, tmp_path):
    killed, _ = start_worker(3)
    start_worker(4)
    kill(killed)
    assert start_worker(5)[1] == 0
    samples = parse(metrics.exposition(tmp_path).decode())
    assert sample(samples, "http_requests_total", **COUNTED) == 12
    assert sample(samples, "http_requests_in_flight") == 2
    # One set of files per slot, however many processes came and went.
    assert sorted(path.name for path in tmp_path.glob("*.db")) == [
        "counter_slot0.db",
        "counter_slot1.db",
        "gauge_livesum_slot0.db",
        "gauge_livesum_slot1.db",
    ]
{%- if cookiecutter.asgi_server == "hypercorn" and cookiecutter.interface == "asgi" %}


def test_the_asgi_server_prepares_the_directory_before_the_workers_and_removes_it(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "")  # none set: the server makes one (undone after)
    seen: dict[str, Any] = {}

    def supervise(config, workers):
        # The workers start here; they inherit the environment.
        seen["directory"] = Path(os.environ[ENVIRONMENT_VARIABLE])
        seen["ready"] = seen["directory"].is_dir() and not any(seen["directory"].iterdir())
        return 0

    monkeypatch.setattr(asgi_server, "supervise", supervise)
    with pytest.raises(SystemExit) as exited:
        asgi_server.main()
    assert exited.value.code == 0
    assert seen["ready"]
    assert not seen["directory"].exists()


def test_a_single_worker_keeps_its_metrics_in_memory(monkeypatch):
    # No worker to add up, and nothing to clean up after the server exits on SIGTERM.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "")
    monkeypatch.setattr(asgi_server, "supervise", lambda config, workers: 0)
    with pytest.raises(SystemExit):
        asgi_server.main()
    assert os.environ[ENVIRONMENT_VARIABLE] == ""
{%- elif cookiecutter.interface == "asgi" and cookiecutter.asgi_server == "uvicorn" %}


def test_the_asgi_server_prepares_the_directory_before_uvicorn_and_removes_it(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "")  # none set: the server makes one (undone after)
    seen: dict[str, Any] = {}

    def run(app, **options):
        # uvicorn starts the workers here; they inherit the environment.
        seen["directory"] = Path(os.environ[ENVIRONMENT_VARIABLE])
        seen["ready"] = seen["directory"].is_dir() and not any(seen["directory"].iterdir())

    monkeypatch.setattr("uvicorn.run", run)
    asgi_server.main()
    assert seen["ready"]
    assert not seen["directory"].exists()


def test_a_single_uvicorn_process_keeps_its_metrics_in_memory(monkeypatch):
    # No worker to add up, and nothing to clean up after uvicorn exits on SIGTERM.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "")
    monkeypatch.setattr("uvicorn.run", lambda app, **options: None)
    asgi_server.main()
    assert os.environ[ENVIRONMENT_VARIABLE] == ""
{%- endif %}

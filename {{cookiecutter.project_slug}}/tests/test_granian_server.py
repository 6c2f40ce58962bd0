"""granian_server.py: the settings it reads once, and the real server's drain and respawn."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import real_server
from {{ cookiecutter.project_slug }}.serving import granian_server
from {{ cookiecutter.project_slug }}.settings import load_header_limits, load_settings

wait_for, refused = real_server.wait_for, real_server.refused


@pytest.fixture(autouse=True)
def test_environment(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")


def options(environ: dict[str, str]) -> dict[str, object]:
    environ = {"APP_ENV": "test", **environ}
    return granian_server.granian_options(
        load_settings(environ), load_header_limits(environ), environ
    )


def test_the_settings_come_from_the_environment():
    found = options(
        {
            "HOST": "127.0.0.1",
            "PORT": "9001",
            "WEB_CONCURRENCY": "3",
{%- if cookiecutter.interface == "wsgi" %}
            "GRANIAN_THREADS": "16",
{%- endif %}
            "GRANIAN_GRACEFUL_TIMEOUT": "12",
            "GRANIAN_HEADER_READ_TIMEOUT": "7",
            "GRANIAN_BACKPRESSURE": "64",
        }
    )
    assert (found["address"], found["port"], found["workers"]) == ("127.0.0.1", 9001, 3)
{%- if cookiecutter.interface == "wsgi" %}
    assert (found["blocking_threads"], found["workers_kill_timeout"]) == (16, 12)
{%- else %}
    # Granian's ASGI runs the app on the worker's event loop: one blocking thread, the loop's.
    assert (found["blocking_threads"], found["workers_kill_timeout"]) == (1, 12)
    assert found["interface"] == "{{ 'asginl' if cookiecutter.__framework == 'flask' else 'asgi' }}"
    assert found["websockets"] is {{ "False" if cookiecutter.__framework == "flask" else "True" }}
{%- endif %}
    assert found["backpressure"] == 64
    assert found["http1_settings"].header_read_timeout == 7000  # type: ignore[attr-defined]
    assert found["respawn_failed_workers"] is True
    assert found["log_access"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "http"),
{%- if cookiecutter.interface == "wsgi" %}
        ("GRANIAN_THREADS", "0"),
{%- elif cookiecutter.__framework == "flask" %}
        ("ASGI_THREADS", "0"),
{%- endif %}
        ("GRANIAN_GRACEFUL_TIMEOUT", "soon"),
        ("GRANIAN_HEADER_READ_TIMEOUT", "0"),
        ("LIMIT_REQUEST_FIELDS", "101"),  # within the setting's range, past what Granian takes
    ],
)
def test_a_malformed_variable_stops_the_start_with_one_line_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=f"^ERROR: {name}="):
        granian_server.main()


def test_bad_app_settings_stop_the_start(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SystemExit, match="SECRET_KEY is required in production"):
        granian_server.main()


def test_sigterm_drains_every_worker_and_refuses_new_connections(tmp_path):
    server = real_server.start_server(tmp_path, WEB_CONCURRENCY="2")
    try:
        statuses = []
        requests = [
            threading.Thread(target=lambda: statuses.append(server.get("/slow?seconds=4")))
            for _ in range(8)  # over the two workers
        ]
        for request in requests:
            request.start()
        assert wait_for(lambda: server.in_flight() == 9), "the 8 (and the scrape) never ran"
        server.process.send_signal(signal.SIGTERM)
        assert wait_for(lambda: refused(server.port), timeout=5), "still accepting connections"
        for request in requests:
            request.join(10)
        assert statuses == [200] * 8
        assert server.process.wait(10) == 0
    finally:
        server.stop()


def spawned_workers(log: Path) -> int:
    return log.read_text().count('"Spawning worker-')


def test_a_killed_worker_is_replaced(tmp_path):
    server = real_server.start_server(tmp_path, WEB_CONCURRENCY="2")
    try:
        workers = wait_for(lambda: len(server.workers()) == 2 and server.workers())
        assert workers, "two workers did not start"
        os.kill(workers[0], signal.SIGKILL)
        replaced = wait_for(lambda: len(now := server.workers()) == 2 and workers[0] not in now)
        assert replaced, f"no replacement:\n{server.log.read_text()}"
        assert all(server.get("/healthz") == 200 for _ in range(10))
        lines = [json.loads(line) for line in server.log.read_text().splitlines()]  # all JSON
        assert any("Respawning" in line["message"] for line in lines)
    finally:
        assert server.stop() == 0


# The project's app, loaded slowly once the marker file exists: a respawned worker then spends
# seconds loading it, as a big app does.
SLOW_BOOT_APP = """
import os
import pathlib
import time

from {{ cookiecutter.project_slug }}.serving.{{ cookiecutter.interface }} import served  # noqa: F401

if pathlib.Path(os.environ["SLOW_BOOT_MARKER"]).exists():
    time.sleep(3)
"""


def test_a_stop_while_a_worker_boots_is_not_held_up_by_it(tmp_path):
    """Granian's own handlers reach a worker only once it has loaded the app: before that, a
    SIGTERM would be lost and the stop would wait GRANIAN_GRACEFUL_TIMEOUT (30 s) for it."""
    (tmp_path / "slow_boot_app.py").write_text(SLOW_BOOT_APP)
    marker = tmp_path / "boot-slowly"
    server = real_server.start_server(
        tmp_path,
        app="slow_boot_app:served",
        WEB_CONCURRENCY="2",
        PYTHONPATH=str(tmp_path),
        SLOW_BOOT_MARKER=str(marker),
    )
    try:
        workers = wait_for(lambda: len(server.workers()) == 2 and server.workers())
        assert workers, "two workers did not start"
        marker.touch()
        os.kill(workers[0], signal.SIGKILL)
        assert wait_for(lambda: spawned_workers(server.log) == 3, timeout=10), "no respawn"
        time.sleep(0.5)  # well inside the replacement's 3 s of loading
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        assert time.monotonic() - started < 3  # not held up by the booting worker
    finally:
        server.stop()


def process_state(pid: int) -> str | None:
    """The state letter of a process (R, S, Z...), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_workers_end_when_the_master_is_killed(tmp_path):
    """A master killed with SIGKILL must not leave its workers serving on the port."""
    # Its metrics directory in tmp_path: a killed master cannot remove the one it made in /tmp.
    metrics = str(tmp_path / "metrics")
    server = real_server.start_server(
        tmp_path, WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=metrics
    )
    workers = wait_for(lambda: len(server.workers()) == 2 and server.workers())
    assert workers, "two workers did not start"
    server.process.kill()
    server.process.wait(10)

    def alive() -> list[int]:
        # A dead worker stays a zombie until whoever adopted it reaps it (in a container, PID 1
        # may be slow to, or never do): a zombie serves nothing, so it counts as ended.
        return [pid for pid in workers if process_state(pid) not in (None, "Z")]

    try:
        assert wait_for(lambda: not alive(), 10), (
            f"the workers outlived the master: {[(pid, process_state(pid)) for pid in alive()]}"
        )
        assert refused(server.port)
    finally:
        for pid in alive():  # orphans of a failed run: stop them by PID
            os.kill(pid, signal.SIGKILL)

"""Each mode's baked project installs, and its own tests and lint pass (`make test lint`).

On SQLite, the default, each mode runs its project's whole suite: its server's tests are in it.
On PostgreSQL and with no database, the suite is about the framework and the data layer, which a
server does not change: one mode per framework runs it (FRAMEWORK_MODES), and every mode serves.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import FRAMEWORK_MODES, run
from servers import free_port, start_server

JSON = {"Content-Type": "application/json"}


def test_generated_project_tests_pass(installed_project):
    _, project, venv = installed_project
    run(["make", "test", f"VENV={venv}"], cwd=project)


@pytest.mark.parametrize("installed_postgres_project", FRAMEWORK_MODES, indirect=True)
def test_generated_project_tests_pass_on_postgresql(installed_postgres_project, postgres):
    mode, project, venv = installed_postgres_project
    url = postgres.create_database(f"{mode}_generated_tests")
    result = run(
        ["make", "test", f"VENV={venv}"],
        cwd=project,
        env={**os.environ, "TEST_DATABASE_URL": url},
    )
    # Every database test ran on PostgreSQL: none was skipped for want of a database.
    assert " skipped" not in result.stdout.splitlines()[-1], result.stdout[-2000:]


@pytest.mark.parametrize("installed_plain_project", FRAMEWORK_MODES, indirect=True)
def test_generated_project_without_a_database_passes_its_tests_and_lint(installed_plain_project):
    _, project, venv = installed_plain_project
    run(["make", "test", "lint", f"VENV={venv}"], cwd=project)


def test_generated_project_without_a_database_serves(installed_plain_project, tmp_path):
    mode, project, venv = installed_plain_project
    server = start_server(project, venv, tmp_path / "server.log")
    try:
        assert server.get_json("/")[2]["message"] == f"Hello from Shop {mode} plain!"
        assert server.request("GET", "/readyz")[0] == 200
        assert server.request("GET", "/items")[0] == 404
    finally:
        assert server.stop() == 0


def test_generated_project_lint_passes(installed_project):
    _, project, venv = installed_project
    run(["make", "lint", f"VENV={venv}"], cwd=project)


def http(port, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=JSON
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.mark.parametrize("installed_project", FRAMEWORK_MODES, indirect=True)
def test_make_dev_serves_the_app_with_the_debug_server(installed_project):
    """`make dev` migrates the SQLite file, then serves: under `flask run` every async view call
    gets a new event loop, and the items views must work there too."""
    _, project, venv = installed_project
    port = free_port()
    # In a session of its own, so that nothing of it can outlive the test (see finally).
    server = subprocess.Popen(
        ["make", "dev", f"VENV={venv}", f"DEV_PORT={port}"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while status != 200 and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.2)
        assert status == 200, f"make dev did not answer on port {port} (exit {server.poll()})"
        created_status, item = http(
            port, "POST", "/items", json.dumps({"name": f"dev {port}"}).encode()
        )
        assert created_status == 201
        assert http(port, "GET", f"/items/{item['id']}") == (200, item)
        assert http(port, "GET", "/slow-query?seconds=0.01")[0] == 200
        # A SIGTERM to make alone, as a process manager or an IDE sends it, stops the server:
        # make passes it on, and the recipe execs the server rather than waiting in a shell.
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        deadline = time.monotonic() + 10
        while still_listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not still_listening(port), "make dev left its server running after SIGTERM"
    finally:
        # The reloader forks a child: stop whatever is left of the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(15)


def still_listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True

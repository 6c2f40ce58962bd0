"""Each mode's baked project installs, and its own tests and lint pass (`make test lint`)."""

import os
import signal
import subprocess
import time
import urllib.request

from conftest import run
from servers import free_port


def test_generated_project_tests_pass(installed_project):
    _, project, venv = installed_project
    run(["make", "test", f"VENV={venv}"], cwd=project)


def test_generated_project_lint_passes(installed_project):
    _, project, venv = installed_project
    run(["make", "lint", f"VENV={venv}"], cwd=project)


def test_make_dev_serves_the_app_with_the_debug_server(installed_project):
    _, project, venv = installed_project
    port = free_port()
    # The reloader forks a child: run in a session of its own and stop that whole group.
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
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)

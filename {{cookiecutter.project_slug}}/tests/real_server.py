"""The real server, as `make serve` starts it ({% if cookiecutter.__server == "granian" %}Granian under granian_server.py{% else %}Hypercorn under hypercorn_workers.py{% endif %}), on a free
port of 127.0.0.1, for the tests that need the server itself."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def get(self, path: str, timeout: float = 10) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def in_flight(self) -> float:
        """Requests in flight across every worker, this scrape of /metrics among them."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        found = re.search(r"^http_requests_in_flight (\S+)$", text, re.MULTILINE)
        return float(found[1]) if found else 0.0

    def workers(self) -> list[int]:
        """The worker processes: the parent's children, but multiprocessing's resource tracker."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:  # not a process, or gone
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"resource_tracker" not in command:
                found.append(int(entry.name))
        return found

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def wait_for(condition: Callable[[], T], timeout: float = 20) -> T:
    """Poll `condition` until it is truthy or `timeout` passes; its last value."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def refused(port: int) -> bool:
    """Whether a connection to `port` is refused (the server no longer listens)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


LAUNCHER = "{{ cookiecutter.project_slug }}.serving.{{ "granian_server" if cookiecutter.__server == "granian" else "asgi_server" }}"


def start_server(tmp_path: Path, app: str | None = None, **environ: str) -> Server:
    """`make serve`'s launcher, serving the project's app or `app` (an import string)."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "APP_ENV": "test",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "MAX_CONTENT_LENGTH": "1024",
        "LOG_LEVEL": "INFO",
{%- if cookiecutter.database == "sqlite" %}
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
{%- endif %}
        **environ,
    }
    serve = ["-m", LAUNCHER]
    if app is not None:
        serve = ["-c", f"from {LAUNCHER} import main; main({app!r})"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, *serve],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if server.get("/healthz", timeout=2) == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    pytest.fail(f"the server did not answer /healthz within 30 s:\n{log.read_text()}")

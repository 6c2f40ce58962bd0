"""Start a baked project's production server on 127.0.0.1 and talk HTTP to it."""

import contextlib
import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SECRET = "template-tests-" + "s" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(project: Path, venv: Path) -> list[str]:
    """The exact command `make serve` runs, so the test can own the server's PID."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "serve", f"VENV={venv}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return shlex.split(dry_run.stdout.strip())


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    started_in: float

    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            response = send_then_read(conn, method, path, body=body, headers=headers or {})
            # HTTPMessage: header lookups are case-insensitive, as in HTTP.
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def get_json(self, path, **kwargs):
        status, headers, body = self.request("GET", path, **kwargs)
        return status, headers, json.loads(body)

    def wait_until_in_flight(self, count: int, timeout: float = 10) -> float:
        """Scrape /metrics until `count` requests are in flight, the scrape among them; return
        the last figure seen (across every worker), which is `count` unless time ran out."""
        deadline = time.monotonic() + timeout
        while True:
            _, _, body = self.request("GET", "/metrics")
            found = re.search(rb"^http_requests_in_flight (\S+)$", body, re.MULTILINE)
            in_flight = float(found[1]) if found else 0.0
            if in_flight == count or time.monotonic() > deadline:
                return in_flight
            time.sleep(0.1)

    def log_lines(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if line.strip()]

    def stop(self, timeout=30) -> int:
        """SIGTERM by PID, then wait; returns the exit status (kills only on timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def send_then_read(conn: http.client.HTTPConnection, method, path, **request_kwargs):
    """conn.request, then its response, also when the server answered early and closed."""
    # A server may answer from the headers or the first megabyte alone (413) and close while
    # the body is still on its way; its answer is already ours to read, and urllib3 reads it too.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request(method, path, **request_kwargs)
    return conn.getresponse()


def start_server(project: Path, venv: Path, log_path: Path, **env_overrides) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **env_overrides,
    }
    log = log_path.open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        serve_command(project, venv), cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = started + 20
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log_path.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return Server(process, port, log_path, time.perf_counter() - started)
        except (OSError, http.client.HTTPException):  # not listening yet, or a worker booting
            time.sleep(0.05)
        finally:
            conn.close()
    process.kill()
    process.wait()
    raise RuntimeError(f"server did not answer within 20 s:\n{log_path.read_text()}")


def schemathesis(server: Server, directory: Path, max_examples: int, *extra: str):
    """schemathesis against the server's /openapi.json, every check on; its example database and
    cache stay in `directory`, out of the checkout."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"http://127.0.0.1:{server.port}/openapi.json",
            "--checks",
            "all",
            # A cursor is opaque: a string that matches the schema is still not one we handed out.
            # (And without a token, valid data is refused on purpose.)
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            str(max_examples),
            "--workers",
            "1",
            "--seed",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=directory,
    )


def schemathesis_summary(result) -> str:
    """Its "N generated, N passed" lines, as one."""
    return " ".join(line.strip() for line in result.stdout.splitlines() if "generated" in line)

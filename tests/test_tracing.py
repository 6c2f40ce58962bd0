"""Tracing on each mode's real server, two workers: with the standard OTEL_* variables set, spans
reach an OTLP/HTTP collector (a small one here, on 127.0.0.1), and each access-log line names the
trace that the collector received. The generated project's own tests cover the spans' details."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import migrate
from servers import start_server


class Collector(ThreadingHTTPServer):
    """Accepts OTLP/HTTP trace exports and keeps their bodies (protobuf, kept undecoded: a trace id
    travels in it as its 16 raw bytes)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ExportHandler)
        self.exports: list[tuple[str, str, bytes]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self, needle: bytes, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in body for _, _, body in list(self.exports)):
                return True
            time.sleep(0.1)
        return False

    def close(self):
        self.shutdown()
        self.server_close()


class ExportHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.exports.append((self.path, self.headers["Content-Type"], body))
        # An empty ExportTraceServiceResponse: zero bytes of protobuf.
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    collector = Collector()
    yield collector
    collector.close()


@pytest.fixture
def traced_server(installed_project, collector, tmp_path):
    _, project, venv = installed_project
    url = f"sqlite:///{tmp_path / 'items.sqlite3'}"
    migrate(project, venv, url)
    server = start_server(
        project,
        venv,
        tmp_path / "server.log",
        WEB_CONCURRENCY="2",
        DATABASE_URL=url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_SERVICE_NAME="shop-traced",
        OTEL_BSP_SCHEDULE_DELAY="100",  # ms: export at once rather than every 5 s
    )
    yield server
    server.stop()


def test_spans_reach_the_collector_and_log_lines_name_their_trace(traced_server, collector):
    server = traced_server
    headers = {"Content-Type": "application/json"}
    status, _, body = server.request("POST", "/items", json.dumps({"name": "traced"}), headers)
    assert status == 201, body
    item_id = json.loads(body)["id"]
    for _ in range(6):  # over several connections, so both workers are likely to serve some
        assert server.request("GET", f"/items/{item_id}")[0] == 200
    assert server.request("GET", "/healthz")[0] == 200

    access = [
        json.loads(line)
        for line in server.log_lines()
        if line.startswith("{") and json.loads(line)["logger"] == "access"
    ]
    items = [entry for entry in access if entry["path"].startswith("/items")]
    assert len(items) == 7
    for entry in items:
        assert len(entry["trace_id"]) == 32 and len(entry["span_id"]) == 16, entry
        assert collector.received(bytes.fromhex(entry["trace_id"])), f"not exported: {entry}"
    assert len({entry["trace_id"] for entry in items}) == 7, "each request is its own trace"
    # Probes are not traced.
    assert all("trace_id" not in entry for entry in access if entry["path"] == "/healthz")

    exported = b"".join(body for _, _, body in collector.exports)
    assert {path for path, _, _ in collector.exports} == {"/v1/traces"}
    assert {kind for _, kind, _ in collector.exports} == {"application/x-protobuf"}
    assert b"shop-traced" in exported  # OTEL_SERVICE_NAME
    assert b"GET /items/<int:item_id>" in exported  # spans named by route, not by raw path
    assert b"SELECT" in exported  # the queries are spans too
    assert not [line for line in server.log_lines() if "Traceback" in line]

"""The real production server of each mode, over real HTTP (and WebSocket) on 127.0.0.1."""

import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import pytest

from conftest import MODES, framework, report, server_of
from servers import send_then_read, start_server

# How many slow requests must overlap: the figures the servers issue promises per mode.
OVERLAP = {
    "wsgi": 32,
    # Granian holds waiting requests on its event loop, not on gunicorn's accept loop.
    "wsgi_granian": 128,
    "asgi": 128,
    "quart": 128,
    "asgi_hypercorn": 128,
    "quart_hypercorn": 128,
    "asgi_granian": 128,
    "quart_granian": 128,
}
# Every server's graceful-timeout variable; each reads its own.
GRACEFUL_TIMEOUTS = (
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GRANIAN_GRACEFUL_TIMEOUT",
    "UVICORN_GRACEFUL_TIMEOUT",
    "HYPERCORN_GRACEFUL_TIMEOUT",
)


@pytest.fixture(scope="session")
def server(installed_project, tmp_path_factory):
    mode, project, venv = installed_project
    log_path = tmp_path_factory.mktemp(f"server-{mode}") / "server.log"
    server = start_server(project, venv, log_path)
    report(f"[{mode}] server: cold start to first 200 in {server.started_in:.2f} s")
    yield mode, server
    server.stop()


def concurrent_get(port, path, count, timeout=30):
    """Send `count` GETs at once, each on its own connection; return (statuses, wall seconds)."""
    statuses = [None] * count
    barrier = threading.Barrier(count + 1, timeout=timeout)

    def one(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            try:
                conn.connect()
            except OSError:
                barrier.abort()  # the others would wait for this connection forever
                raise
            barrier.wait()
            conn.request("GET", path)
            statuses[index] = conn.getresponse().status
        except Exception as error:
            statuses[index] = repr(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # each thread says what failed
        barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return statuses, time.perf_counter() - started


def test_all_endpoints_answer(server):
    mode, server = server
    interface = MODES[mode]["interface"]
    assert server.get_json("/")[2] == {
        "message": "Hello from Shop " + mode + "!",
        "interface": interface,
    }
    assert server.get_json("/slow?seconds=0.1")[2] == {"slept": 0.1, "interface": interface}
    assert server.get_json("/healthz")[:3:2] == (200, {"status": "ok"})
    assert server.get_json("/readyz")[0] == 200
    status, _, body = server.request(
        "POST", "/echo", body=json.dumps({"id": 7}), headers={"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (200, {"id": 7})


def test_request_id_is_kept_or_made(server):
    _, server = server
    assert (
        server.request("GET", "/", headers={"X-Request-ID": "abc-1"})[1]["X-Request-ID"] == "abc-1"
    )
    assert (
        len(server.request("GET", "/", headers={"X-Request-ID": "bad id"})[1]["X-Request-ID"]) == 32
    )


def test_one_keep_alive_connection_serves_50_requests(server):
    _, server = server
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.connect()
        first_socket = conn.sock
        statuses = []
        for index in range(50):
            conn.request("GET", "/" if index % 2 else "/slow?seconds=0")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        assert statuses == [200] * 50
        assert conn.sock is first_socket  # never reconnected
    finally:
        conn.close()


def test_slow_requests_overlap(server):
    mode, server = server
    count = OVERLAP[mode]
    statuses, elapsed = concurrent_get(server.port, "/slow?seconds=2", count)
    report(f"[{mode}] server: {count} concurrent 2 s requests took {elapsed:.2f} s")
    assert statuses == [200] * count
    assert elapsed < 3.5  # one batch: two would take 4 s or more


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("POST", "/echo", b"{not json", {"Content-Type": "application/json"}, 400),
        ("POST", "/echo", b"[1]", {"Content-Type": "application/json"}, 400),
        ("POST", "/echo", b"x" * (1024 * 1024 + 1), {"Content-Type": "application/json"}, 413),
        ("GET", "/slow?seconds=-1", None, {}, 400),
        ("GET", "/slow?seconds=abc", None, {}, 400),
        ("GET", "/slow?seconds=1e9", None, {}, 400),
        ("GET", "/nowhere", None, {}, 404),
        ("DELETE", "/", None, {}, 405),
    ],
    ids=["malformed-json", "not-an-object", "oversized", "negative", "abc", "huge", "404", "405"],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(
    server, method, path, body, headers, status
):
    _, server = server
    got, response_headers, response_body = server.request(method, path, body=body, headers=headers)
    assert got == status
    assert json.loads(response_body)["error"]["code"] == status
    assert response_headers["X-Request-ID"]
    assert server.request("GET", "/healthz")[0] == 200


def test_garbage_request_line_is_refused_and_the_server_keeps_serving(server):
    _, server = server
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = sock.recv(1024)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
    assert server.request("GET", "/healthz")[0] == 200


def test_logs_are_json_lines(server):
    _, server = server
    server.request("GET", "/", headers={"X-Request-ID": "log-check"})
    time.sleep(0.2)
    entries = [json.loads(line) for line in server.log_lines()]  # fails on any non-JSON line
    access = [e for e in entries if e.get("request_id") == "log-check"]
    assert access, f"no access log line for the request in {entries[-5:]}"
    assert {"time", "level", "message", "method", "path", "status", "duration_ms"} <= set(access[0])


def test_sigterm_lets_in_flight_requests_finish(installed_project, tmp_path):
    mode, project, venv = installed_project
    graceful = 10
    server = start_server(
        project,
        venv,
        tmp_path / "server.log",
        **dict.fromkeys(GRACEFUL_TIMEOUTS, str(graceful)),
    )
    results = {}

    def sixteen_slow_requests():
        results["statuses"], _ = concurrent_get(server.port, "/slow?seconds=4", 16)

    worker = threading.Thread(target=sixteen_slow_requests)
    worker.start()
    try:
        in_flight = server.wait_until_in_flight(17)  # the 16, and the scrape that counts them
    finally:
        stopped_at = time.perf_counter()
        exit_code = server.stop(timeout=graceful + 5)
        exit_seconds = time.perf_counter() - stopped_at
        worker.join()
    assert in_flight == 17
    report(
        f"[{mode}] server: SIGTERM with 16 in flight, exit {exit_code} after {exit_seconds:.2f} s"
    )
    assert results["statuses"] == [200] * 16
    assert exit_code == 0
    assert exit_seconds < graceful


def test_huge_declared_body_is_answered_before_it_is_sent(server):
    _, server = server
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n"
        )
        reply = b""
        while b"}}" not in reply:  # no body sent: the answer must not wait for 50 MB
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413")
    assert b'"code":413' in reply.replace(b" ", b"")


# Runs in a process of its own, with the `websockets` client from requirements-test.txt.
WEBSOCKET_CLIENT = """
import json, sys
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

url = sys.argv[1]
found = {}
with connect(url, open_timeout=5) as ws:
    found["echo"] = []
    for text in ("hello", "wörld"):
        ws.send(text)
        found["echo"].append(ws.recv(timeout=5))
for name, message in (("binary", b"\\x00\\x01"), ("too_long", "x" * 70_000)):
    with connect(url, open_timeout=5) as ws:
        ws.send(message)
        try:
            ws.recv(timeout=5)
        except ConnectionClosed as closed:
            found[name] = [closed.rcvd.code, closed.rcvd.reason]
print(json.dumps(found))
"""


def test_websocket_echo_and_clean_closes_over_a_real_socket(server, installed_project):
    mode, server = server
    if framework(mode) != "quart":
        pytest.skip("the WebSocket sample is part of the Quart mode")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            WEBSOCKET_CLIENT,
            f"ws://127.0.0.1:{server.port}/ws/echo",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["echo"] == ["hello", "wörld"]
    assert found["binary"] == [1003, "text messages only"]
    assert found["too_long"] == [1009, "messages are limited to 65536 bytes"]
    assert server.request("GET", "/healthz")[0] == 200


def test_open_websockets_close_with_1012_when_the_server_stops(installed_project, tmp_path):
    """A client that holds a WebSocket hears at once that it should reconnect, and the server
    does not wait its graceful timeout for it."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    mode, project, venv = installed_project
    if framework(mode) != "quart":
        pytest.skip("the WebSocket sample is part of the Quart mode")
    graceful = 20
    running = start_server(
        project, venv, tmp_path / "server.log", **dict.fromkeys(GRACEFUL_TIMEOUTS, str(graceful))
    )
    try:
        with connect(f"ws://127.0.0.1:{running.port}/ws/echo", open_timeout=5) as websocket:
            websocket.send("hello")
            assert websocket.recv(timeout=5) == "hello"
            stopped_at = time.perf_counter()
            running.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                websocket.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert running.process.wait(timeout=graceful) == 0
        exit_seconds = time.perf_counter() - stopped_at
    finally:
        running.stop()  # already stopped, unless an assertion failed first
    report(f"[{mode}] server: SIGTERM with a WebSocket open, 1012, exit after {exit_seconds:.2f} s")
    assert exit_seconds < graceful / 2
    assert "Traceback" not in running.log_path.read_text()


def http2_get(port: int, paths: list[str]) -> list[tuple[int, bytes]]:
    """GETs over one HTTP/2 connection with prior knowledge (h2c), all at once, one stream each:
    the status and body of each, in order."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    streams = {}
    for index, path in enumerate(paths):
        stream_id = 2 * index + 1
        headers = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "a")]
        connection.send_headers(stream_id, headers, end_stream=True)
        streams[stream_id] = [None, b""]
    ended = set()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(connection.data_to_send())
        while len(ended) < len(streams):
            data = sock.recv(65536)
            assert data, "closed before every response ended"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    streams[event.stream_id][0] = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    streams[event.stream_id][1] += event.data
                    connection.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            sock.sendall(connection.data_to_send())
    return [tuple(streams[stream_id]) for stream_id in sorted(streams)]


def test_http2_over_cleartext_is_served_on_the_same_port(server):
    mode, running = server
    if server_of(mode) != "hypercorn":
        # Granian serves HTTP/1.1 only here: ready for HTTP/2, it has no time limit on a
        # connection's first bytes (serving/granian_server.py).
        pytest.skip("HTTP/2 is Hypercorn's; the other servers speak HTTP/1.1 here")
    [(status, body)] = http2_get(running.port, ["/"])
    assert status == 200
    assert json.loads(body)["interface"] == MODES[mode]["interface"]
    # Streams of one connection are served at once: 20 one-second requests in well under 20 s.
    started = time.perf_counter()
    answers = http2_get(running.port, ["/slow?seconds=1"] * 20)
    elapsed = time.perf_counter() - started
    report(f"[{mode}] server: 20 one-second requests on one HTTP/2 connection took {elapsed:.2f} s")
    assert [status for status, _ in answers] == [200] * 20
    assert elapsed < 5


def chunked_post(port, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        response = send_then_read(
            conn,
            "POST",
            "/echo",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        return response.status, response.read()
    finally:
        conn.close()


def test_chunked_upload_within_the_limit_arrives_whole(server):
    _, server = server
    status, body = chunked_post(server.port, b'{"note": "' + b"x" * 200_000 + b'"}')
    assert status == 200
    assert len(json.loads(body)["note"]) == 200_000


def test_chunked_upload_past_the_limit_is_a_413_not_a_truncation(server):
    _, server = server
    status, body = chunked_post(server.port, b'{"a": 1}' + b" " * (2 * 1024 * 1024))
    assert status == 413
    assert json.loads(body)["error"]["code"] == 413

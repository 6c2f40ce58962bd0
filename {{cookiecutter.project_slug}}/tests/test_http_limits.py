{%- if cookiecutter.__server == "granian" -%}
"""gunicorn's limits on the request line and headers, applied in front of the app under Granian
(http_limits.py): the real server on 127.0.0.1, over a socket."""

import contextlib
{%- if cookiecutter.interface == "wsgi" %}
import os
{%- endif %}
import socket
import time
from collections.abc import Sequence

import pytest
{%- if cookiecutter.interface == "wsgi" %}
from werkzeug.test import Client, EnvironBuilder
{%- endif %}

import real_server
{%- if cookiecutter.interface == "wsgi" %}
from {{ cookiecutter.project_slug }}.serving.granian_server import request_environ_only
from {{ cookiecutter.project_slug }}.serving.http_limits import LimitRequestHead
{%- endif %}
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_header_limits

LIMITS = load_header_limits({})
HEADER_READ_TIMEOUT = 2


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    server = real_server.start_server(
        tmp_path_factory.mktemp("limits"), GRANIAN_HEADER_READ_TIMEOUT=str(HEADER_READ_TIMEOUT)
    )
    yield server.port
    assert server.stop() == 0
{%- elif cookiecutter.asgi_server == "hypercorn" -%}
"""gunicorn's limits on the request line and headers, applied in front of the app under Hypercorn
(http_limits.py): the real server on 127.0.0.1, over HTTP/1.1 and HTTP/2, over a socket."""

import contextlib
import socket
from collections.abc import Sequence

import h2.config
import h2.connection
import h2.events
import pytest

import real_server
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_header_limits

LIMITS = load_header_limits({})


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    server = real_server.start_server(tmp_path_factory.mktemp("limits"))
    yield server.port
    assert server.stop() == 0
{%- else -%}
"""gunicorn's limits on the request line and headers, applied by uvicorn's protocol here
(http_limits.py): a real server on 127.0.0.1, spoken to over a socket."""

import contextlib
import socket
import threading
import time
from collections.abc import Sequence

import pytest
import uvicorn

from {{ cookiecutter.project_slug }}.serving import http_limits
{% if cookiecutter.__framework == "flask" %}from {{ cookiecutter.project_slug }}.serving.asgi_adapter import ThreadPoolWsgiToAsgi
{% endif %}from {{ cookiecutter.project_slug }}.serving.http_limits import LIMITS, LimitedHttpToolsProtocol
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_header_limits


@pytest.fixture
def port(app):
    config = uvicorn.Config(
        {% if cookiecutter.__framework == "flask" %}ThreadPoolWsgiToAsgi(app, max_threads=4){% else %}app{% endif %},
        host="127.0.0.1",
        port=0,
        http=LimitedHttpToolsProtocol,
        lifespan="{% if cookiecutter.__framework == "flask" %}off{% else %}on{% endif %}",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the server did not start within 10 s"
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)
{%- endif %}


def status_of(port: int, head: bytes) -> int:
    """Send a request's line and headers; the status of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        with contextlib.suppress(OSError):  # refused while still sending: the answer waits
            connection.sendall(head + b"\r\n")
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            assert chunk, f"closed without an answer, after {answer!r}"
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def request(target: bytes = b"/healthz", headers: Sequence[bytes] = ()) -> bytes:
    fields = b"".join(field + b"\r\n" for field in headers)
    return b"GET " + target + b" HTTP/1.1\r\nHost: service\r\n" + fields


{%- if cookiecutter.__server == "hypercorn" %}


def http2_status(port: int, path: str, headers: Sequence[tuple[str, str]] = ()) -> int:
    """One GET over HTTP/2 with prior knowledge (h2c), on the port HTTP/1.1 uses."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    request_headers = [
        (":method", "GET"),
        (":path", path),
        (":scheme", "http"),
        (":authority", "service"),
        *headers,
    ]
    connection.send_headers(1, request_headers, end_stream=True)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(connection.data_to_send())
        while True:
            data = sock.recv(65536)
            assert data, "closed without an answer"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    return int(dict(event.headers)[b":status"])
            sock.sendall(connection.data_to_send())
{%- endif %}


def test_a_request_within_every_limit_is_served(port):
    line = b"/healthz?pad=" + b"a" * (LIMITS.request_line - 100)
    fields = [b"X-Pad-%d: %s" % (i, b"a" * 100) for i in range(LIMITS.fields - 2)]
    big_field = b"X-Big: " + b"a" * (LIMITS.field_size - 20)
    assert status_of(port, request(line, [*fields, big_field])) == 200


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (request(b"/healthz?pad=" + b"a" * LIMITS.request_line), 414),
        (request(headers=[b"X-%d: a" % i for i in range(LIMITS.fields)]), 431),
        (request(headers=[b"X-Big: " + b"a" * LIMITS.field_size]), 431),
        (request(headers=[b"X-Huge: " + b"a" * 1_000_000]), 431),
    ],
    ids=["long-request-line", "too-many-headers", "long-header", "megabyte-header"],
)
def test_past_a_limit_the_answer_is_414_or_431_and_the_server_goes_on(port, head, status):
    assert status_of(port, head) == status
    assert status_of(port, request()) == 200


{% if cookiecutter.__server == "granian" -%}
{%- if cookiecutter.interface == "wsgi" -%}
@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/healthz", {}, 200),
        ("/healthz?pad=" + "a" * LIMITS.request_line, {}, 414),
        ("/healthz", {f"X-{i}": "a" for i in range(LIMITS.fields)}, 431),
        ("/healthz", {"X-Big": "a" * LIMITS.field_size}, 431),
    ],
    ids=["within", "long-line", "too-many-headers", "long-header"],
)
def test_the_middleware_applies_the_limits_in_any_wsgi_server(app, path, headers, status):
    """In process, through Werkzeug's test client: the environ any WSGI server builds."""
    served = LimitRequestHead(app, LIMITS)
    response = Client(served).get(path, headers=headers)
    assert response.status_code == status
    assert (response.headers.get("Connection") == "close") == (status != 200)


def test_the_process_environment_is_no_request_header(app, monkeypatch):
    """Granian copies the process environment into every environ: the served app drops it
    before the limits count fields, so HTTP_* variables neither pass for headers nor use up
    the client's allowance, and secrets never reach a view's request.environ."""
    for i in range(LIMITS.fields):
        monkeypatch.setenv(f"HTTP_FROM_THE_PROCESS_{i}", "a")
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    seen: dict[str, object] = {}

    def view(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    served = request_environ_only(LimitRequestHead(view, LIMITS))

    def status(headers: dict[str, str]) -> str:
        # As Granian builds it: the process environment, then the request's own keys.
        request = EnvironBuilder(path="/", headers=list(headers.items())).get_environ()
        environ = dict(os.environ) | request
        answer: list[str] = []
        served(environ, lambda status, headers: answer.append(status))
        return answer[0]

    assert status({"X-Sent": "a"}).startswith("200")
    assert "SECRET_KEY" not in seen
    assert "HTTP_FROM_THE_PROCESS_0" not in seen
    assert seen["HTTP_X_SENT"] == "a"
    # The client's own fields still count: past the limit is a 431.
    assert status({f"X-{i}": "a" for i in range(LIMITS.fields)}).startswith("431")


{% endif -%}
def test_a_silent_connection_is_closed_after_the_header_read_timeout(port):
    """A client that connects and sends nothing holds a connection slot until the timeout."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=HEADER_READ_TIMEOUT + 8) as sock:
        assert sock.recv(4096) == b""  # closed by the server, without an answer
    assert time.monotonic() - started < HEADER_READ_TIMEOUT + 3


def test_a_request_framed_twice_is_read_by_its_chunks_and_nothing_after_it(port):
    """Content-Length and chunks: Granian reads the chunks and closes the connection after the
    answer, so the request pipelined behind it, which a proxy reading Content-Length would have
    taken for part of the body, is never served (RFC 9112 section 6.3)."""
    body = b'{"a": 1}'
    head = request(b"/echo", [b"Content-Type: application/json", b"Content-Length: 3"])
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.replace(b"GET ", b"POST ", 1) + chunked + request() + b"\r\n")
        answer = b""
        while chunk := connection.recv(4096):  # the server closes after its one answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:100]
    assert answer.count(b"HTTP/1.1 ") == 1
    assert b"connection: close" in answer.lower()
    assert answer.endswith(b'{"a":1}\n')  # the echo: the body came from the chunks


def test_a_body_granian_cannot_read_is_a_400_not_a_500(port):
{%- if cookiecutter.interface == "asgi" %}
    """A chunk size that is not hex: Granian hands the app a disconnect, and would answer 500
    itself if the app sent nothing (http_limits.py answers instead)."""
{%- else %}
    """A chunk size that is not hex: Granian hands Flask an empty body, which /echo refuses."""
{%- endif %}
    head = request(b"/echo", [b"Content-Type: application/json", b"Transfer-Encoding: chunked"])
    raw = head.replace(b"GET ", b"POST ", 1) + b"\r\nzz\r\n{}\r\n0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:100]
    assert status_of(port, request()) == 200


def test_an_endless_header_is_cut_off_by_the_header_read_timeout(port):
    """Granian holds an unfinished head in its buffer, never in the app; the timeout ends it."""
    started = time.monotonic()
    answer = None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: service\r\nX-Endless: ")
        connection.settimeout(0.1)
        while answer is None and time.monotonic() - started < 10:
            try:
                connection.sendall(b"a" * 64)
                answer = connection.recv(4096)  # b"" once closed, or an answer
            except TimeoutError:
                continue
            except OSError:  # closed while we were sending
                answer = b""
    assert answer is not None, "still open after 10 s"
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:100]
    assert time.monotonic() - started < HEADER_READ_TIMEOUT + 3
{%- elif cookiecutter.__server == "hypercorn" -%}
def test_http2_over_cleartext_is_served_on_the_same_port(port):
    assert http2_status(port, "/healthz") == 200


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/healthz?pad=" + "a" * LIMITS.request_line, [], 414),
        ("/healthz", [(f"x-{i}", "a") for i in range(LIMITS.fields)], 431),
        ("/healthz", [("x-big", "a" * LIMITS.field_size)], 431),
    ],
    ids=["long-path", "too-many-headers", "long-header"],
)
def test_the_limits_hold_over_http2(port, path, headers, status):
    assert http2_status(port, path, headers) == status
{%- else -%}
def test_an_endless_header_is_refused_before_it_is_finished(port):
    """httptools would hold an unfinished field whole: the protocol stops it at the field limit."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: service\r\nX-Endless: ")
        answer = b""
        for _ in range(2 * LIMITS.field_size // 1024 + 2):  # in pieces, never ending the line
            try:
                connection.sendall(b"a" * 1024)
            except OSError:
                break  # refused and closed
            time.sleep(0.01)
        while chunk := connection.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]


def test_a_body_is_not_counted_as_headers(port, monkeypatch):
    # Limits far smaller than the body: only the line and headers count against them.
    limits = {"LIMIT_REQUEST_LINE": "1024", "LIMIT_REQUEST_FIELDS": "10"}
    limits["LIMIT_REQUEST_FIELD_SIZE"] = "1024"
    monkeypatch.setattr(http_limits, "LIMITS", load_header_limits(limits))
    body = b'{"a": "' + b"x" * 100_000 + b'"}'
    head = request(b"/echo", [b"Content-Type: application/json", b"Content-Length: %d" % len(body)])
    head = head.replace(b"GET ", b"POST ", 1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        with contextlib.suppress(OSError):  # answered from the headers, and closed
            connection.sendall(head + b"\r\n" + body)
        answer = connection.recv(4096)
    # The app's own limit on bodies (MAX_CONTENT_LENGTH is 1 KiB in the tests), not a 431.
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
{%- endif %}
{%- if cookiecutter.__server in ("granian", "hypercorn") %}


def test_a_body_is_not_counted_as_headers(tmp_path):
    # Limits far smaller than the body: only the line and headers count against them.
    limits = {"LIMIT_REQUEST_LINE": "1024", "LIMIT_REQUEST_FIELDS": "10"}
    server = real_server.start_server(tmp_path, LIMIT_REQUEST_FIELD_SIZE="1024", **limits)
    try:
        body = b'{"a": "' + b"x" * 100_000 + b'"}'
        headers = [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
        head = request(b"/echo", headers).replace(b"GET ", b"POST ", 1)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            with contextlib.suppress(OSError):  # answered from the headers, and closed
                connection.sendall(head + b"\r\n" + body)
            answer = connection.recv(4096)
        # The app's own limit on bodies (MAX_CONTENT_LENGTH is 1 KiB here), not a 431.
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    finally:
        assert server.stop() == 0
{%- endif %}


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"LIMIT_REQUEST_LINE": "9000"}, "LIMIT_REQUEST_LINE"),
        ({"LIMIT_REQUEST_FIELDS": "0"}, "LIMIT_REQUEST_FIELDS"),
        ({"LIMIT_REQUEST_FIELD_SIZE": "lots"}, "LIMIT_REQUEST_FIELD_SIZE"),
    ],
)
def test_a_limit_out_of_range_stops_the_start(environ, named):
    with pytest.raises(SettingsError, match=named):
        load_header_limits(environ)

"""gunicorn's limits on the request line and headers, applied by uvicorn's protocol here
(http_limits.py): a real server on 127.0.0.1, spoken to over a socket."""

import socket
import threading
import time

import pytest
import uvicorn

from {{ cookiecutter.project_slug }} import http_limits
{% if cookiecutter.__framework == "flask" %}from {{ cookiecutter.project_slug }}.asgi_adapter import ThreadPoolWsgiToAsgi
{% endif %}from {{ cookiecutter.project_slug }}.http_limits import LIMITS, LimitedHttpToolsProtocol
from {{ cookiecutter.project_slug }}.settings import HeaderLimits, SettingsError, load_header_limits


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


def status_of(port: int, head: bytes) -> int:
    """Send a request's line and headers; the status of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + b"\r\n")
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            assert chunk, f"closed without an answer, after {answer!r}"
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def request(target: bytes = b"/healthz", headers: list[bytes] = ()) -> bytes:
    fields = b"".join(field + b"\r\n" for field in headers)
    return b"GET " + target + b" HTTP/1.1\r\nHost: service\r\n" + fields


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
    monkeypatch.setattr(http_limits, "LIMITS", HeaderLimits(1024, 10, 1024))
    body = b'{"a": "' + b"x" * 100_000 + b'"}'
    head = request(b"/echo", [b"Content-Type: application/json", b"Content-Length: %d" % len(body)])
    head = head.replace(b"GET ", b"POST ", 1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + b"\r\n" + body)
        answer = connection.recv(4096)
    # The app's own limit on bodies (MAX_CONTENT_LENGTH is 1 KiB in the tests), not a 431.
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]


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

"""The ASGI application itself: the code path the server runs in production."""

import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import httpx
import pytest
from flask import Flask, Response, request

from {{ cookiecutter.project_slug }}.serving.asgi_adapter import (
    SPOOL_LIMIT,
    WINDOW,
    Message,
    ThreadPoolWsgiToAsgi,
)
from {{ cookiecutter.project_slug }}.settings import SettingsError, worker_threads

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def asgi_app(app):
    return ThreadPoolWsgiToAsgi(app, max_threads=16)


@pytest.fixture
async def asgi_client(asgi_app):
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


def http_scope(
    method: str, path: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> dict[str, Any]:
    """An HTTP request's scope, as the server would pass it."""
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": list(headers),
    }


async def test_hello_through_asgi(asgi_client):
    response = await asgi_client.get("/", headers={"X-Request-ID": "asgi-1"})
    assert response.status_code == 200
    assert response.json()["interface"] == "asgi"
    assert response.headers["X-Request-ID"] == "asgi-1"


async def test_slow_requests_overlap_through_asgi(asgi_client):
    started = time.perf_counter()
    responses = await asyncio.gather(*(asgi_client.get("/slow?seconds=0.5") for _ in range(8)))
    elapsed = time.perf_counter() - started
    assert [r.status_code for r in responses] == [200] * 8
    assert elapsed < 2.0  # one after another would take 4 s


async def test_bad_seconds_is_a_json_400_through_asgi(asgi_client):
    response = await asgi_client.get("/slow?seconds=nan")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400


async def test_echo_through_asgi(asgi_client):
    response = await asgi_client.post("/echo", json={"a": 1})
    assert response.status_code == 200
    assert response.json() == {"a": 1}


async def test_declared_oversized_body_is_refused_before_it_is_read(asgi_client, caplog):
    response = await asgi_client.post(
        "/echo", content=b"x" * 2048, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.content == b'{"error":{"code":413,"message":"Request Entity Too Large"}}'
    assert response.headers["Connection"] == "close"
    assert response.headers["X-Request-ID"]
    # Its access line has every field the app's own lines have.
    [line] = [record for record in caplog.records if getattr(record, "status", None) == 413]
    assert line.request_id == response.headers["X-Request-ID"]
    assert line.duration_ms >= 0
    assert line.remote_addr == "127.0.0.1"


async def test_streamed_oversized_body_is_refused(asgi_client):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 512

    response = await asgi_client.post(
        "/echo", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_client_gone_mid_body_ends_the_request_quietly(asgi_app, caplog):
    """The server reports a hang-up (or a body it refused to parse) as http.disconnect."""
    messages = iter([{"type": "http.request", "body": b'{"name": "x"', "more_body": True}])
    sent = []

    async def receive():
        return next(messages, {"type": "http.disconnect"})

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", b"100")]
    scope = http_scope("POST", "/items", headers)
    await asgi_app(scope, receive, send)
    assert sent == []  # the app never ran on half a body
    assert not [record for record in caplog.records if record.exc_info]


async def test_an_async_view_runs_on_the_servers_loop(app):
    """Loop-bound resources (an async database pool) must see one loop per process."""
    seen = []

    @app.get("/which-loop")
    async def which_loop():
        seen.append(asyncio.get_running_loop())
        return {}

    transport = httpx.ASGITransport(app=ThreadPoolWsgiToAsgi(app, max_threads=4))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        for _ in range(3):
            assert (await client.get("/which-loop")).status_code == 200
    assert seen == [asyncio.get_running_loop()] * 3


async def test_a_streamed_response_arrives_whole_and_in_order(app):
    chunks = [f"{n},".encode() for n in range(20 * WINDOW)]
    app.add_url_rule("/stream", "stream", lambda: app.response_class(iter(chunks)))
    transport = httpx.ASGITransport(app=ThreadPoolWsgiToAsgi(app, max_threads=4))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/stream")
    assert response.status_code == 200
    assert response.content == b"".join(chunks)


class EndlessStream:
    """A /endless route on `app` whose body never ends: `produced` counts its chunks, and
    `stopped` is set once the pool thread closes it."""

    def __init__(self, app: Flask) -> None:
        self.produced = 0
        self.stopped = threading.Event()
        app.add_url_rule("/endless", "endless", lambda: app.response_class(self.chunks()))

    def chunks(self) -> Iterator[bytes]:
        try:
            while True:
                self.produced += 1
                yield b"x" * 1024
        finally:
            self.stopped.set()


async def test_a_stream_stops_when_the_server_stops_reading(app):
    """A client gone mid-stream (the request's task cancelled): the pool thread stops producing
    after at most a window of chunks, rather than wait for ever or stream into the void."""
    stream = EndlessStream(app)
    adapter = ThreadPoolWsgiToAsgi(app, max_threads=1)
    first_body = asyncio.Event()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.body":
            first_body.set()
            await asyncio.sleep(3600)  # a client that stopped reading

    scope = http_scope("GET", "/endless")
    request = asyncio.create_task(adapter(scope, receive, send))
    await asyncio.wait_for(first_body.wait(), timeout=5)
    request.cancel()
    assert await asyncio.to_thread(stream.stopped.wait, 5), "the pool thread is still streaming"
    assert stream.produced <= 2 * WINDOW + 2
    # The pool's only thread is free again.
    transport = httpx.ASGITransport(app=adapter)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        assert (await client.get("/")).status_code == 200


async def test_the_lifespan_protocol_is_answered_with_nothing_to_do(asgi_app):
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message["type"])

    await asgi_app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_websocket_is_refused_without_a_traceback(asgi_app, caplog):
    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    await asgi_app({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    assert sent == [{"type": "websocket.close"}]  # the server answers the handshake with 403
    assert not [record for record in caplog.records if record.exc_info]


async def test_a_stream_stops_when_the_client_goes_away(app):
    """The servers drop what is sent to a closed connection, and say the client has gone only
    through `receive`: the pool thread must stop producing all the same."""
    stream = EndlessStream(app)
    adapter = ThreadPoolWsgiToAsgi(app, max_threads=1)
    gone = asyncio.Event()
    incoming = iter([{"type": "http.request", "body": b"", "more_body": False}])
    bodies = 0

    async def receive():
        message = next(incoming, None)
        if message is None:
            await gone.wait()
            return {"type": "http.disconnect"}
        return message

    async def send(message):
        nonlocal bodies
        if message["type"] == "http.response.body":
            bodies += 1
            if bodies == 3 * WINDOW:
                gone.set()  # the client hangs up mid-stream; later sends go nowhere

    scope = http_scope("GET", "/endless")
    await asyncio.wait_for(adapter(scope, receive, send), timeout=5)
    assert await asyncio.to_thread(stream.stopped.wait, 5), "the pool thread is still streaming"


async def test_unknown_path_is_a_json_404_through_asgi(asgi_client):
    response = await asgi_client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "message": "Not Found"}}


def test_asgi_module_exposes_the_app(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")
    from {{ cookiecutter.project_slug }}.serving.asgi import app

    assert isinstance(app, ThreadPoolWsgiToAsgi)


def test_thread_pool_size_comes_from_the_environment():
    assert worker_threads({"ASGI_THREADS": "64"}) == 64
    assert worker_threads({}) == 512
    with pytest.raises(SettingsError, match="ASGI_THREADS"):
        worker_threads({"ASGI_THREADS": "lots"})


async def exchange(
    adapter: ThreadPoolWsgiToAsgi, scope: dict[str, Any], body: bytes = b""
) -> list[Message]:
    """The messages the adapter sends for one request."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await adapter(scope, receive, send)
    return sent


def body_of(sent: list[Message]) -> bytes:
    return b"".join(message.get("body", b"") for message in sent[1:])


async def test_an_ordinary_response_is_two_messages(asgi_app: ThreadPoolWsgiToAsgi) -> None:
    """The part that completes the Content-Length ends the response: no empty message after it."""
    sent = await exchange(asgi_app, http_scope("GET", "/"))
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["more_body"] is False
    assert json.loads(sent[1]["body"])["interface"] == "asgi"


async def test_a_body_sent_in_many_messages_arrives_whole(app: Flask) -> None:
    """Past SPOOL_LIMIT the body waits in a temporary file; the view reads all of it the same."""
    app.config["MAX_CONTENT_LENGTH"] = 4 * SPOOL_LIMIT
    note = "x" * (2 * SPOOL_LIMIT)
    payload = json.dumps({"note": note}).encode()
    parts = [payload[start : start + 16384] for start in range(0, len(payload), 16384)]
    incoming = iter(
        [{"type": "http.request", "body": part, "more_body": True} for part in parts]
        + [{"type": "http.request", "body": b"", "more_body": False}]
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    adapter = ThreadPoolWsgiToAsgi(app, max_threads=2)
    await adapter(http_scope("POST", "/echo", headers), receive, send)
    assert sent[0]["status"] == 200
    assert json.loads(body_of(sent)) == {"note": note}


async def test_repeated_cookie_fields_make_one_cookie_header(app: Flask) -> None:
    """HTTP/2 clients send each cookie as a field of its own (RFC 9113, 8.2.3); any other
    repeated field is one comma-separated list."""

    @app.get("/headers")
    def headers() -> dict[str, Any]:
        return {"cookies": request.cookies, "accept": request.headers["Accept"]}

    fields = [
        (b"cookie", b"a=1"),
        (b"accept", b"text/html"),
        (b"cookie", b"b=2"),
        (b"accept", b"application/json"),
    ]
    adapter = ThreadPoolWsgiToAsgi(app, max_threads=2)
    sent = await exchange(adapter, http_scope("GET", "/headers", fields))
    assert sent[0]["status"] == 200
    assert json.loads(body_of(sent)) == {
        "cookies": {"a": "1", "b": "2"},
        "accept": "text/html,application/json",
    }


async def test_a_query_string_of_raw_utf8_bytes_is_read_as_utf8(app: Flask) -> None:
    """Clients should percent-encode, but some send raw bytes: they get an answer, not a 500."""

    @app.get("/query")
    def query() -> dict[str, str]:
        return {"q": request.args["q"]}

    scope = http_scope("GET", "/query")
    scope["query_string"] = "q=café".encode()
    sent = await exchange(ThreadPoolWsgiToAsgi(app, max_threads=2), scope)
    assert sent[0]["status"] == 200
    assert json.loads(body_of(sent)) == {"q": "café"}


async def test_the_response_is_closed_once_sent(app: Flask) -> None:
    """PEP 3333: the server calls the body's close(), which runs the response's on-close hooks."""
    closed = threading.Event()

    @app.get("/closing")
    def closing() -> Response:
        response = app.response_class("done")
        response.call_on_close(closed.set)
        return response

    sent = await exchange(ThreadPoolWsgiToAsgi(app, max_threads=2), http_scope("GET", "/closing"))
    assert body_of(sent) == b"done"
    assert await asyncio.to_thread(closed.wait, 5)


def serving_wsgi_app(app: Flask, wsgi_app: WSGIApplication) -> ThreadPoolWsgiToAsgi:
    """The adapter with a bare WSGI app in Flask's place, for what PEP 3333 allows and Flask
    never does."""
    adapter = ThreadPoolWsgiToAsgi(app, max_threads=2)
    adapter.wsgi_application = wsgi_app
    return adapter


async def test_what_an_app_writes_comes_before_what_it_returns(app: Flask) -> None:
    def legacy(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written,")
        return [b"returned"]

    sent = await exchange(serving_wsgi_app(app, legacy), http_scope("GET", "/"))
    assert sent[0]["status"] == 200
    assert body_of(sent) == b"written,returned"
    assert sent[-1]["more_body"] is False


async def test_no_more_body_is_sent_than_the_content_length_promised(app: Flask) -> None:
    def overlong(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [("Content-Length", "5")])
        write(b"123")
        write(b"4567")
        write(b"8")
        return [b"9"]

    sent = await exchange(serving_wsgi_app(app, overlong), http_scope("GET", "/"))
    assert body_of(sent) == b"12345"
    assert [message["more_body"] for message in sent[1:]] == [True, False]


async def test_an_error_before_the_body_replaces_the_status(app: Flask) -> None:
    def recovering(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        try:
            raise RuntimeError("before the body")
        except RuntimeError:
            start_response("503 Service Unavailable", [("Content-Length", "0")], sys.exc_info())
        return []

    sent = await exchange(serving_wsgi_app(app, recovering), http_scope("GET", "/"))
    assert sent[0]["status"] == 503


async def test_an_error_after_the_body_started_reaches_the_server(app: Flask) -> None:
    """Too late for another status: the error goes to the server, which cuts the connection."""

    def failing(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        try:
            raise RuntimeError("mid-body")
        except RuntimeError:
            start_response("500 Internal Server Error", [], sys.exc_info())

    with pytest.raises(RuntimeError, match="mid-body"):
        await exchange(serving_wsgi_app(app, failing), http_scope("GET", "/"))


async def test_a_second_status_without_an_error_is_refused(app: Flask) -> None:
    def confused(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        start_response("201 Created", [])
        return []

    with pytest.raises(RuntimeError, match="second time"):
        await exchange(serving_wsgi_app(app, confused), http_scope("GET", "/"))

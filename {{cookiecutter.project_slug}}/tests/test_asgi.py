"""The ASGI application itself: the code path uvicorn runs in production."""

import asyncio
import time

import httpx
import pytest

from {{ cookiecutter.project_slug }}.asgi_adapter import ThreadPoolWsgiToAsgi
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


async def test_declared_oversized_body_is_refused_before_it_is_read(asgi_client):
    response = await asgi_client.post(
        "/echo", content=b"x" * 2048, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"error": {"code": 413, "message": "Request Entity Too Large"}}
    assert response.headers["Connection"] == "close"
    assert response.headers["X-Request-ID"]


async def test_streamed_oversized_body_is_refused(asgi_client):
    async def chunks():
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

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/items",
        "raw_path": b"/items",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
    }
    await asgi_app(scope, receive, send)
    assert sent == []  # the app never ran on half a body
    assert not [record for record in caplog.records if record.exc_info]


async def test_unknown_path_is_a_json_404_through_asgi(asgi_client):
    response = await asgi_client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "message": "Not Found"}}


def test_asgi_module_exposes_the_app(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")
    from {{ cookiecutter.project_slug }}.asgi import app

    assert isinstance(app, ThreadPoolWsgiToAsgi)


def test_thread_pool_size_comes_from_the_environment():
    assert worker_threads({"ASGI_THREADS": "64"}) == 64
    assert worker_threads({}) == 1024
    with pytest.raises(SettingsError, match="ASGI_THREADS"):
        worker_threads({"ASGI_THREADS": "lots"})

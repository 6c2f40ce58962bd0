"""websocket_drain.py: when the worker drains, an open WebSocket is told to reconnect (1012) and the
app hears that the client has gone; a handshake not yet accepted is refused."""

import asyncio

import pytest

from {{ cookiecutter.project_slug }}.serving import {{ 'hypercorn_workers' if cookiecutter.asgi_server == 'hypercorn' else 'websocket_drain' }} as workers
from {{ cookiecutter.project_slug }}.serving.websocket_drain import (
    GOING_AWAY,
    CloseWebSocketsOnDrain,
)

WEBSOCKET = {"type": "websocket", "path": "/ws"}


@pytest.fixture(autouse=True)
def fresh_drain(monkeypatch):
    """Each test starts in a worker that is not draining (the event is made on first use)."""
    monkeypatch.setattr(workers, "_draining", None)


class Client:
    """The server's side of one connection: messages queued for the app, and what it sent."""

    def __init__(self, *messages):
        self.incoming: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        for message in messages:
            self.incoming.put_nowait(message)
        self.sent: list[dict[str, object]] = []
        self.receive_cancelled = False

    async def receive(self):
        try:
            return await self.incoming.get()
        except asyncio.CancelledError:
            self.receive_cancelled = True
            raise

    async def send(self, message):
        self.sent.append(message)


def serve(app, client, scope=WEBSOCKET, *, drain=False):
    async def main():
        task = asyncio.ensure_future(
            CloseWebSocketsOnDrain(app)(scope, client.receive, client.send)
        )
        await asyncio.sleep(0)  # the app runs up to its first wait
        if drain:
            workers.draining().set()
        await task

    asyncio.run(main())


def test_a_drain_closes_an_accepted_websocket_with_1012_and_the_app_hears_the_disconnect():
    heard = []
    client = Client()

    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        heard.append(await receive())
        await asyncio.sleep(0)  # one turn of the loop, for a cancelled task to finish
        heard.append(client.receive_cancelled)

    serve(app, client, drain=True)
    assert client.sent == [{"type": "websocket.accept"}, GOING_AWAY]
    # The app hears the client has gone, and the server's receive no longer waits for it.
    assert heard == [{"type": "websocket.disconnect", "code": 1012}, True]


def test_a_drain_before_the_handshake_is_accepted_refuses_it_with_a_plain_close():
    async def app(scope, receive, send):
        await receive()

    client = Client()
    serve(app, client, drain=True)
    assert client.sent == [{"type": "websocket.close"}]


def test_messages_reach_the_app_unchanged_while_the_worker_serves():
    heard = []
    text = {"type": "websocket.receive", "text": "hello"}

    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        heard.append(await receive())
        await send({"type": "websocket.send", "text": "bye"})

    client = Client(text)
    serve(app, client)
    assert heard == [text]
    assert client.sent == [{"type": "websocket.accept"}, {"type": "websocket.send", "text": "bye"}]


def test_an_app_that_stops_waiting_cancels_the_pending_receive():
    cancelled = []
    client = Client()

    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(receive(), timeout=0.01)
        await asyncio.sleep(0)  # one turn of the loop, for a cancelled task to finish
        cancelled.append(client.receive_cancelled)

    serve(app, client)
    assert cancelled == [True]


def test_http_requests_pass_through_with_the_servers_own_receive_and_send():
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["type"], receive, send))

    client = Client()
    serve(app, client, {"type": "http", "path": "/"}, drain=True)
    assert seen == [("http", client.receive, client.send)]
{%- if cookiecutter.asgi_server == "granian" %}


def test_open_websockets_are_counted_until_they_end():
    """granian_server.py lets Granian stop a worker once none is left open."""
    seen = []

    async def app(scope, receive, send):
        await send({"type": "websocket.accept"})
        seen.append(workers.open_websockets())
        await receive()

    serve(app, Client(), drain=True)
    assert seen == [1]
    assert workers.open_websockets() == 0
{%- endif %}

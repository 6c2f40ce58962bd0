"""Close open WebSockets when a worker drains, as uvicorn does: code 1012, "server restarting".

{% if cookiecutter.asgi_server == "hypercorn" -%}
Hypercorn leaves WebSockets open on shutdown until the graceful timeout, then cancels them (the
client sees 1011, the log an error), although a WebSocket may live for hours and the client only
needs to hear that it should reconnect. This middleware closes each one as soon as its worker
starts to drain (hypercorn_workers.draining) and tells the app the client has gone.
{%- else -%}
Granian drops open WebSockets as soon as a worker stops, with no close frame (the client sees the
connection lost, code 1006), although the client only needs to hear that it should reconnect.
This middleware closes each one as soon as its worker starts to drain (draining()), and tells the
app the client has gone; close_websockets_before_the_worker_stops() sets the drain on the
worker's stop signal, and lets Granian stop the worker once they are closed.
{%- endif %}
"""

import asyncio
{%- if cookiecutter.asgi_server == "granian" %}
import signal
{%- endif %}
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
{%- if cookiecutter.asgi_server == "hypercorn" %}

from .hypercorn_workers import draining
{%- else %}

import granian._signals
{%- endif %}

# ASGI, as loosely as the servers and frameworks agree on it.
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Any ASGI app: Quart types its scope and messages as TypedDicts, which a plain mapping is not.
ASGIApp = Callable[..., Awaitable[None]]

GOING_AWAY = {"type": "websocket.close", "code": 1012, "reason": "server restarting"}
{%- if cookiecutter.asgi_server == "granian" %}
# Set in each worker once it drains; and the WebSockets it still serves.
_draining: asyncio.Event | None = None
_open = 0


def draining() -> asyncio.Event:
    """This worker's drain, as an event on its loop."""
    global _draining
    if _draining is None:
        _draining = asyncio.Event()
    return _draining


def open_websockets() -> int:
    """How many WebSockets this worker still serves."""
    return _open


# The most a worker's stop waits for its open WebSockets to send their close frames.
WEBSOCKET_CLOSE_SECONDS = 2


def close_websockets_before_the_worker_stops() -> None:
    """On its stop signal, this worker first closes its open WebSockets with 1012, then lets
    Granian stop it.

    Granian sets a worker's stop signal up with granian._signals.set_loop_signals (Granian 2.8),
    once the worker has imported the app: asgi.py calls this as it is imported, in each worker.
    Ours takes the signal over on the worker's loop, sets draining(), and sets Granian's stop once
    the WebSockets have closed, or after WEBSOCKET_CLOSE_SECONDS.
    """
    set_loop_signals = granian._signals.set_loop_signals

    def with_the_drain(loop: asyncio.AbstractEventLoop) -> Any:
        stop = set_loop_signals(loop)  # type: ignore[no-untyped-call]  # Granian's, untyped

        async def stop_once_websockets_closed() -> None:
            deadline = loop.time() + WEBSOCKET_CLOSE_SECONDS
            while open_websockets() and loop.time() < deadline:
                await asyncio.sleep(0.01)
            stop.set()

        stopping: list[asyncio.Task[None]] = []  # held, so the task is not collected mid-way

        def on_signal() -> None:
            if not stopping:  # a second signal changes nothing
                draining().set()
                stopping.append(loop.create_task(stop_once_websockets_closed()))

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal)  # replaces Granian's
        return stop

    granian._signals.set_loop_signals = with_the_drain
{%- endif %}


class CloseWebSocketsOnDrain:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False
        drained = asyncio.ensure_future(draining().wait())  # one waiter for the connection

        async def tracking_send(message: Message) -> None:
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        async def receive_until_drained() -> Message:
            message = asyncio.ensure_future(receive())
            try:
                await asyncio.wait({message, drained}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the app gave up waiting
                message.cancel()
                raise
            if message.done():
                return message.result()
            message.cancel()
            # Not accepted yet: a plain close, which refuses the handshake with a 403.
            await send(GOING_AWAY if accepted else {"type": "websocket.close"})
            return {"type": "websocket.disconnect", "code": GOING_AWAY["code"]}
{%- if cookiecutter.asgi_server == "granian" %}

        global _open
        _open += 1
{%- endif %}

        try:
            await self.app(scope, receive_until_drained, tracking_send)
        finally:
            drained.cancel()
{%- if cookiecutter.asgi_server == "granian" %}
            _open -= 1
{%- endif %}

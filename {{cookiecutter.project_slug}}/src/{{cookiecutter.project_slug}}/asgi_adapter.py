"""Serve the Flask (WSGI) app to an ASGI server, built on asgiref.

asgiref's own `WsgiToAsgi` runs every request of a process on a single thread (its `run_wsgi_app`
is a thread-sensitive `sync_to_async`), so slow requests queue behind each other. This adapter
keeps asgiref's translation between the two protocols and runs it on a thread pool instead: slow
requests overlap, and an `async def` view is still awaited on the server's event loop (asgiref's
`async_to_sync` finds that loop from the pool thread) while its thread waits.

`WsgiToAsgi` also reads the whole request body before Flask can look at it, so the body limit is
enforced here, before the body is read.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from asgiref.wsgi import WsgiToAsgi, WsgiToAsgiInstance
from flask import Flask

from .errors import error_body
from .request_id import HEADER as REQUEST_ID_HEADER
from .request_id import incoming_or_new

# asgiref's undecorated translation loop (environ in, ASGI messages out), to run on our pool.
translate_one_request = WsgiToAsgiInstance.__dict__["run_wsgi_app"].func
access_logger = logging.getLogger("access")
# After refusing a body, read and drop up to this much of it before closing, so that a client
# still sending gets the 413 instead of a connection reset (nginx's "lingering close").
DISCARD_LIMIT = 8 * 1024 * 1024


class BodyTooLarge(Exception):
    """The client sent more body than MAX_CONTENT_LENGTH allows."""


class ClientGone(Exception):
    """The connection ended before the whole body came."""


class PooledInstance(WsgiToAsgiInstance):
    """One request: asgiref's translation, run on the adapter's thread pool."""

    def __init__(self, wsgi_application, run_on_pool):
        super().__init__(wsgi_application)
        self.run_on_pool = run_on_pool

    async def run_wsgi_app(self, body):
        await self.run_on_pool(self, body)


class ThreadPoolWsgiToAsgi(WsgiToAsgi):
    def __init__(self, flask_app: Flask, max_threads: int):
        super().__init__(flask_app)
        self.max_body = flask_app.config["MAX_CONTENT_LENGTH"]  # None: no limit, as in Flask
        self.executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="flask")
        self.run_on_pool = sync_to_async(
            translate_one_request, thread_sensitive=False, executor=self.executor
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            # No lifespan or WebSocket support: the server is started with lifespan="off".
            raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
        declared = declared_length(scope)
        if self.max_body is not None and declared is not None and declared > self.max_body:
            await reject_too_large(scope, receive, send)
            return
        try:
            instance = PooledInstance(self.wsgi_application, self.run_on_pool)
            await instance(scope, self.checked_body(receive), send)
        except BodyTooLarge:
            # Raised while reading the body, before the app could start a response.
            await reject_too_large(scope, receive, send)
        except ClientGone:
            pass  # hung up, or sent a body the server refused: nobody is left to answer

    def checked_body(self, receive):
        """`receive` for asgiref, which reads the whole body before the app runs."""
        received = 0

        async def checked_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.disconnect":
                # asgiref would raise a ValueError: a traceback for a client that went away.
                raise ClientGone
            received += len(message.get("body", b""))
            if self.max_body is not None and received > self.max_body:
                raise BodyTooLarge
            return message

        return checked_receive


def declared_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server has already refused a malformed length
    return None


async def discard_body(receive) -> None:
    discarded = 0
    while discarded <= DISCARD_LIMIT:
        message = await receive()
        discarded += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def reject_too_large(scope, receive, send) -> None:
    """Answer 413 in the app's JSON shape, then close: the unread body must not become a request."""
    incoming_id = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"")
    request_id = incoming_or_new(incoming_id.decode("latin1"))
    body = json.dumps(error_body(413, "Request Entity Too Large")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    # The whole answer goes out first; the response completes (and the server closes) once the
    # rest of the upload is discarded, so a client that waits for the answer gets it at once.
    await send({"type": "http.response.body", "body": body, "more_body": True})
    await discard_body(receive)
    await send({"type": "http.response.body", "body": b""})
    method, path = scope["method"], scope["path"]
    access_logger.info(
        "%s %s 413",
        method,
        path,
        extra={"request_id": request_id, "method": method, "path": path, "status": 413},
    )

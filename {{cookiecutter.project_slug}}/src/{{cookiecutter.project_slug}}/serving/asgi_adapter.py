"""Serve the Flask (WSGI) app to an ASGI server: our own translation, run on a thread pool.

asgiref's `WsgiToAsgi` runs every request of a process on a single thread (its `run_wsgi_app`
is a thread-sensitive `sync_to_async`), so slow requests queue behind each other. This adapter
does the translation itself (the server's side of PEP 3333: build the environ, take the app's
start_response, send what it returns) and runs Flask on a thread pool instead: slow requests
overlap, and an `async def` view is still awaited on the server's event loop while its thread
waits. It relies on no library's internals, so no asgiref release can break it.

Every hand-over between the loop and a pool thread wakes a sleeping thread, and those wake-ups,
more than the work, are what a request costs. So the adapter keeps them few: the loop hands the
request to the pool directly (no asyncio future per request), the thread posts the response's
messages to the loop without waiting for each to be sent (one wake-up for a whole small response,
with a window of WINDOW messages for backpressure on a streamed one), and an `async def` view runs
as a task on the loop without asgiref's per-call executor and context copies.

The whole request body is read before Flask runs, so the body limit is enforced here, as it
arrives.
"""

import asyncio
import collections
import contextvars
import functools
import io
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import IO, Any, ParamSpec, TypeVar
from wsgiref.types import WSGIApplication, WSGIEnvironment

from asgiref.sync import async_to_sync
from flask import Flask

from ..middleware.errors import error_body
from ..middleware.request_id import HEADER as REQUEST_ID_HEADER
from ..middleware.request_id import incoming_or_new

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
P = ParamSpec("P")
R = TypeVar("R")

access_logger = logging.getLogger("access")
# After refusing a body, read and drop up to this much of it before closing, so that a client
# still sending gets the 413 instead of a connection reset (nginx's "lingering close").
DISCARD_LIMIT = 8 * 1024 * 1024
# A body sent in several messages past this size waits in a temporary file, not in memory.
SPOOL_LIMIT = 64 * 1024
# Response messages a pool thread may have posted before the loop has sent them: past this, the
# thread waits, so a streamed response cannot pile up in memory faster than the client reads it.
WINDOW = 16
# The server's event loop, as seen from the pool thread serving a request.
serving = threading.local()
# PEP 3333's CGI names for the two headers that do not take the HTTP_ prefix.
UNPREFIXED = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
# What every request's environ starts from.
BASE_ENVIRON: WSGIEnvironment = {
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    # The body is complete before the app runs: Werkzeug may read it to the end.
    "wsgi.input_terminated": True,
}


class BodyTooLarge(Exception):
    """The client sent more body than MAX_CONTENT_LENGTH allows."""


class ClientGone(Exception):
    """The client went away (mid-body, or while a response was still being sent)."""


class Outbox:
    """A request's response messages, from its pool thread to the loop.

    The thread posts without waiting for each message to be sent, and wakes the loop once per
    batch rather than once per message; at most WINDOW messages wait unsent, so a streamed
    response cannot pile up in memory faster than the client reads it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # Messages, then None (the thread is done) or the exception the app raised.
        self.items: collections.deque[Message | BaseException | None] = collections.deque()
        self.doorbell = asyncio.Event()
        self.window = threading.Semaphore(WINDOW)
        self.closed = False

    def post(self, item: Message | BaseException | None) -> None:
        """In the thread: a message, an exception to raise on the loop, or None at the end."""
        self.items.append(item)
        if len(self.items) == 1:  # the loop may be asleep; later items ride on the same wake-up
            self.loop.call_soon_threadsafe(self.doorbell.set)

    def send(self, message: Message) -> None:
        """In the thread: one ASGI message for the server."""
        self.window.acquire()
        if self.closed:  # the loop stopped reading: end the response rather than wait forever
            raise ClientGone
        self.post(message)

    async def deliver(self, send: Send, receive: Receive) -> None:
        """On the loop: send the thread's messages in order until it is done, or the client has
        gone. Neither server says so through `send` (it drops what is sent to a closed
        connection), so a long response also watches `receive` for the disconnect."""
        sent = 0
        watcher: asyncio.Future[Message] | None = None
        try:
            while True:
                await self.doorbell.wait()
                self.doorbell.clear()
                while self.items and not self.closed:
                    item = self.items.popleft()
                    if item is None:
                        return
                    if isinstance(item, BaseException):
                        raise item
                    try:
                        await send(item)
                    finally:
                        self.window.release()
                    sent += 1
                    if sent == WINDOW:  # a streamed response, not an ordinary one
                        watcher = asyncio.ensure_future(receive())
                        watcher.add_done_callback(self.client_gone)
                if self.closed:
                    return
        finally:
            if watcher is not None:
                watcher.cancel()
            self.closed = True
            for _ in range(WINDOW):  # a thread blocked on a full window must wake and see it
                self.window.release()

    def client_gone(self, watcher: "asyncio.Future[Message]") -> None:
        """The request's `receive` answered mid-response: only a disconnect can come then."""
        if not watcher.cancelled():
            watcher.exception()  # retrieved, so that a server's error is not logged as lost
            self.closed = True
            self.doorbell.set()


class Response:
    """The server's side of PEP 3333 for one request, in its pool thread: `start_response` and
    `write` for the app, each turned into ASGI messages in the request's outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.start: Message | None = None  # from start_response, sent with the first body
        self.started = False
        self.complete = False
        self.remaining: int | None = None  # bytes the app's Content-Length still allows

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
    ) -> Callable[[bytes], object]:
        if exc_info is not None:
            try:
                if self.started and exc_info[1] is not None:  # too late for an error page
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # PEP 3333: no reference cycle through the traceback
        elif self.start is not None:
            raise RuntimeError("start_response called a second time without exc_info")
        self.remaining = None
        encoded = []
        for name, value in headers:
            encoded.append((name.lower().encode("latin1"), value.encode("latin1")))
            if name.lower() == "content-length":
                self.remaining = int(value)
        self.start = {"type": "http.response.start", "status": int(status[:3]), "headers": encoded}
        return self.write

    def write(self, data: bytes) -> None:
        """Part of the body; the status and headers go first, with the first part."""
        if self.start is None:
            raise RuntimeError("the app sent a body before calling start_response")
        if self.complete:  # the Content-Length is all sent: the rest has nowhere to go
            return
        if not self.started:
            self.started = True
            self.outbox.send(self.start)
        if self.remaining is not None:
            data = data[: self.remaining]  # never more than the app's Content-Length promised
            self.remaining -= len(data)
            # The last part ends the response: one message fewer for every ordinary response.
            self.complete = self.remaining == 0
        if data or self.complete:
            body = {"type": "http.response.body", "body": data, "more_body": not self.complete}
            self.outbox.send(body)

    def finish(self) -> None:
        if not self.started:
            self.write(b"")
        if not self.complete:
            self.complete = True
            self.outbox.send({"type": "http.response.body", "body": b"", "more_body": False})


def respond(app: WSGIApplication, scope: Scope, body: IO[bytes], outbox: Outbox) -> None:
    """In a pool thread: run the app and post its response, then None (or the app's exception)."""
    serving.loop = outbox.loop
    try:
        response = Response(outbox)
        chunks = app(wsgi_environ(scope, body), response.start_response)
        try:
            for chunk in chunks:
                response.write(chunk)
                if response.complete:
                    break
            response.finish()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:  # PEP 3333: whether or not the body was all sent
                close()
    except BaseException as error:  # raised again on the loop
        outbox.post(error)
    else:
        outbox.post(None)
    finally:
        serving.loop = None
        body.close()


def wsgi_environ(scope: Scope, body: IO[bytes]) -> WSGIEnvironment:
    """PEP 3333's environ for an ASGI HTTP scope (strings are latin-1 "bytes as text")."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    environ = BASE_ENVIRON.copy()
    environ["REQUEST_METHOD"] = scope["method"]
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = path_info
    environ["QUERY_STRING"] = scope["query_string"].decode("latin1")
    environ["SERVER_PROTOCOL"] = "HTTP/" + scope["http_version"]
    environ["wsgi.url_scheme"] = scope.get("scheme", "http")
    environ["wsgi.input"] = body
    server = scope.get("server")
    if server is not None:
        environ["SERVER_NAME"] = server[0]
        environ["SERVER_PORT"] = str(server[1] if server[1] is not None else 0)
    else:
        environ["SERVER_NAME"], environ["SERVER_PORT"] = "localhost", "80"
    client = scope.get("client")
    if client is not None:
        environ["REMOTE_ADDR"] = client[0]
    repeated: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        name = UNPREFIXED.get(raw_name) or cgi_name(raw_name)
        value = raw_value.decode("latin1")
        if name in environ:
            repeated.setdefault(name, [environ[name]]).append(value)
        else:
            environ[name] = value
    for name, values in repeated.items():
        # HTTP/2 sends cookies as separate fields; any other repeated field is a comma list.
        environ[name] = ("; " if name == "HTTP_COOKIE" else ",").join(values)
    return environ


def cgi_name(header: bytes) -> str:
    return "HTTP_" + header.decode("latin1").upper().replace("-", "_")


def run_on_server_loop(func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Flask's `async_to_sync` under this adapter: an `async def` view runs as a task on the
    server's loop while its pool thread waits, without asgiref's per-call executor and copies.

    The task runs in a copy of the thread's context, which is the request's, so Flask's request
    context is there; context variables the view sets stay in that copy (asgiref would copy them
    back). Outside a request the adapter serves (a thread a view started), asgiref's own.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        loop = getattr(serving, "loop", None)
        if loop is None:
            return async_to_sync(func)(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(func(*args, **kwargs), loop).result()

    return run


# Ours over a2wsgi's WSGIMiddleware (same 4 x 512 threads, uvicorn, 2 cores): / at 64 connections
# 4,000 rps against 3,030, and 0.1 s requests at 1,024 connections 2,360 against 690.
class ThreadPoolWsgiToAsgi:
    """The Flask app as an ASGI application."""

    def __init__(self, flask_app: Flask, max_threads: int) -> None:
        self.wsgi_application: WSGIApplication = flask_app
        self.max_body: int | None = flask_app.config["MAX_CONTENT_LENGTH"]  # None: no limit
        self.executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="flask")
        # One app's async views, not every Flask app's: an instance attribute over the method.
        flask_app.async_to_sync = run_on_server_loop  # type: ignore[method-assign]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await no_startup_or_shutdown_work(receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close"})  # Flask speaks HTTP only: the server says 403
            return
        if scope["type"] != "http":
            raise ValueError(f"an ASGI scope this adapter does not serve: {scope['type']!r}")
        declared = declared_length(scope)
        if self.max_body is not None and declared is not None and declared > self.max_body:
            await reject_too_large(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_body)
        except BodyTooLarge:
            await reject_too_large(scope, receive, send)
            return
        except ClientGone:
            return  # hung up, or sent a body the server refused: nobody is left to answer
        outbox = Outbox(asyncio.get_running_loop())
        # Straight to the pool, no asyncio future; the request's context variables go with it,
        # as with asgiref's sync_to_async.
        context = contextvars.copy_context()
        self.executor.submit(context.run, respond, self.wsgi_application, scope, body, outbox)
        await outbox.deliver(send, receive)


async def read_body(receive: Receive, limit: int | None) -> IO[bytes]:
    """The whole request body, refused as soon as it passes `limit`."""
    received = 0
    spool: IO[bytes] | None = None
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: no traceback for it
                raise ClientGone
            chunk = message.get("body", b"")
            received += len(chunk)
            if limit is not None and received > limit:
                raise BodyTooLarge
            if not message.get("more_body"):
                if spool is None:  # one message, as nearly every request body comes
                    return io.BytesIO(chunk)
                spool.write(chunk)
                spool.seek(0)
                return spool
            if spool is None:
                # Closed by the pool thread once the app is done with it.
                spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_LIMIT)  # noqa: SIM115
            spool.write(chunk)
    except BaseException:
        if spool is not None:
            spool.close()
        raise


async def no_startup_or_shutdown_work(receive: Receive, send: Send) -> None:
    """The lifespan protocol, for a server that always speaks it: nothing to start or stop."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server has already refused a malformed length
    return None


async def discard_body(receive: Receive) -> None:
    discarded = 0
    while discarded <= DISCARD_LIMIT:
        message = await receive()
        discarded += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def reject_too_large(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer 413 in the app's JSON shape, then close: the unread body must not become a request."""
    started_at = time.perf_counter()
    incoming_id = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"")
    request_id = incoming_or_new(incoming_id.decode("latin1"))
    # Compact, as Flask writes every other JSON answer.
    body = json.dumps(error_body(413, "Request Entity Too Large"), separators=(",", ":")).encode()
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
    # The fields of middleware/access_log.py's line, so that a 413 reads like any other request.
    client = scope.get("client")
    access_logger.info(
        "%s %s 413",
        method,
        path,
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": 413,
            "duration_ms": round((time.perf_counter() - started_at) * 1000, 2),
            "remote_addr": client[0] if client else None,
        },
    )

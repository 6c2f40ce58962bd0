"""Serve the Flask (WSGI) app to an ASGI server, built on asgiref.

asgiref's own `WsgiToAsgi` runs every request of a process on a single thread (its `run_wsgi_app`
is a thread-sensitive `sync_to_async`), so slow requests queue behind each other. This adapter
keeps asgiref's translation between the two protocols and runs it on a thread pool instead: slow
requests overlap, and an `async def` view is still awaited on the server's event loop while its
thread waits.

Every hand-over between the loop and a pool thread wakes a sleeping thread, and those wake-ups,
more than the work, are what a request costs. So the adapter keeps them few: the loop hands the
request to the pool directly (no asyncio future per request), the thread posts the response's
messages to the loop without waiting for each to be sent (one wake-up for a whole small response,
with a window of WINDOW messages for backpressure on a streamed one), and an `async def` view runs
as a task on the loop without asgiref's per-call executor and context copies.

`WsgiToAsgi` also reads the whole request body before Flask can look at it, so the body limit is
enforced here, before the body is read.
"""

import asyncio
import collections
import contextvars
import functools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from asgiref.wsgi import WsgiToAsgi, WsgiToAsgiInstance
from flask import Flask

from ..middleware.errors import error_body
from ..middleware.request_id import HEADER as REQUEST_ID_HEADER
from ..middleware.request_id import incoming_or_new

# asgiref's undecorated translation loop (environ in, ASGI messages out), to run on our pool.
translate_one_request = WsgiToAsgiInstance.__dict__["run_wsgi_app"].func
access_logger = logging.getLogger("access")
# After refusing a body, read and drop up to this much of it before closing, so that a client
# still sending gets the 413 instead of a connection reset (nginx's "lingering close").
DISCARD_LIMIT = 8 * 1024 * 1024
# Response messages a pool thread may have posted before the loop has sent them: past this, the
# thread waits, so a streamed response cannot pile up in memory faster than the client reads it.
WINDOW = 16
# The end of a request's messages: the thread is done with it.
DONE = object()
# The server's event loop, as seen from the pool thread serving a request.
serving = threading.local()


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

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.items = collections.deque()
        self.doorbell = asyncio.Event()
        self.window = threading.Semaphore(WINDOW)
        self.closed = False

    def post(self, item) -> None:
        """In the thread: a message, an exception to raise on the loop, or DONE."""
        self.items.append(item)
        if len(self.items) == 1:  # the loop may be asleep; later items ride on the same wake-up
            self.loop.call_soon_threadsafe(self.doorbell.set)

    def send(self, message) -> None:
        """In the thread: asgiref's `sync_send`."""
        self.window.acquire()
        if self.closed:  # the loop stopped reading: end the response rather than wait forever
            raise ClientGone
        self.post(message)

    async def deliver(self, send, receive) -> None:
        """On the loop: send the thread's messages in order until it is done, or the client has
        gone. Neither server says so through `send` (it drops what is sent to a closed
        connection), so a long response also watches `receive` for the disconnect."""
        sent = 0
        watcher = None
        try:
            while True:
                await self.doorbell.wait()
                self.doorbell.clear()
                while self.items and not self.closed:
                    item = self.items.popleft()
                    if item is DONE:
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

    def client_gone(self, watcher: asyncio.Future) -> None:
        """The request's `receive` answered mid-response: only a disconnect can come then."""
        if not watcher.cancelled():
            watcher.exception()  # ClientGone, from checked_receive: retrieved, nothing to log
            self.closed = True
            self.doorbell.set()


class PooledInstance(WsgiToAsgiInstance):
    """One request: asgiref's translation, run on the adapter's thread pool."""

    def __init__(self, wsgi_application, executor: ThreadPoolExecutor):
        super().__init__(wsgi_application)
        self.executor = executor

    async def __call__(self, scope, receive, send):
        self.receive = receive  # for deliver, to hear of a client gone mid-response
        await super().__call__(scope, receive, send)

    async def run_wsgi_app(self, body):
        send = self.sync_send.awaitable  # the server's send, which asgiref wrapped for a thread
        outbox = Outbox(asyncio.get_running_loop())
        self.sync_send = outbox.send

        def in_thread():
            serving.loop = outbox.loop
            try:
                translate_one_request(self, body)
            except BaseException as error:  # raised again on the loop
                outbox.post(error)
            else:
                outbox.post(DONE)
            finally:
                serving.loop = None

        # Straight to the pool, no asyncio future; the request's context variables go with it,
        # as with asgiref's sync_to_async.
        self.executor.submit(contextvars.copy_context().run, in_thread)
        await outbox.deliver(send, self.receive)


def run_on_server_loop(func):
    """Flask's `async_to_sync` under this adapter: an `async def` view runs as a task on the
    server's loop while its pool thread waits, without asgiref's per-call executor and copies.

    The task runs in a copy of the thread's context, which is the request's, so Flask's request
    context is there; context variables the view sets stay in that copy (asgiref would copy them
    back). Outside a request the adapter serves (a thread a view started), asgiref's own.
    """

    @functools.wraps(func)
    def run(*args, **kwargs):
        loop = getattr(serving, "loop", None)
        if loop is None:
            return async_to_sync(func)(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(func(*args, **kwargs), loop).result()

    return run


class ThreadPoolWsgiToAsgi(WsgiToAsgi):
    def __init__(self, flask_app: Flask, max_threads: int):
        super().__init__(flask_app)
        self.max_body = flask_app.config["MAX_CONTENT_LENGTH"]  # None: no limit, as in Flask
        self.executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="flask")
        flask_app.async_to_sync = run_on_server_loop

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await no_startup_or_shutdown_work(receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close"})  # Flask speaks HTTP only: the server says 403
            return
        declared = declared_length(scope)
        if self.max_body is not None and declared is not None and declared > self.max_body:
            await reject_too_large(scope, receive, send)
            return
        try:
            instance = PooledInstance(self.wsgi_application, self.executor)
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


async def no_startup_or_shutdown_work(receive, send) -> None:
    """The lifespan protocol, for a server that always speaks it: nothing to start or stop."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


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

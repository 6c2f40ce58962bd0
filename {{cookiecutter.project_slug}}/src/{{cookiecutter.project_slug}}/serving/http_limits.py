{%- if cookiecutter.interface == "wsgi" -%}
"""gunicorn's limits on what a request sends before its body, in front of the app under Granian.

Granian bounds a request's head as a whole (its read buffer) and counts at most 100 fields, but
takes one long line or one huge header: Flask would get them all. This middleware applies
LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELDS and LIMIT_REQUEST_FIELD_SIZE (settings.HeaderLimits) to
the parsed request and answers 414 or 431 as gunicorn does, before the app sees the request.
A request framed both by Content-Length and by chunks needs nothing here: Granian's parser (hyper)
reads it by its chunks and closes the connection after the answer, as RFC 9112 section 6.3 asks,
so nothing can be smuggled behind it.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from ..settings import HeaderLimits

logger = logging.getLogger("_granian")
REASONS = {
    414: "Request-URI Too Long",
    431: "Request Header Fields Too Large",
}
# The characters a request target carries as they are; the others arrive percent-encoded.
TARGET_SAFE = "/:@!$&'()*+,;=-._~"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def request_fields(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's header fields, as WSGI keeps them: HTTP_*, and the two CGI names (the
    process environment already left out: granian_server.request_environ_only)."""
    return [
        (key.removeprefix("HTTP_").replace("_", "-"), value)
        for key, value in environ.items()
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    ]


def refusal(environ: dict[str, Any], limits: HeaderLimits) -> int | None:
    """The status that refuses this request, or None if it is within every limit."""
    fields = request_fields(environ)
    # As in the other modes, the line counts its target: "/path?query", encoded as sent.
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe=TARGET_SAFE)
    query = environ.get("QUERY_STRING", "")
    if len(path) + (len(query) + 1 if query else 0) > limits.request_line:
        return 414
    if len(fields) > limits.fields:
        return 431
    # Fields sent under one name arrive joined ("a,b"): each counts as one, as a proxy would send.
    if any(len(name) + 2 + len(value) > limits.field_size for name, value in fields):
        return 431
    return None


class LimitRequestHead:
    def __init__(self, app: WSGIApp, limits: HeaderLimits) -> None:
        self.app = app
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status = refusal(environ, self.limits)
        if status is None:
            return self.app(environ, start_response)
        logger.warning("Refused a request: %s", REASONS[status])
        body = REASONS[status].encode("ascii")
        start_response(
            f"{status} {REASONS[status]}",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]

{%- elif cookiecutter.asgi_server == "granian" -%}
"""gunicorn's limits on what a request sends before its body, in front of the app under Granian.

Granian bounds a request's head as a whole (its read buffer) and counts at most 100 fields, but
takes one long line or one huge header: the app would get them all. This middleware applies
LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELDS and LIMIT_REQUEST_FIELD_SIZE (settings.HeaderLimits) to
the parsed request, and answers 414 or 431 as gunicorn does, and as the uvicorn modes' parser
does, before the app sees the request. A request framed both by Content-Length and by chunks
never reaches it: Granian's parser (hyper) reads it by its chunks and closes the connection after
the answer, as RFC 9112 section 6.3 asks, so nothing can be smuggled behind it.
"""
{%- elif cookiecutter.asgi_server == "hypercorn" -%}
"""gunicorn's limits on what a request sends before its body, in front of the app under Hypercorn.

Hypercorn bounds a request's line and headers only as a whole, and only while they are incomplete
(h11_max_incomplete_size; HTTP/2: h2_max_header_list_size, set from these limits in
asgi_server.py): one long line, one huge header or a thousand small ones all pass. This middleware
applies LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELDS and LIMIT_REQUEST_FIELD_SIZE
(settings.HeaderLimits) to the parsed request, over HTTP/1.1 and HTTP/2 alike, and answers 414 or
431 as gunicorn does, and as the uvicorn modes' parser does, before the app sees the request.
It also refuses, with 400, a request framed both by Content-Length and by chunks, which Hypercorn's
parser (h11) would serve by its chunks while keeping the connection open.
"""
{%- endif %}
{%- if cookiecutter.asgi_server in ("hypercorn", "granian") %}

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..settings import HeaderLimits

logger = logging.getLogger("{{ 'hypercorn.error' if cookiecutter.asgi_server == 'hypercorn' else '_granian' }}")
REASONS = {
    400: "Bad Request",
    414: "Request-URI Too Long",
    431: "Request Header Fields Too Large",
}

# ASGI, as loosely as the servers and frameworks agree on it.
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


def refusal(scope: Message, limits: HeaderLimits) -> int | None:
    """The status that refuses this request, or None if it is within every limit."""
    names = {name for name, _ in scope["headers"]}
    if b"content-length" in names and b"transfer-encoding" in names:
        # Two framings: a proxy in front may have read the other one, so what follows the body
        # could be a smuggled request. RFC 9112 section 6.3: refuse, and close the connection.
        return 400
    query = scope["query_string"]
    # As in the uvicorn modes, the line counts its target: "/path?query".
    if len(scope["raw_path"]) + (len(query) + 1 if query else 0) > limits.request_line:
        return 414
    if len(scope["headers"]) > limits.fields:
        return 431
    if any(len(name) + 2 + len(value) > limits.field_size for name, value in scope["headers"]):
        return 431
    return None


class LimitRequestHead:
    def __init__(self, app: ASGIApp, limits: HeaderLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        status = refusal(scope, self.limits) if scope["type"] in ("http", "websocket") else None
        if status is None:
{%- if cookiecutter.asgi_server == "granian" %}
            if scope["type"] == "http":
                await self.app_answering_a_broken_body(scope, receive, send)
                return
{%- endif %}
            await self.app(scope, receive, send)
            return
        await self.refuse(scope, send, status)
{%- if cookiecutter.asgi_server == "granian" %}

    async def app_answering_a_broken_body(
        self, scope: Message, receive: Receive, send: Send
    ) -> None:
        """The app, with a 400 where Granian would answer 500: Granian tells the app that a body
        it cannot read (a chunk size that is not hex, say) is a client that has gone
        (http.disconnect), and answers 500 itself if the app then sends nothing. The client
        may still be there, and the fault is its request: it gets the 400 the other servers give.
        A disconnect after the whole body is a client that left: nobody to answer.
        """
        body_complete = broken_off = answered = False

        async def watched_receive() -> Message:
            nonlocal body_complete, broken_off
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                body_complete = True
            elif message["type"] == "http.disconnect" and not body_complete:
                broken_off = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, watched_receive, watched_send)
        if broken_off and not answered:
            await self.refuse(scope, send, 400)
{%- endif %}

    async def refuse(self, scope: Message, send: Send, status: int) -> None:
        logger.warning("Refused a request: %s", REASONS[status])
        body = REASONS[status].encode("ascii")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
        ]
        if scope.get("http_version") in ("1.0", "1.1"):
            headers.append((b"connection", b"close"))
        # A refused WebSocket handshake gets the same answer (the server's HTTP response extension).
        prefix = "websocket.http.response" if scope["type"] == "websocket" else "http.response"
        await send({"type": f"{prefix}.start", "status": status, "headers": headers})
        await send({"type": f"{prefix}.body", "body": body})
{%- elif cookiecutter.interface == "asgi" -%}
"""uvicorn's HTTP protocol with gunicorn's limits on what a request sends before its body.

uvicorn's httptools parser keeps every header a client sends, however many and however long:
memory a client can pin on each connection, with no bound. This protocol applies
LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELDS and LIMIT_REQUEST_FIELD_SIZE (settings.HeaderLimits) as
the parser goes, answers 414 or 431 as gunicorn does, and closes the connection. asgi_server.py
passes it to uvicorn by name, so every worker process imports it, and reads the limits, itself.
"""

import os

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ..settings import load_header_limits

LIMITS = load_header_limits(os.environ)
# The most one field (or the request line) may take before the parser hands it on, with room for
# the method, the HTTP version and optional spaces.
UNFINISHED_FIELD_LIMIT = max(LIMITS.field_size, LIMITS.request_line) + 64


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    refused: Refused | None = None
    # The current request's line and headers: bytes received, and bytes the parser has handed on
    # as the URL and complete header fields. httptools holds the difference, an unfinished field,
    # until it ends: that is what a slow or endless header would grow.
    in_headers = True
    header_bytes = 0
    parsed_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self.in_headers:
            end = data.find(b"\r\n\r\n")
            self.header_bytes += len(data) if end < 0 else end + 4  # a body is not a header
        # A refusal raised in a callback stops the parser, which uvicorn reports by calling
        # send_400_response: that sends the refusal instead.
        super().data_received(data)
        if self.in_headers and self.refused is None and not self.transport.is_closing():
            unfinished = self.header_bytes - self.parsed_bytes
            if self.header_bytes > LIMITS.header_section or unfinished > UNFINISHED_FIELD_LIMIT:
                self.refuse(Refused(431, "Request Header Fields Too Large"))

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self.parsed_bytes += len(url)
        if len(self.url) > LIMITS.request_line:
            raise self.remember(Refused(414, "Request-URI Too Long"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.parsed_bytes += len(name) + len(value) + 4  # "Name: value\r\n"
        if len(self.headers) >= LIMITS.fields:
            raise self.remember(Refused(431, "Request Header Fields Too Large"))
        if len(name) + 2 + len(value) > LIMITS.field_size:
            raise self.remember(Refused(431, "Request Header Fields Too Large"))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next request on this connection starts counting from its first byte.
        self.in_headers = True
        self.header_bytes = self.parsed_bytes = 0

    def remember(self, refused: Refused) -> Refused:
        self.refused = refused
        return refused

    def send_400_response(self, msg: str) -> None:
        if self.refused is None:
            super().send_400_response(msg)
        else:
            self.refuse(self.refused)

    def refuse(self, refused: Refused) -> None:
        """Answer as uvicorn answers a malformed request, with this status, and close."""
        self.logger.warning("Refused a request: %s", refused.reason)
        body = refused.reason.encode("ascii")
        content = [STATUS_LINE[refused.status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
{%- endif %}

"""uvicorn's HTTP protocol with gunicorn's limits on what a request sends before its body.

uvicorn's httptools parser keeps every header a client sends, however many and however long:
memory a client can pin on each connection, with no bound. This protocol applies
LIMIT_REQUEST_LINE, LIMIT_REQUEST_FIELDS and LIMIT_REQUEST_FIELD_SIZE (settings.HeaderLimits) as
the parser goes, answers 414 or 431 as gunicorn does, and closes the connection. asgi_server.py
passes it to uvicorn by name, so every worker process imports it, and reads the limits, itself.
"""

import os

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .settings import load_header_limits

LIMITS = load_header_limits(os.environ)


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    refused: Refused | None = None
    # Bytes received since the current request began, while its headers are incomplete.
    header_bytes = 0
    in_headers = True

    def data_received(self, data: bytes) -> None:
        if self.in_headers:
            self.header_bytes += len(data)
            if self.header_bytes > LIMITS.header_section:
                # A header still arriving: the parser would hold all of it before on_header.
                self.refuse(Refused(431, "Request Header Fields Too Large"))
                return
        # A refusal raised in a callback below stops the parser, which uvicorn reports by
        # calling send_400_response: that sends the refusal instead.
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_headers = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > LIMITS.request_line:
            raise self.remember(Refused(414, "Request-URI Too Long"))

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= LIMITS.fields:
            raise self.remember(Refused(431, "Request Header Fields Too Large"))
        if len(name) + 2 + len(value) > LIMITS.field_size:
            raise self.remember(Refused(431, "Request Header Fields Too Large"))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_headers = False
        self.header_bytes = 0
        super().on_headers_complete()

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

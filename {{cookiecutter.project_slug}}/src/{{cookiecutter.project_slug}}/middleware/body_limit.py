"""Request bodies Flask can trust: MAX_CONTENT_LENGTH for chunked uploads too, and no body that
stops short of its Content-Length.

Werkzeug enforces the limit on a declared Content-Length, but it stops reading a chunked body at
the limit without an error, so the view would see a silently truncated body. This WSGI middleware
reads such a body up to one byte past the limit: within it, the view gets the whole body with its
length declared; past it, the request declares that length and Flask answers its usual JSON 413.

The servers tell Werkzeug that they end each body themselves (wsgi.input_terminated), and they
do, but a client that hangs up halfway leaves a short body, which Flask would take for the whole
one (a truncated upload stored as if complete). DeclaredLength makes that a 400 instead.
"""

import io
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.wsgi import LimitedStream


def is_chunked(environ: WSGIEnvironment) -> bool:
    """A chunked body has no declared length (HTTP and Werkzeug ignore a Content-Length beside
    it), and the server ends it for us, so reading it cannot hang. Bodiless requests skip this."""
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


class ChunkedBodyLimit:
    def __init__(self, wsgi_app: WSGIApplication, max_length: int | None) -> None:
        self.wsgi_app = wsgi_app
        self.max_length = max_length

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.max_length is not None and is_chunked(environ):
            body = environ["wsgi.input"].read(self.max_length + 1)
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > self.max_length else body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is now sized
        return self.wsgi_app(environ, start_response)


class DeclaredLength:
    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH", "")
        if length.isdigit() and not is_chunked(environ):
            # Reading past the end of a shorter body raises ClientDisconnected: a 400.
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], int(length))
        return self.wsgi_app(environ, start_response)

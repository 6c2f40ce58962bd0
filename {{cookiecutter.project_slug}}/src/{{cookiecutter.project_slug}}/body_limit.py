"""MAX_CONTENT_LENGTH for request bodies sent without a Content-Length (chunked uploads).

Werkzeug enforces the limit on a declared Content-Length, but it stops reading a chunked body at
the limit without an error, so the view would see a silently truncated body. This WSGI middleware
reads such a body up to one byte past the limit: within it, the view gets the whole body with its
length declared; past it, the request declares that length and Flask answers its usual JSON 413.
"""

import io


def is_chunked(environ) -> bool:
    """A chunked body has no declared length (HTTP and Werkzeug ignore a Content-Length beside
    it), and the server ends it for us, so reading it cannot hang. Bodiless requests skip this."""
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


class ChunkedBodyLimit:
    def __init__(self, wsgi_app, max_length: int | None):
        self.wsgi_app = wsgi_app
        self.max_length = max_length

    def __call__(self, environ, start_response):
        if self.max_length is not None and is_chunked(environ):
            body = environ["wsgi.input"].read(self.max_length + 1)
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > self.max_length else body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is now sized
        return self.wsgi_app(environ, start_response)

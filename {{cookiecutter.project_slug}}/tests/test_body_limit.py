"""Chunked uploads (no Content-Length) get the same limit as declared ones, never a truncation;
a body that stops short of its Content-Length is refused, never taken for the whole."""

import io

import pytest
from werkzeug.exceptions import ClientDisconnected

from {{ cookiecutter.project_slug }}.middleware.body_limit import ChunkedBodyLimit, DeclaredLength


def unused_start_response(*args):
    raise AssertionError("the apps here answer nothing")


def seen_by_app(body: bytes, max_length: int, **environ):
    seen = {}

    def app(environ, start_response):
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        return []

    environ = {"wsgi.input": io.BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked", **environ}
    ChunkedBodyLimit(app, max_length)(environ, unused_start_response)
    return seen


def test_chunked_body_within_the_limit_reaches_the_app_whole():
    assert seen_by_app(b"x" * 100, 100) == {"length": "100", "body": b"x" * 100}


def test_chunked_body_past_the_limit_is_declared_too_long_and_not_passed_on():
    assert seen_by_app(b"x" * 5000, 100) == {"length": "101", "body": b""}


def test_declared_length_is_left_to_werkzeug():
    environ = {"CONTENT_LENGTH": "5000", "HTTP_TRANSFER_ENCODING": ""}
    assert seen_by_app(b"x" * 5000, 100, **environ) == {"length": "5000", "body": b"x" * 5000}


def test_chunked_upload_over_the_limit_is_a_json_413(client):
    response = client.post(
        "/echo",
        input_stream=io.BytesIO(b'{"a": 1}' + b" " * 2048),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 413
    assert response.json == {"error": {"code": 413, "message": "Request Entity Too Large"}}


def read_through_declared_length(body: bytes, declared: int) -> bytes:
    seen: dict[str, bytes] = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read()
        return []

    environ = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(declared)}
    DeclaredLength(app)(environ, unused_start_response)
    return seen["body"]


def test_a_body_as_long_as_declared_reaches_the_app():
    assert read_through_declared_length(b'{"name": "x"}', 13) == b'{"name": "x"}'


def test_a_body_shorter_than_declared_is_a_400_not_a_shorter_body():
    # What gunicorn hands over when the client hangs up after 13 of 100 bytes.
    with pytest.raises(ClientDisconnected) as raised:
        read_through_declared_length(b'{"name": "x"}', 100)
    assert raised.value.code == 400

"""Hostile JSON bodies get a 400 that says why, never a 500 (strict_json.py)."""

import json

import pytest
{%- if cookiecutter.__framework == "flask" %}
from flask import request
from werkzeug.exceptions import UnsupportedMediaType
{%- endif %}

from {{ cookiecutter.project_slug }}.middleware.strict_json import MAX_DEPTH, too_deep


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (nested(100_000).encode(), "nested deeper than"),
        (nested_objects(100_000).encode(), "nested deeper than"),
        (('{"a": ' + nested(MAX_DEPTH) + "}").encode(), "nested deeper than"),
        (b'{"name": "caf\xe9"}', "utf-8"),  # Latin-1
        ('{"name": "x"}'.encode("utf-16"), "utf-8"),
        ('{"name": "x"}'.encode("utf-32"), "utf-8"),
        ('{"name": "x"}'.encode("utf-8-sig"), "BOM"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1e999999}', "out of range"),
        (b'{"a": ' + b"9" * 5000 + b"}", "a number has more than 4300 digits"),
        (b'{"a": 1', "Expecting"),
        # An unclosed string of escaped quotes after many brackets: a backtracking scan for the
        # depth would take minutes on it.
        (b"[]" * 101 + b'"' + b'\\"' * 50_000, "line 1"),
    ],
    ids=[
        "arrays-100000-deep",
        "objects-100000-deep",
        "one-level-too-deep",
        "latin-1",
        "utf-16",
        "utf-32",
        "utf-8-bom",
        "nan",
        "minus-infinity",
        "float-overflow",
        "5000-digit-integer",
        "truncated",
        "unclosed-string-of-escapes",
    ],
)
def test_a_hostile_body_is_a_400_that_says_why(app, client, body, reason):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # the production default, room for them all
    response = client.post("/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert message.startswith("the request body is not valid JSON")
    assert reason.lower() in message.lower()


def test_nesting_up_to_the_limit_is_accepted(client):
    body = {"a": json.loads(nested(MAX_DEPTH - 1))}
    response = client.post("/echo", json=body)
    assert response.status_code == 200
    assert response.json == body


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[" * 500, "b": ["{" * 500, '\\"[[['], "c": [[["ok"]]]})
    assert not too_deep(text)
    assert too_deep(json.dumps({"a": "]" * 500, "b": json.loads(nested(MAX_DEPTH + 1))}))


def test_numbers_and_unicode_that_are_json_still_parse(client):
    body = {"big": 10**300, "small": 1.5e-300, "name": "Zoë 東京 \U0001f600", "list": [1.5, None]}
    response = client.post("/echo", json=body)
    assert response.status_code == 200
    assert response.json == body
{%- if cookiecutter.__framework == "flask" %}


def test_a_body_not_sent_as_json_is_still_flasks_415(app):
    context = app.test_request_context("/", method="POST", data="x", content_type="text/plain")
    with context, pytest.raises(UnsupportedMediaType):
        request.get_json()
{%- endif %}

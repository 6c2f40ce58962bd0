import json
import logging
import sys
from typing import Any

from {{ cookiecutter.project_slug }}.middleware.logs import JsonFormatter


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_formatter_writes_one_json_object_with_extras():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.request_id = "r1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING"
    assert entry["request_id"] == "r1"
    assert entry["time"].endswith("+00:00")


def test_formatter_includes_the_exception():
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "oops", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad" in entry["exception"]


def test_each_request_writes_a_json_access_log_line(client, capsys):
    client.get("/slow?seconds=0", headers={"X-Request-ID": "trace-7"})
    lines = [e for e in json_lines(capsys.readouterr().out) if e["logger"] == "access"]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["request_id"] == "trace-7"
    assert entry["method"] == "GET"
    assert entry["path"] == "/slow"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0


def test_unhandled_error_is_logged_with_its_request_id(app, client, capsys):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    client.get("/boom", headers={"X-Request-ID": "trace-9"})
    errors = [e for e in json_lines(capsys.readouterr().out) if e["level"] == "ERROR"]
    assert errors[0]["request_id"] == "trace-9"
    assert "RuntimeError: kaput" in errors[0]["exception"]

{%- if cookiecutter.__framework == "quart" -%}
import asyncio
import json
from dataclasses import dataclass

{% endif -%}
import pytest

from {{ cookiecutter.project_slug }} import create_app


@pytest.fixture
def app(monkeypatch):
    # Tests run as APP_ENV=test whatever the developer's shell says, with small limits.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"TESTING": True, "SLOW_MAX_SECONDS": 2.0, "MAX_CONTENT_LENGTH": 1024}
{%- if cookiecutter.__framework == "quart" %}
    config["WS_MAX_MESSAGE_BYTES"] = 64
{%- endif %}
    return create_app(config)
{%- if cookiecutter.__framework == "quart" %}


@dataclass
class Response:
    status_code: int
    headers: dict
    data: bytes

    @property
    def json(self):
        return json.loads(self.data)


class SyncClient:
    """Quart's test client, driven to completion call by call, so that the HTTP tests read the
    same as a Flask project's. WebSocket tests use Quart's async client directly."""

    def __init__(self, app):
        self.client = app.test_client()
        self.loop = asyncio.new_event_loop()

    def open(self, path, method, *, content_type=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        response = self.loop.run_until_complete(
            self.client.open(path, method=method, headers=headers, **kwargs)
        )
        data = self.loop.run_until_complete(response.get_data())
        return Response(response.status_code, response.headers, data)

    def get(self, path, **kwargs):
        return self.open(path, "GET", **kwargs)

    def post(self, path, **kwargs):
        return self.open(path, "POST", **kwargs)

    def delete(self, path, **kwargs):
        return self.open(path, "DELETE", **kwargs)

    def close(self):
        self.loop.close()


@pytest.fixture
def client(app):
    client = SyncClient(app)
    yield client
    client.close()
{%- else %}


@pytest.fixture
def client(app):
    return app.test_client()
{%- endif %}

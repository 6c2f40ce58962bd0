{%- if cookiecutter.__framework == "quart" -%}
import asyncio
import json
{% endif -%}
{%- if cookiecutter.database == "postgresql" -%}
import os
{% endif -%}
{%- if cookiecutter.__framework == "quart" -%}
from dataclasses import dataclass
{% endif -%}
{%- if cookiecutter.__framework == "quart" or cookiecutter.database == "postgresql" %}
{% endif -%}
import pytest
{%- if cookiecutter.database != "none" %}
from sqlalchemy import create_engine
{%- endif %}

from {{ cookiecutter.project_slug }} import create_app
{%- if cookiecutter.database != "none" %}
from {{ cookiecutter.project_slug }}.database.models import Base
{%- endif %}
{%- if cookiecutter.database == "postgresql" %}
from {{ cookiecutter.project_slug }}.settings import DEFAULT_DATABASE_URL, parse_database_url

# Tests drop and create tables: they run only on a database named for them, never DATABASE_URL.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
{%- endif %}
{%- if cookiecutter.database != "none" %}


@pytest.fixture
def database_url(tmp_path):
{%- if cookiecutter.database == "sqlite" %}
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"
{%- else %}
    return parse_database_url(TEST_DATABASE_URL or DEFAULT_DATABASE_URL)
{%- endif %}


@pytest.fixture
def database(database_url):
    """An empty schema for one test, dropped after it: tests never see each other's rows."""
{%- if cookiecutter.database == "postgresql" %}
    if not TEST_DATABASE_URL:
        pytest.skip("set TEST_DATABASE_URL=postgresql://... (a disposable database) for these")
{%- endif %}
    engine = create_engine(database_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()
{%- endif %}


@pytest.fixture
def app(monkeypatch{% if cookiecutter.database != "none" %}, database_url{% endif %}):
    # Tests run as APP_ENV=test whatever the developer's shell says, with small limits.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"TESTING": True, "SLOW_MAX_SECONDS": 2.0, "MAX_CONTENT_LENGTH": 1024}
{%- if cookiecutter.__framework == "quart" %}
    config["WS_MAX_MESSAGE_BYTES"] = 64
{%- endif %}
{%- if cookiecutter.database != "none" %}
    config["DATABASE_URL"] = database_url
{%- endif %}
    return create_app(config)
{%- if cookiecutter.__framework == "quart" %}


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    data: bytes

    @property
    def json(self):
        return json.loads(self.data)


class SyncClient:
    """Quart's test client, driven to completion call by call, so that the HTTP tests read the
    same as a Flask project's. The app starts and stops as under a server (before_serving and
    after_serving run), on the one event loop the requests use. WebSocket tests use Quart's async
    client directly."""

    def __init__(self, app):
        self.loop = asyncio.new_event_loop()
        self.test_app = app.test_app()
        self.loop.run_until_complete(self.test_app.startup())
        self.client = self.test_app.test_client()

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

    def patch(self, path, **kwargs):
        return self.open(path, "PATCH", **kwargs)

    def delete(self, path, **kwargs):
        return self.open(path, "DELETE", **kwargs)

    def close(self):
        self.loop.run_until_complete(self.test_app.shutdown())
        self.loop.close()


@pytest.fixture
def client(app):
    client = SyncClient(app)
    yield client
    client.close()


@pytest.fixture
def client_for():
    """A client for an app the test builds itself, started and stopped like `client`."""
    clients = []

    def start(app):
        clients.append(SyncClient(app))
        return clients[-1]

    yield start
    for client in clients:
        client.close()
{%- else %}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def client_for():
    """A client for an app the test builds itself."""
    return lambda app: app.test_client()
{%- endif %}

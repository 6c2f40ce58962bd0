{%- set oidc = cookiecutter.auth == "oidc" -%}
{%- set quart = cookiecutter.__framework == "quart" -%}
{%- if quart -%}
import asyncio
import json
{% endif -%}
{%- if cookiecutter.database == "postgresql" -%}
import os
{% endif -%}
{%- if oidc -%}
import time
{% endif -%}
{%- if quart -%}
from dataclasses import dataclass
{% endif -%}
{%- if oidc -%}
from typing import Any
{% endif -%}
{%- if quart or oidc or cookiecutter.database == "postgresql" %}
{% endif -%}
{%- if oidc -%}
import jwt
{% endif -%}
import pytest
{%- if cookiecutter.database != "none" %}
from sqlalchemy import create_engine
{%- endif %}

from {{ cookiecutter.project_slug }} import create_app
{%- if cookiecutter.database != "none" %}
from {{ cookiecutter.project_slug }}.database.models import Base
{%- endif %}
{%- if oidc %}
from {{ cookiecutter.project_slug }}.middleware.auth.local_key import LocalKeys
{%- endif %}
{%- if cookiecutter.database == "postgresql" and oidc %}
from {{ cookiecutter.project_slug }}.settings import (
    DEFAULT_DATABASE_URL,
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    parse_database_url,
)
{%- elif cookiecutter.database == "postgresql" %}
from {{ cookiecutter.project_slug }}.settings import DEFAULT_DATABASE_URL, parse_database_url
{%- elif oidc %}
from {{ cookiecutter.project_slug }}.settings import LOCAL_AUDIENCE, LOCAL_ISSUER
{%- endif %}
{%- if oidc %}

# The scopes a token needs for every operation of the sample API.
ALL_SCOPES = "{% if cookiecutter.database != "none" %}items:read items:write{% endif %}"
{%- endif %}
{%- if cookiecutter.database == "postgresql" %}

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


{%- if cookiecutter.auth == "oidc" %}


@pytest.fixture(scope="session")
def local_key_file(tmp_path_factory):
    """The local key the app trusts under APP_ENV=test, one for the whole run."""
    return tmp_path_factory.mktemp("auth") / "local-signing-key.pem"


@pytest.fixture
def token(local_key_file):
    """A token signed with the local key: valid and with every scope unless told otherwise.
    A claim given as None is left out; `header` adds to (or replaces) the JOSE header."""

    def sign(scope: str = ALL_SCOPES, header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        defaults = {
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "sub": "tester",
            "scope": scope,
            "nbf": now,
            "exp": now + 300,
        }
        payload = {
            name: value for name, value in {**defaults, **claims}.items() if value is not None
        }
        keys = LocalKeys(local_key_file)
        headers = {"kid": keys.kid, **(header or {})}
        return jwt.encode(payload, keys.private, algorithm="ES256", headers=headers)

    return sign
{%- endif %}


@pytest.fixture
def app(monkeypatch{% if cookiecutter.database != "none" %}, database_url{% endif %}{% if cookiecutter.auth == "oidc" %}, local_key_file{% endif %}):
    # Tests run as APP_ENV=test whatever the developer's shell says, with small limits.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("SECRET_KEY", raising=False)
{%- if cookiecutter.auth == "oidc" %}
    # The local key stands in for the provider (middleware/auth/local_key.py).
    for name in ("OIDC_ISSUER", "OIDC_AUDIENCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OIDC_LOCAL_KEY_FILE", str(local_key_file))
{%- endif %}
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

    def __init__(self, app, headers=None):
        self.default_headers = dict(headers or {})
        self.loop = asyncio.new_event_loop()
        self.test_app = app.test_app()
        self.loop.run_until_complete(self.test_app.startup())
        self.client = self.test_app.test_client()

    def open(self, path, method, *, content_type=None, headers=None, **kwargs):
        headers = {**self.default_headers, **(headers or {})}
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
def client(app{% if cookiecutter.auth == "oidc" %}, token{% endif %}):
{%- if cookiecutter.auth == "oidc" %}
    # Every scope: the other tests are about what the views do; test_auth.py is about who may.
    client = SyncClient(app, {"Authorization": f"Bearer {token()}"})
{%- else %}
    client = SyncClient(app)
{%- endif %}
    yield client
    client.close()


@pytest.fixture
def client_for({% if cookiecutter.auth == "oidc" %}token{% endif %}):
    """A client for an app the test builds itself, started and stopped like `client`."""
    clients = []

    def start(app):
{%- if cookiecutter.auth == "oidc" %}
        clients.append(SyncClient(app, {"Authorization": f"Bearer {token()}"}))
{%- else %}
        clients.append(SyncClient(app))
{%- endif %}
        return clients[-1]

    yield start
    for client in clients:
        client.close()
{%- elif cookiecutter.auth == "oidc" %}


@pytest.fixture
def client_for(token):
    """A client for an app the test builds itself, with a token of every scope: the other tests
    are about what the views do; test_auth.py is about who may call them."""

    def with_token(app):
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token()}"
        return client

    return with_token


@pytest.fixture
def client(app, client_for):
    return client_for(app)
{%- else %}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def client_for():
    """A client for an app the test builds itself."""
    return lambda app: app.test_client()
{%- endif %}

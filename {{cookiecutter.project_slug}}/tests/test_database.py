"""The data layer under stress: pool exhaustion, an unreachable database, settings, SQLite setup."""

{% if cookiecutter.__framework == "quart" -%}
import asyncio
{% endif -%}
{% if cookiecutter.database == "postgresql" -%}
import socket
{% endif -%}
import time
from contextlib import contextmanager

import pytest
{%- if cookiecutter.database == "sqlite" %}
from sqlalchemy import text
{%- endif %}

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.middleware.readiness import add_readiness_check
from {{ cookiecutter.project_slug }}.settings import SettingsError, load_database_settings


{% if cookiecutter.database == "postgresql" -%}
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def unreachable_url():
    """A database nobody listens for: connections are refused at once."""
    return f"postgresql+psycopg://app:secret@127.0.0.1:{closed_port()}/app"
{%- else -%}
@pytest.fixture
def unreachable_url(tmp_path):
    """A database file SQLite cannot open: its path is a directory."""
    (tmp_path / "not-a-file").mkdir()
    return f"sqlite:///{tmp_path / 'not-a-file'}"
{%- endif %}


@pytest.fixture
def down_client(app, unreachable_url, client_for):
    app.config["DATABASE_URL"] = unreachable_url
    return client_for(create_app(app.config))


def test_liveness_never_touches_the_database(down_client):
    assert down_client.get("/healthz").status_code == 200


def test_readiness_names_the_database_when_it_is_down(down_client):
    response = down_client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert list(response.json["failed"]) == ["database"]
    assert "secret" not in response.data.decode()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/items", None), ("POST", "/items", {"name": "Widget"}), ("GET", "/items/1", None)],
)
def test_requests_that_need_the_database_get_503_json_while_it_is_down(
    down_client, method, path, body
):
    response = down_client.open(path, method=method, json=body)
    assert response.status_code == 503
    assert response.json["error"]["code"] == 503
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.usefixtures("database")
def test_readiness_is_ready_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": ["database"]}


@contextmanager
def only_connection_held(app, client):
    """Check out the pool's only connection for the duration, as a long request would."""
    engine = app.extensions["database"].engine
{%- if cookiecutter.__framework == "quart" %}
    held = client.loop.run_until_complete(engine.connect())
    try:
        yield
    finally:
        client.loop.run_until_complete(held.close())
{%- else %}
    with engine.connect():
        yield
{%- endif %}


@pytest.mark.usefixtures("database")
def test_an_exhausted_pool_answers_503_after_the_pool_timeout(app, client_for):
    app.config.update(DATABASE_POOL_SIZE=1, DATABASE_POOL_TIMEOUT=0.2)
    app = create_app(app.config)
    client = client_for(app)
    with only_connection_held(app, client):
        started = time.perf_counter()
        response = client.get("/items")
        waited = time.perf_counter() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "busy" in response.json["error"]["message"]
    assert 0.2 <= waited < 5
    assert client.get("/items").status_code == 200  # the connection is back: served again


@pytest.mark.usefixtures("database")
def test_a_busy_pool_is_not_an_outage_for_readiness(app, client_for):
    app.config.update(DATABASE_POOL_SIZE=1, DATABASE_POOL_TIMEOUT=3)
    app = create_app(app.config)
    client = client_for(app)
    with only_connection_held(app, client):
        response = client.get("/readyz")
    assert response.status_code == 200


def test_a_hung_readiness_check_fails_within_about_a_second(app, client_for):
{%- if cookiecutter.__framework == "quart" %}

    async def hangs():
        await asyncio.sleep(10)
{%- else %}

    def hangs():
        time.sleep(3)
{%- endif %}

    add_readiness_check(app, "cache", hangs)
    client = client_for(app)
    started = time.perf_counter()
    response = client.get("/readyz")
    assert time.perf_counter() - started < 2.5
    assert response.status_code == 503
    assert response.json["failed"]["cache"] == "no answer within 1 s"
{%- if cookiecutter.database == "postgresql" %}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u:p@db/app", "postgresql+psycopg://u:p@db/app"),
        ("postgresql+psycopg://u:p@db/app", "postgresql+psycopg://u:p@db/app"),
    ],
)
def test_database_url_takes_the_forms_providers_hand_out(given, expected):
    settings = load_database_settings({"APP_ENV": "production", "DATABASE_URL": given})
    assert settings.url == expected


def test_database_url_is_required_in_production():
    with pytest.raises(SettingsError, match="DATABASE_URL is required in production"):
        load_database_settings({"APP_ENV": "production"})


def test_development_has_a_local_default():
    url = load_database_settings({"APP_ENV": "development"}).url
    assert url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter2@db:notaport/app",
        "hunter2",
        "mysql://u:hunter2@db/app",
        "postgresql://u:hunter2@/app",
        "postgresql://u:hunter2@db",
    ],
)
def test_a_malformed_database_url_is_refused_without_showing_the_password(url):
    with pytest.raises(SettingsError, match="DATABASE_URL") as raised:
        load_database_settings({"APP_ENV": "production", "DATABASE_URL": url})
    assert "hunter2" not in str(raised.value)
{%- else %}


def test_the_default_database_is_a_file_under_data():
    settings = load_database_settings({"APP_ENV": "production"})
    assert settings.url == "sqlite:///data/{{ cookiecutter.project_slug }}.sqlite3"


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "postgresql://u:hunter2@db/app", "hunter2"]
)
def test_a_database_url_sqlite_cannot_serve_is_refused(url):
    with pytest.raises(SettingsError, match="DATABASE_URL") as raised:
        load_database_settings({"DATABASE_URL": url})
    assert "hunter2" not in str(raised.value)


def test_the_data_directory_is_created_when_needed(tmp_path, app, client_for):
    app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'new' / 'dir' / 'app.sqlite3'}"
    client = client_for(create_app(app.config))
    assert client.get("/readyz").status_code == 200
    assert (tmp_path / "new" / "dir" / "app.sqlite3").exists()


@pytest.mark.usefixtures("database")
def test_sqlite_connections_are_set_up_for_several_processes(app, client_for):
{%- if cookiecutter.__framework == "quart" %}
    client = client_for(app)
    engine = app.extensions["database"].engine

    async def pragmas():
        async with engine.connect() as connection:
            return [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            ]

    values = client.loop.run_until_complete(pragmas())
{%- else %}
    with app.extensions["database"].engine.connect() as connection:
        values = [
            connection.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
{%- endif %}
    assert values == ["wal", 5000, 1]
{%- endif %}


def test_pool_settings_come_from_the_environment():
    settings = load_database_settings(
        {"DATABASE_POOL_SIZE": "3", "DATABASE_POOL_TIMEOUT": "0.5", "APP_ENV": "development"}
    )
    assert (settings.pool_size, settings.pool_timeout) == (3, 0.5)
    with pytest.raises(SettingsError, match="DATABASE_POOL_SIZE"):
        load_database_settings({"DATABASE_POOL_SIZE": "0", "APP_ENV": "development"})

"""The engine: one per process, made from the settings, with a bounded pool.

{% if cookiecutter.__framework == "quart" -%}
Quart serves every request on the event loop, so the engine is async ({% if cookiecutter.database == "sqlite" %}aiosqlite{% else %}psycopg 3's async mode{% endif %}):
a request that waits for the database holds no thread.
{%- elif cookiecutter.interface == "wsgi" -%}
{{ "Granian" if cookiecutter.__server == "granian" else "gunicorn" }} runs each request on a thread, so the engine is synchronous and the pool is sized from
the worker's thread count.
{%- else -%}
A sync engine, though the server is ASGI: the adapter runs every Flask request on a pool thread,
and that thread is held for the whole request even while an `async def` view awaits, so an async
engine buys no extra concurrency. Its pool also belongs to the loop that made it, and under
`flask run` and the test client every `async def` call gets a new loop ("attached to a different
loop"). A sync engine behaves the same under all three; the template's benchmark measured it
faster on SQLite, and an async engine on the server's loop about 20% faster on PostgreSQL reads.
{%- endif %}
"""

{% if cookiecutter.database == "sqlite" -%}
import os
import time
from pathlib import Path

{% if cookiecutter.__framework == "quart" -%}
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
{%- else -%}
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
{%- endif %}
{%- elif cookiecutter.__framework == "quart" -%}
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
{%- else -%}
from sqlalchemy import Engine, create_engine
{%- endif %}
from sqlalchemy.pool import {% if cookiecutter.database == "sqlite" %}ConnectionPoolEntry, {% endif %}NullPool

{% if cookiecutter.database == "sqlite" -%}
SQLITE_PRAGMAS = (
    # Write-ahead log: readers and the one writer no longer block each other, across processes.
    "PRAGMA journal_mode=WAL",
    # A writer waits up to 5 s for another process's write instead of failing "database is locked".
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    # With WAL this is safe (a power cut may lose the last commits, never corrupt the file).
    "PRAGMA synchronous=NORMAL",
)


def prepare_sqlite_connection(
    dbapi_connection: DBAPIConnection, _connection_record: ConnectionPoolEntry
) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()
    # sleep(seconds): SQLite's stand-in for PostgreSQL's pg_sleep, for the /slow-query demo.
    dbapi_connection.create_function("sleep", 1, time.sleep)


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database:  # parse_database_url refuses such a URL; a config passed to create_app may not
        raise ValueError("the SQLite URL names no database file")
    return Path(database)


def create_sqlite_file(url: str) -> None:
    """Create the database file, and its directory, on first use: readable and writable by the
    group, so any user id of the group can use it (OpenShift runs the image as a random user id in
    group 0). SQLite gives the -wal and -shm files the database file's mode."""
    path = sqlite_file(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o660)
    except FileExistsError:
        return
    try:
        os.fchmod(descriptor, 0o660)  # whatever the umask
    finally:
        os.close(descriptor)


{% else %}
{% endif -%}
{% if cookiecutter.__framework == "quart" -%}
def async_url(url: str) -> str:
    """The same database through the async driver."""
{%- if cookiecutter.database == "sqlite" %}
    return make_url(url).set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
{%- else %}
    return url  # psycopg 3 is sync and async; SQLAlchemy picks its async mode itself
{%- endif %}


def make_engine(url: str, pool_size: int, pool_timeout: float) -> AsyncEngine:
{%- else -%}
def make_engine(url: str, pool_size: int, pool_timeout: float) -> Engine:
{%- endif %}
{%- if cookiecutter.database == "sqlite" %}
    # Zero setup: the data directory and the file appear on first use.
    create_sqlite_file(url)
{%- endif %}
    engine = {% if cookiecutter.__framework == "quart" %}create_async_engine{% else %}create_engine{% endif %}(
        {% if cookiecutter.__framework == "quart" %}async_url(url){% else %}url{% endif %},
        pool_size=pool_size,
        # A hard cap: WEB_CONCURRENCY x pool_size connections at most, whatever the load.
        max_overflow=0,
        # Past this wait for a free connection the request gets a 503 with Retry-After.
        pool_timeout=pool_timeout,
        # Test each connection as it leaves the pool: after a database restart the dead
        # connections are replaced instead of failing one request each.
        pool_pre_ping=True,
{%- if cookiecutter.database == "postgresql" %}
        # A database host that does not answer fails a request in seconds, not minutes.
        connect_args={"connect_timeout": 5},
{%- endif %}
    )
{%- if cookiecutter.database == "sqlite" %}
    event.listen({% if cookiecutter.__framework == "quart" %}engine.sync_engine{% else %}engine{% endif %}, "connect", prepare_sqlite_connection)
    return engine
{%- else %}
    return engine  # noqa: RET504 - one place to add event listeners
{%- endif %}


def make_probe_engine(url: str) -> {% if cookiecutter.__framework == "quart" %}AsyncEngine{% else %}Engine{% endif %}:
    """For readiness: a fresh connection per probe, outside the pool. A pool busy with requests is
    not an outage, and must not take every replica out of rotation at once."""
    return {% if cookiecutter.__framework == "quart" %}create_async_engine{% else %}create_engine{% endif %}(
        {% if cookiecutter.__framework == "quart" %}async_url(url){% else %}url{% endif %},
        poolclass=NullPool,
{%- if cookiecutter.database == "postgresql" %}
        connect_args={"connect_timeout": 5},
{%- endif %}
    )

"""The engine for the app, and a session per request: opened on first use, closed at teardown.

{% if cookiecutter.__framework == "quart" -%}
The async engine is made when the server starts (before_serving) and disposed when it stops, on
the event loop that serves the requests: an async pool belongs to the loop that created it.
{%- else -%}
The engine is made with the app: each server process imports the app, so each has its own pool.
{%- endif %}
"""

{% if cookiecutter.__framework == "quart" -%}
import asyncio
{% endif -%}
import time
{%- if cookiecutter.__framework == "quart" %}
from collections.abc import Awaitable, Callable
{%- else %}
from collections.abc import Callable
{%- endif %}
from dataclasses import dataclass

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}, current_app, g
{%- if cookiecutter.__framework == "quart" %}
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
{%- else %}
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
{%- endif %}

from .engine import make_engine, make_probe_engine


@dataclass(frozen=True)
class Database:
{%- if cookiecutter.__framework == "quart" %}
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    probe: AsyncEngine  # readiness only: see make_probe_engine
{%- else %}
    engine: Engine
    sessions: sessionmaker[Session]
    probe: Engine  # readiness only: see make_probe_engine
{%- endif %}


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
{%- if cookiecutter.__framework == "quart" %}
    app.before_serving(open_database)
    app.after_serving(close_database)
{%- else %}
    open_database(app)
{%- endif %}
    app.teardown_appcontext(close_session)


{% if cookiecutter.__framework == "quart" -%}
def readiness_check(app: {{ cookiecutter.__app_class }}) -> Callable[[], Awaitable[None]]:
    """What /readyz runs (the factory registers it): a query on the probe engine."""
    return ping
{%- else -%}
def readiness_check(app: {{ cookiecutter.__app_class }}) -> Callable[[], None]:
    """What /readyz runs (the factory registers it): a query on the probe engine. The check runs
    on another thread, outside the app context, so it holds the engine itself."""
    probe = app.extensions["database"].probe
    return lambda: ping(probe)
{%- endif %}

{% if cookiecutter.__framework == "quart" %}
async def open_database() -> None:
    config = current_app.config
    engine = make_engine(
        config["DATABASE_URL"], config["DATABASE_POOL_SIZE"], config["DATABASE_POOL_TIMEOUT"]
    )
    # Objects stay readable after commit: views serialise them once the session is done.
    current_app.extensions["database"] = Database(
        engine,
        async_sessionmaker(engine, expire_on_commit=False),
        make_probe_engine(config["DATABASE_URL"]),
    )


async def close_database() -> None:
    database = current_app.extensions.pop("database", None)
    if database is not None:
        await database.engine.dispose()
        await database.probe.dispose()


async def get_session() -> AsyncSession:
    """This request's session, with a connection checked out (timed for the access log)."""
    session: AsyncSession | None = g.get("db_session")
    if session is None:
        started = time.perf_counter()
        database: Database = current_app.extensions["database"]
        session = database.sessions()
        try:
            await session.connection()
        except BaseException:
            await session.close()
            raise
        g.db_wait_ms = round((time.perf_counter() - started) * 1000, 2)
        g.db_session = session
    return session


async def close_session(_error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # A client that hangs up cancels its request. The rollback that returns the connection to
        # the pool must finish all the same, or the connection is lost (with a logged traceback).
        await asyncio.shield(session.close())


async def ping() -> None:
    async with current_app.extensions["database"].probe.connect() as connection:
        await connection.execute(text("SELECT 1"))
{%- else %}
def open_database(app: {{ cookiecutter.__app_class }}) -> Database:
    config = app.config
    engine = make_engine(
        config["DATABASE_URL"], config["DATABASE_POOL_SIZE"], config["DATABASE_POOL_TIMEOUT"]
    )
    # Objects stay readable after commit: views serialise them once the session is done.
    database = Database(
        engine,
        sessionmaker(engine, expire_on_commit=False),
        make_probe_engine(config["DATABASE_URL"]),
    )
    app.extensions["database"] = database
    return database


def get_session() -> Session:
    """This request's session, with a connection checked out (timed for the access log)."""
    session: Session | None = g.get("db_session")
    if session is None:
        started = time.perf_counter()
        database: Database = current_app.extensions["database"]
        session = database.sessions()
        try:
            session.connection()
        except BaseException:
            session.close()
            raise
        g.db_wait_ms = round((time.perf_counter() - started) * 1000, 2)
        g.db_session = session
    return session


def close_session(_error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
{%- endif %}

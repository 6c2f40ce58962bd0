"""The design the ASGI + Flask mode did not take, measured beside the one it did.

The generated ASGI + Flask project reads with a sync engine in plain `def` views. The obvious
alternative is `async def` views on an async engine: under the adapter each view is awaited on the
worker's event loop, so one async pool per worker loop serves every request. This app swaps the
two database views for exactly that, at the same paths, so the same wrk runs compare them.
"""

import dataclasses

from .database_setups import DatabaseSetup
from .processes import run

ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "psycopg"}
ASYNC_ENGINE_APP = '''
import asyncio

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from {slug}.database import engine as generated
from {slug}.database.models import Item
from {slug}.queries.demo import SLEEP
from {slug}.schemas.items import ItemOut
from bench_app import app, asgi  # noqa: F401 - the generated app behind the generated adapter

engines = {{}}


def session() -> AsyncSession:
    """A session on this event loop's own async pool (the worker's loop, under the adapter)."""
    loop = asyncio.get_running_loop()
    if loop not in engines:
        url = make_url(app.config["DATABASE_URL"])
        sqlite = url.drivername == "sqlite"
        engine = create_async_engine(
            url.set(drivername="sqlite+aiosqlite") if sqlite else url,
            pool_size=app.config["DATABASE_POOL_SIZE"],
            max_overflow=0,
            pool_timeout=app.config["DATABASE_POOL_TIMEOUT"],
            pool_pre_ping=True,
        )
        if sqlite:  # the same pragmas and sleep() as the generated engine
            event.listen(engine.sync_engine, "connect", generated.prepare_sqlite_connection)
        engines[loop] = engine
    return AsyncSession(engines[loop], expire_on_commit=False)


async def get_item(item_id):
    async with session() as db:
        item = await db.get(Item, item_id)
    if item is None:
        return {{"error": {{"code": 404, "message": "Not Found"}}}}, 404
    return ItemOut.model_validate(item).model_dump(mode="json")


async def slow_query():
    async with session() as db:
        await db.execute(SLEEP, {{"seconds": 0.05}})
    return {{"slept": 0.05}}


app.view_functions["items.get_item"] = get_item
app.view_functions["demo.slow_query"] = slow_query
'''
# Only the reads that show the difference: one indexed read, one query that holds a connection.
COMPARED = ("get_item", "slow_query")


def async_engine_setup(base: DatabaseSetup) -> DatabaseSetup:
    """The ASGI + Flask setup, serving the async-engine views instead of the generated ones."""
    project, venv = base.cwd, base.venv
    (project / "async_engine_app.py").write_text(ASYNC_ENGINE_APP.format(slug=project.name))
    # The async driver and greenlet are not the Flask project's dependencies.
    driver = ASYNC_DRIVERS[base.database]
    run([venv / "bin" / "pip", "install", "-q", "greenlet", driver])
    command = [part.replace("bench_app:asgi", "async_engine_app:asgi") for part in base.command]
    return dataclasses.replace(
        base,
        name=f"asgi-async-engine/{base.database}",
        label=f"asgi on {base.database}: the same app with async def views on an async engine "
        "per worker loop (the design not taken)",
        command=command,
        scenarios=[s for s in base.scenarios if s.name in COMPARED],
        mode="asgi-async-engine",
    )

"""The limit under the web rows: the same four queries from a plain loop on the bare driver
(sqlite3 or psycopg), no web framework, N threads each holding its own connection."""

import json

from .database_setups import (
    QUERIES,
    VENV_SCRIPTS,
    DatabaseSetup,
    fresh_database_url,
    migrate_and_seed,
)
from .processes import run


def driver_name(database: str, venv) -> str:
    """The driver and its version, as the project's interpreter sees them."""
    if database == "sqlite":
        code = "import sqlite3; print('sqlite3 module, SQLite', sqlite3.sqlite_version)"
    else:
        code = "import psycopg; print('psycopg', psycopg.__version__, '(sync, autocommit)')"
    return run([str(venv / "bin" / "python"), "-c", code]).stdout.strip()


def driver_limits(
    database: str, setups: list[DatabaseSetup], workdir, cluster, seconds: float
) -> dict:
    """Each query with 1 thread and with as many as each mode's server holds connections, on a
    fresh database of its own, migrated and seeded like the servers' ones."""
    base = setups[0]  # any project of this database: migrations and driver are the same
    url = fresh_database_url(database, "driver", workdir, cluster)
    ids = migrate_and_seed(base.cwd, base.venv, url)
    counts = sorted({1} | {setup.connections_total for setup in setups})
    print(f"== bare driver on {database}, threads {counts}", flush=True)
    runs = []
    for query in QUERIES:
        for threads in counts:
            completed = run(
                [
                    str(base.venv / "bin" / "python"),
                    str(VENV_SCRIPTS / "driver_loop.py"),
                    url,
                    query.name,
                    str(threads),
                    str(seconds),
                    str(ids["first_id"]),
                    str(ids["last_id"]),
                    f"n{threads}",
                ],
                timeout=seconds + 120,
            )
            result = json.loads(completed.stdout)
            runs.append(result)
            print(
                f"   {query.name:>11} threads={threads:<4} {result['ops_per_s']:.0f} ops/s, "
                f"p99 {result['p99_ms']} ms, errors {result['errors']}"
                + (f" ({result['first_error']})" if result["errors"] else ""),
                flush=True,
            )
    return {"driver": driver_name(database, base.venv), "runs": runs}

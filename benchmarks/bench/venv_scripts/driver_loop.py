"""The limit without a web framework: the benchmark's four queries from a plain loop.

Usage: python driver_loop.py URL QUERY THREADS SECONDS FIRST_ID LAST_ID TAG
URL is a sqlite:/// file URL (the sqlite3 module) or a postgresql:// URL (psycopg, sync).
QUERY is get_item, create_item, list_items or slow_query: the same SQL the /items views and
/slow-query send, minus the ORM. Each thread holds its own connection, opened before the clock
starts, and runs the query back to back until SECONDS have passed.
"""

import json
import random
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime

COLUMNS = "id, name, description, created_at, updated_at"
SLOW_QUERY_SECONDS = 0.05
# The generated engine's settings for SQLite connections (database/engine.py).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def sqlite_connection(url: str):
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    connection.create_function("sleep", 1, time.sleep)  # as the generated engine registers it
    return connection, "?", "SELECT sleep(?)"


def postgres_connection(url: str):
    import psycopg

    # Autocommit: one statement, one round trip; the floor under what the ORM sends.
    return psycopg.connect(url, autocommit=True), "%s", "SELECT pg_sleep(%s)"


def make_query(name: str, connection, mark: str, sleep_sql: str, ids, tag: str, thread: int):
    """A function that runs one query once on this thread's connection."""
    counter = iter(range(1, 1 << 62))

    def get_item():
        item_id = random.randint(*ids)
        connection.execute(f"SELECT {COLUMNS} FROM items WHERE id = {mark}", (item_id,)).fetchone()

    def create_item():
        # SQLAlchemy stores SQLite datetimes as this text; PostgreSQL takes the object.
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if mark == "?" else now
        connection.execute(
            f"INSERT INTO items (name, description, created_at, updated_at) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}) RETURNING id",
            (f"driver-{tag}-{thread}-{next(counter)}", "written by the driver", stamp, stamp),
        ).fetchone()
        connection.commit()  # a no-op under psycopg's autocommit

    def list_items():
        # The first page, as GET /items?limit=20 asks for it: one row more says "more follow".
        connection.execute(
            f"SELECT {COLUMNS} FROM items WHERE id > {mark} ORDER BY id LIMIT {mark}", (0, 21)
        ).fetchall()

    def slow_query():
        connection.execute(sleep_sql, (SLOW_QUERY_SECONDS,)).fetchone()

    return {
        "get_item": get_item,
        "create_item": create_item,
        "list_items": list_items,
        "slow_query": slow_query,
    }[name]


def main() -> None:
    url, query, threads, seconds, first_id, last_id, tag = sys.argv[1:8]
    threads, seconds = int(threads), float(seconds)
    ids = (int(first_id), int(last_id))
    connect = sqlite_connection if url.startswith("sqlite") else postgres_connection
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    window = {}

    def open_window() -> None:
        # Runs once, when every thread has its connection, before any is let go.
        window["began"] = time.perf_counter()
        window["end"] = window["began"] + seconds

    start = threading.Barrier(threads, action=open_window)

    def worker(number: int) -> None:
        try:
            # The connection belongs to this thread: sqlite3 refuses sharing one across threads.
            connection, mark, sleep_sql = connect(url)
        except Exception as error:
            errors.append(f"connect: {type(error).__name__}: {error}")
            start.abort()  # the others would wait for this thread forever
            return
        run_once = make_query(query, connection, mark, sleep_sql, ids, tag, number)
        try:
            start.wait()
        except threading.BrokenBarrierError:
            connection.close()
            return
        timings = latencies[number]
        while time.perf_counter() < window["end"]:
            began = time.perf_counter()
            try:
                run_once()
            except Exception as error:  # counted and shown, as wrk counts failed requests
                errors.append(f"{type(error).__name__}: {error}")
                connection.rollback()
                continue
            timings.append(time.perf_counter() - began)
        connection.close()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - window.get("began", time.perf_counter())
    every = sorted(t for timings in latencies for t in timings)

    def percentile_ms(share: float) -> float | None:
        if not every:
            return None
        return round(every[min(len(every) - 1, int(share * len(every)))] * 1000, 2)

    print(
        json.dumps(
            {
                "query": query,
                "threads": threads,
                "seconds": round(elapsed, 2),
                "ops": len(every),
                "ops_per_s": round(len(every) / elapsed, 1) if every else 0.0,
                "p50_ms": percentile_ms(0.50),
                "p99_ms": percentile_ms(0.99),
                "errors": len(errors),
                "first_error": errors[0] if errors else None,
            }
        )
    )


if __name__ == "__main__":
    main()

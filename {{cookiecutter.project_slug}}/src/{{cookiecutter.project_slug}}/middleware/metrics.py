"""Prometheus metrics at /metrics: requests counted by method, route and status, their duration,
the requests in flight{% if cookiecutter.database != "none" %}, and the database pool{% endif %}. METRICS_ENABLED=false turns it all off.

Hooks around each request count it, as the access log does: views never mention metrics. The
route label is the URL rule (`{% if cookiecutter.database != "none" %}/items/<int:item_id>{% else %}/things/<int:thing_id>{% endif %}`), never the path, so ids cannot multiply the
series; a request that matches no rule counts as `<unmatched>`, an unknown method as `other`.

Every worker process counts what it serves. The launcher sets PROMETHEUS_MULTIPROC_DIR
(serving/metrics_directory.py), so each worker writes its figures to files there, and a scrape,
whichever worker answers it, adds up the files of all of them: prometheus_client's multiprocess
mode.
Without that variable (the tests, `{{ cookiecutter.__framework }} run`) the figures stay in the process.

Dead workers. Each worker claims a numbered slot by holding a lock on a file, and its metrics
files carry the slot rather than its pid (WorkerSlot). The kernel drops the lock when a process
ends, however it ends, SIGKILL included, so the next scrape tells a dead worker's slot from a live
one and drops that worker's gauges (in flight{% if cookiecutter.database != "none" %}, connections{% endif %}), with no server hook:
{% if cookiecutter.__server != "gunicorn" %}{{ cookiecutter.__server }}{% else %}uvicorn{% endif %} has none, and gunicorn's child_exit is not needed. Its counters stay, since what it
served was served. A replacement takes the lowest free slot and counts on in its predecessor's
files, so the directory holds one set of files per slot however often workers are recycled
(gunicorn's max_requests), where files named by pid would pile up on /tmp, and every scrape would
read them all.
"""

{% if cookiecutter.__framework == "quart" -%}
import asyncio
{% endif -%}
import fcntl
import os
import re
import time
from pathlib import Path
from typing import TextIO

{% if cookiecutter.__framework == "flask" -%}
from flask import Blueprint, Flask, Response, g, request
{% endif -%}
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
{%- if cookiecutter.__framework == "quart" %}
from quart import Blueprint, Quart, Response, {% if cookiecutter.database != "none" %}current_app, {% endif %}g, request
{%- endif %}
{%- if cookiecutter.database != "none" %}
from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool
{%- endif %}

from ..settings import METRICS_DIRECTORY_VARIABLE

# Methods outside this set share the label "other": a client must not invent new series.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
UNMATCHED = "<unmatched>"
# prometheus_client's file of the gauges that die with their process, here slot 3's:
# gauge_livesum_slot3.db. "slot", so that no pid (a file of another library's) looks like one.
LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(slot\d+)\.db")


def try_lock(path: Path) -> TextIO | None:
    """The file at `path`, open and exclusively locked by us; None while a live process holds it."""
    file = path.open("a")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    return file


class WorkerSlot:
    """This process's slot: prometheus_client's process identifier, "slot3" in its file names.

    prometheus_client calls it on every update, so it is cheap: a process claims a slot on the
    first call, and again only after a fork."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pid: int | None = None
        self.slot = -1
        self.name = ""
        self.lock: TextIO | None = None

    def __call__(self) -> str:
        if os.getpid() != self.pid:
            self.claim()
        return self.name

    def claim(self) -> None:
        if self.lock is not None:
            # Inherited across a fork, and still the parent's: closing our copy keeps it locked.
            self.lock.close()
        slot = 0
        while (lock := try_lock(self.directory / f"slot{slot}.lock")) is None:
            slot += 1
        self.pid, self.slot, self.name, self.lock = os.getpid(), slot, f"slot{slot}", lock
        # The slot's previous worker is dead: its gauges go; its counters are counted on.
        multiprocess.mark_process_dead(self.name, str(self.directory))


def forget_dead_workers(directory: Path) -> None:
    """Drop the gauges of slots whose worker died and has not been replaced yet."""
    slots = {
        match[1]
        for path in directory.glob("gauge_live*.db")
        if (match := LIVE_GAUGE_FILE.fullmatch(path.name))
    }
    for slot in slots:
        lock = try_lock(directory / f"{slot}.lock")
        if lock is not None:  # nobody holds it: that worker is gone
            with lock:
                multiprocess.mark_process_dead(slot, str(directory))


# Read once, when the worker imports this module, as prometheus_client decides its own mode.
_directory = os.environ.get(METRICS_DIRECTORY_VARIABLE)
MULTIPROCESS_DIRECTORY = Path(_directory) if _directory else None
WORKER_SLOT = WorkerSlot(MULTIPROCESS_DIRECTORY) if MULTIPROCESS_DIRECTORY else None
# Before any metric exists: files named after this process's slot, or figures in memory.
if WORKER_SLOT is not None:
    values.ValueClass = values.MultiProcessValue(WORKER_SLOT)
else:
    values.ValueClass = values.MutexValue

# This process's metrics. In multiprocess mode a scrape reads every worker's files instead.
REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    registry=REGISTRY,
)
# "livesum": the sum over the live workers; a dead worker's figure is dropped, not kept forever.
IN_FLIGHT = Gauge(
    "http_requests_in_flight",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
{%- if cookiecutter.database != "none" %}
POOL_SIZE = Gauge(
    "database_pool_size",
    "Database connections the pools may hold (DATABASE_POOL_SIZE per worker process).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
POOL_CHECKED_OUT = Gauge(
    "database_pool_checked_out",
    "Database connections checked out of the pools now, by requests.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
{%- endif %}

bp = Blueprint("metrics", __name__)
# labels() checks its arguments and takes a lock on every call; a service has few series, so the
# counter and histogram of each (method, route, status) are looked up once and kept.
series_by_labels: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    key = (method, route, status)
    found = series_by_labels.get(key)
    if found is None:
        found = series_by_labels[key] = (
            REQUESTS.labels(method, route, status),
            DURATION.labels(method, route),
        )
    return found


{{ cookiecutter.__async }}def start_request() -> None:
    g.metrics_started_at = time.perf_counter()
    g.metrics_in_flight = True
    IN_FLIGHT.inc()


{{ cookiecutter.__async }}def count_request(response: Response) -> Response:
    # Popped: a request counts once, even when an error handler sends a second response.
    started_at = g.pop("metrics_started_at", None)
    if started_at is not None:
        method = request.method
        rule = request.url_rule
        counter, histogram = series(
            method if method in METHODS else "other",
            rule.rule if rule is not None else UNMATCHED,
            response.status_code,
        )
        counter.inc()
        histogram.observe(time.perf_counter() - started_at)
    return response


{{ cookiecutter.__async }}def end_request(_error: BaseException | None = None) -> None:
    # At teardown, which runs whatever happened to the request{% if cookiecutter.__framework == "quart" %} (a client that hung up included){% endif %}.
    if g.pop("metrics_in_flight", False):
        IN_FLIGHT.dec()


@bp.get("/metrics")
{{ cookiecutter.__async }}def scrape() -> tuple[bytes, int, dict[str, str]]:
{%- if cookiecutter.__framework == "quart" %}
    # Reading every worker's files is blocking I/O: off the event loop.
    body = await asyncio.to_thread(exposition, MULTIPROCESS_DIRECTORY)
{%- else %}
    body = exposition(MULTIPROCESS_DIRECTORY)
{%- endif %}
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}


def exposition(directory: Path | None) -> bytes:
    """The text format: every worker's figures, read from `directory`, or this process's."""
    if directory is None:
        return generate_latest(REGISTRY)
    forget_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(directory))
    return generate_latest(registry)
{%- if cookiecutter.database != "none" %}


def watch_pool(engine: Engine) -> None:
    """Keep this process's pool gauges current: its size now, each connection as it is lent."""
    if isinstance(engine.pool, QueuePool):  # make_engine's pool; the others have no size
        POOL_SIZE.set(engine.pool.size())
    event.listen(engine, "checkout", connection_lent)
    event.listen(engine, "checkin", connection_returned)


def connection_lent(
    _dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    # Marked, because SQLAlchemy also checks in a connection whose checkout failed (a failed
    # pre-ping or connect) without a checkout event: only lent connections come back. A pool's
    # entry always has its record_info; SQLAlchemy types it optional for a detached connection.
    record.record_info["metrics_lent"] = True  # type: ignore[index]
    POOL_CHECKED_OUT.inc()


def connection_returned(
    _dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry
) -> None:
    if record.record_info.pop("metrics_lent", False):  # type: ignore[union-attr]
        POOL_CHECKED_OUT.dec()
{%- if cookiecutter.__framework == "quart" %}


async def watch_database() -> None:
    # The engine is made when the server starts (database/session.py), just before this runs.
    watch_pool(current_app.extensions["database"].engine.sync_engine)
{%- endif %}
{%- endif %}


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
    app.before_request(start_request)
    app.after_request(count_request)
    app.teardown_request(end_request)
    app.register_blueprint(bp)
{%- if cookiecutter.database != "none" %}
{%- if cookiecutter.__framework == "quart" %}
    app.before_serving(watch_database)
{%- else %}
    watch_pool(app.extensions["database"].engine)
{%- endif %}
{%- endif %}

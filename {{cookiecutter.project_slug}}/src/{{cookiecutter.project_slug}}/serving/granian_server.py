"""Run the service under Granian, configured from the environment.

What `make serve` and the Docker image run:

    python -m {{ cookiecutter.project_slug }}.serving.granian_server

Granian reads each request's line and headers on its own event loop (Rust), not on a worker
thread: slow clients cost it a connection each, not a thread, so it faces them with no proxy in
front. {% if cookiecutter.interface == "wsgi" %}A request reaches Flask once its head is complete, on one of the worker's threads.{% elif cookiecutter.__framework == "flask" %}A request reaches the adapter (asgi_adapter.py) once its head is complete, on the
worker's event loop; the adapter runs Flask on its own pool of threads.{% else %}A request reaches Quart once its head is complete, on the worker's event loop.{% endif %}
"""

import ctypes
import os
import signal
import sys
from collections.abc import {% if cookiecutter.interface == "wsgi" %}Iterable, {% endif %}Mapping
from typing import Any

from granian.constants import HTTPModes, Interfaces{% if cookiecutter.interface == "asgi" %}, Loops{% endif %}
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server

from ..middleware.logs import logging_config
from ..settings import (
    HeaderLimits,
    Settings,
    SettingsError,
    env_int,
    env_str,
    load_header_limits,
    load_settings,
{%- if cookiecutter.__framework == "flask" %}
    worker_threads,
{%- endif %}
)
{%- if cookiecutter.interface == "wsgi" %}
from .http_limits import StartResponse, WSGIApp
{%- endif %}
from .metrics_directory import (
    ENVIRONMENT_VARIABLE,
    prepare_metrics_directory,
    remove_metrics_directory,
)

# Each worker process imports it afresh: the app behind the header limits (http_limits.py).
APP = "{{ cookiecutter.project_slug }}.serving.{{ cookiecutter.interface }}:served"


# Granian's parser (hyper) refuses a request with more header fields than this, with a 431.
MOST_FIELDS = 100


def granian_options(
    settings: Settings,
    limits: HeaderLimits,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """Granian's settings, each from its variable; raises SettingsError on a bad value."""
    if limits.fields > MOST_FIELDS:
        raise SettingsError(
            f"LIMIT_REQUEST_FIELDS={limits.fields} is more than Granian takes ({MOST_FIELDS})"
        )
    host = env_str(environ, "HOST", "0.0.0.0")
    return {
        "address": host.strip("[]"),
        "port": env_int(environ, "PORT", 8000, minimum=1),
{%- if cookiecutter.interface == "wsgi" %}
        "interface": Interfaces.WSGI,
        "websockets": False,  # WSGI has none
{%- elif cookiecutter.__framework == "flask" %}
        # ASGI without lifespan: the adapter has no startup or shutdown work to run.
        "interface": Interfaces.ASGINL,
        "websockets": False,  # the adapter speaks HTTP only
        "loop": Loops.uvloop,
{%- else %}
        # Quart runs its before_serving and after_serving hooks through the lifespan protocol.
        "interface": Interfaces.ASGI,
        # Granian has no bound of its own on a WebSocket message below its library's 64 MiB; the
        # app closes past WS_MAX_MESSAGE_BYTES with its own code and reason (views/realtime.py).
        "websockets": True,
        "loop": Loops.uvloop,
{%- endif %}
        # HTTP/1.1 only. Ready for HTTP/2 as well, Granian (2.8) waits with no time limit for a
        # connection's first bytes, and for an HTTP/2 request's headers: measured, a silent
        # connection stayed open, where HTTP/1.1 alone closes it after the header timeout below.
        # Each open connection holds one of the backpressure slots, so unbounded ones would lock
        # everyone out. HTTP/2 belongs at the ingress.
        "http": HTTPModes.http1,
{%- if cookiecutter.interface == "wsgi" %}
        # Processes: a fixed 4, as gunicorn's, measured on 2 cores (about two per core).
        "workers": env_int(environ, "WEB_CONCURRENCY", 4, minimum=1),
        # Threads run the views, and mostly wait on I/O; as gunicorn's, twice a worker's share of
        # a burst. More help slow I/O and hurt CPU-bound views (they share one interpreter lock).
        "blocking_threads": worker_threads(environ),
{%- elif cookiecutter.__framework == "flask" %}
        # Processes: about two per core; each runs Flask on the adapter's own pool of ASGI_THREADS
        # threads (read again by asgi.py in each worker), so one process holds many slow requests.
        "workers": env_int(environ, "WEB_CONCURRENCY", 4, minimum=1),
        "blocking_threads": 1,  # Granian's ASGI takes one: the loop's
{%- else %}
        # Processes: one per core; each serves any number of requests on its event loop.
        "workers": env_int(environ, "WEB_CONCURRENCY", 2, minimum=1),
        "blocking_threads": 1,  # Granian's ASGI takes one: the loop's
{%- endif %}
        # Connections waiting to be accepted, and connections a worker serves at once (their
        # requests queue for its threads; an idle keep-alive connection counts too): room for a
        # burst, so a thousand slow clients cannot lock others out.
        "backlog": 2048,
        "backpressure": env_int(environ, "GRANIAN_BACKPRESSURE", 2048, minimum=1),
        "http1_settings": HTTP1Settings(
            # Milliseconds a client may take to send a request's line and headers; also how long
            # an idle keep-alive connection stays open for the next request.
            header_read_timeout=1000
            * env_int(environ, "GRANIAN_HEADER_READ_TIMEOUT", 5, minimum=1),
            # The most a request's head can take (Granian answers 431 past it); the limits in
            # http_limits.py apply within it.
            max_buffer_size=max(limits.header_section + 1024, 8192 + 4096 * 100),
        ),
        # On SIGTERM, in-flight requests get this long to finish before workers are killed.
        "workers_kill_timeout": env_int(environ, "GRANIAN_GRACEFUL_TIMEOUT", 30, minimum=1),
        # A worker that dies (a crash, the OOM killer) is replaced rather than leaving fewer; one
        # that dies again within 5.5 s of its replacement stops the whole server (Granian calls
        # it a crash loop), so the container restarts rather than serving on fewer.
        "respawn_failed_workers": True,
        "respawn_interval": 1.0,
        # JSON logs; the app writes the access log itself, with request id and duration.
        "log_level": LogLevels(settings.log_level.lower()),
        "log_dictconfig": logging_config(settings.log_level),
        "log_access": False,
    }


{%- if cookiecutter.interface == "wsgi" %}


def request_environ_only(app: WSGIApp) -> WSGIApp:
    """`app`, given each request's environ without the process environment Granian copies into
    it: SECRET_KEY and DATABASE_URL would ride along with every request, and an HTTP_PROXY
    variable would pass for a request header."""
    process = dict(os.environ)  # what the worker started with, as Granian copied it

    def served(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        for key, value in process.items():
            if environ.get(key) == value:  # Granian's own keys override the process's
                del environ[key]
        return app(environ, start_response)

    return served
{%- endif %}


def booting_workers_end_on_sigterm(server: Any) -> None:
    """A worker still loading the app ends at once on SIGTERM, instead of missing it.

    Granian sets a worker's own signal handlers once the app is loaded; until then the worker
    runs the handler it inherited from the master, which only flags the master's copy. A SIGTERM
    then (a stop right after a start or a respawn) was lost, and the stop waited
    GRANIAN_GRACEFUL_TIMEOUT for that worker. It serves nothing yet, so it may simply end. The
    master's handler is an attribute of the server that startup() installs (Granian 2.8).
    """
    master = os.getpid()
    interrupt = server.signal_handler_interrupt

    def handler(*args: Any) -> None:
        if os.getpid() != master:
            # At once and for sure: an exception could land in code that swallows it (a fork
            # hook, a finaliser), and there is nothing yet to flush or close.
            os._exit(0)
        interrupt(*args)

    server.signal_handler_interrupt = handler


# prctl(2): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def workers_end_with_the_master() -> None:
    """Each worker forked from here gets SIGTERM when the master dies, however it dies.

    gunicorn's workers notice a dead master themselves; Granian's do not, so a master killed with
    SIGKILL (the OOM killer, a stop that timed out) left its workers serving on the port, with no
    one to stop them. Linux only (prctl); elsewhere, as Granian does.
    """
    if sys.platform != "linux":
        return
    master = os.getpid()

    def in_each_worker() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != master:  # the master died before the line above
            os._exit(0)

    os.register_at_fork(after_in_child=in_each_worker)


def main(app: str = APP) -> None:
    """Serve `app` (an import string, so each worker process imports it afresh; the template's
    benchmark serves its own)."""
    environ = os.environ
    try:
        # Check the app's settings once here, so a bad value stops us before workers start.
        settings = load_settings(environ)
        limits = load_header_limits(environ)  # read again by {{ cookiecutter.interface }}.py in each worker
{%- if cookiecutter.__framework == "flask" and cookiecutter.interface == "asgi" %}
        worker_threads(environ)  # read again by asgi.py in each worker
{%- endif %}
        options = granian_options(settings, limits, environ)
        # Metrics: each worker writes its own files to one directory, ready before they start
        # (middleware/metrics.py tells a dead worker by the lock it dropped). A single process
        # serves alone and keeps its figures in memory, unless told a directory.
        shared = options["workers"] > 1 or environ.get(ENVIRONMENT_VARIABLE, "").strip()
        metrics_directory = (
            prepare_metrics_directory(environ) if settings.metrics_enabled and shared else None
        )
    except SettingsError as error:
        sys.exit(f"ERROR: {error}")

    server = Server(app, **options)
    booting_workers_end_on_sigterm(server)
    workers_end_with_the_master()
    try:
        server.serve()
    finally:
        if metrics_directory is not None:
            remove_metrics_directory(metrics_directory)


if __name__ == "__main__":
    main()

{%- if cookiecutter.asgi_server == "hypercorn" -%}
"""Run the ASGI service under Hypercorn, configured from the environment.

What `make serve` and the Docker image run:

    python -m {{ cookiecutter.project_slug }}.serving.asgi_server

One port serves HTTP/1.1 and HTTP/2 over cleartext (h2c: prior knowledge, or an Upgrade).
"""

import logging
import os
import sys

from hypercorn.config import Config

from ..middleware.logs import configure_logging, logging_config
from ..settings import (
    HeaderLimits,
    Settings,
    SettingsError,
    env_int,
    env_str,
    load_header_limits,
    load_settings,
{%- if cookiecutter.__framework == 'flask' %}
    worker_threads,
{%- endif %}
)
from .hypercorn_workers import supervise
from .metrics_directory import (
    ENVIRONMENT_VARIABLE,
    prepare_metrics_directory,
    remove_metrics_directory,
)

# "asgi:" tells Hypercorn the app is ASGI rather than WSGI (it would otherwise guess). Each worker
# process imports it afresh.
APP = "asgi:{{ cookiecutter.project_slug }}.serving.asgi:served"
# After the graceful timeout, the app's own shutdown (lifespan) gets this long: the two together
# stay under compose's and Kubernetes' grace periods.
LIFESPAN_SHUTDOWN_SECONDS = 3


def hypercorn_config(
    app: str,
    settings: Settings,
    limits: HeaderLimits,
    bind: str,
    keepalive: int,
    graceful_timeout: int,
) -> Config:
    config = Config()
    config.application_path = app
    config.bind = [bind]
    config.worker_class = "uvloop"
    # Seconds to keep an idle keep-alive connection open, and the most a client may take to send
    # a request's line and headers (Hypercorn's idle timer runs until they are complete).
    config.keep_alive_timeout = keepalive
    # On SIGTERM, in-flight requests get this long to finish.
    config.graceful_timeout = graceful_timeout
    config.shutdown_timeout = LIFESPAN_SHUTDOWN_SECONDS
    # Connections waiting to be accepted (Hypercorn's default, 100, drops them under a burst).
    config.backlog = 2048
    # The parsers' own bounds on a whole request head, past what the limits in http_limits.py
    # accept: room for the method and version, and spaces around values (HTTP/2 counts 32 bytes
    # more per field).
    config.h11_max_incomplete_size = limits.header_section + 1024
    config.h2_max_header_list_size = limits.header_section + 32 * (limits.fields + 5)
{%- if cookiecutter.__framework == "quart" %}
    # The server refuses WebSocket messages past twice the app's limit before buffering them;
    # between the two, the app closes with its own code and reason (views/realtime.py).
    config.websocket_max_message_size = 2 * settings.ws_max_message_bytes
{%- endif %}
    # JSON logs; the app writes the access log itself, with request id and duration. A logger,
    # not "-", so that Hypercorn adds no plain-text handler of its own.
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.logconfig_dict = logging_config(settings.log_level)
    # The app sets its own headers; no need to advertise the server.
    config.include_server_header = False
    return config


def main(app: str = APP) -> None:
    """Serve `app` (an import string, so each worker process imports it afresh; the template's
    benchmark serves its own)."""
    environ = os.environ
    try:
        # Check the app's settings once here, so a bad value stops us before workers start.
        settings = load_settings(environ)
        host = env_str(environ, "HOST", "0.0.0.0")
        port = env_int(environ, "PORT", 8000, minimum=1)
        workers = env_int(environ, "WEB_CONCURRENCY", {{ 4 if cookiecutter.__framework == "flask" else 2 }}, minimum=1)
        keepalive = env_int(environ, "HYPERCORN_KEEPALIVE", 5, minimum=1)
        graceful_timeout = env_int(environ, "HYPERCORN_GRACEFUL_TIMEOUT", 30, minimum=1)
        limits = load_header_limits(environ)  # read again by asgi.py in each worker
{%- if cookiecutter.__framework == "flask" %}
        worker_threads(environ)  # read again by asgi.py in each worker
{%- endif %}
        # Metrics: each worker writes its own files to one directory, ready before they start
        # (middleware/metrics.py tells a dead worker by the lock it dropped). A single process
        # serves alone and keeps its figures in memory, unless told a directory.
        shared = workers > 1 or environ.get(ENVIRONMENT_VARIABLE, "").strip()
        metrics_directory = (
            prepare_metrics_directory(environ) if settings.metrics_enabled and shared else None
        )
    except SettingsError as error:
        sys.exit(f"ERROR: {error}")

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
{%- if cookiecutter.__framework == "flask" %}
    # Processes: about two per core; each runs Flask on its own pool of ASGI_THREADS threads,
    # which mostly wait, so one process holds many slow requests at once.
{%- else %}
    # Processes: one per core; each serves any number of requests on its event loop.
{%- endif %}
    config = hypercorn_config(app, settings, limits, bind, keepalive, graceful_timeout)
    configure_logging(settings.log_level)  # the supervisor's own lines, JSON as the workers'
    try:
        status = supervise(config, workers)
    finally:
        if metrics_directory is not None:
            remove_metrics_directory(metrics_directory)
    sys.exit(status)


if __name__ == "__main__":
    main()
{%- else -%}
"""Run the ASGI service under uvicorn, configured from the environment.

`python -m {{ cookiecutter.project_slug }}.serving.asgi_server` is what `make serve` and the Docker image run.
"""

import os
import sys

import uvicorn

from ..middleware.logs import logging_config
from ..settings import (
    SettingsError,
    env_int,
    env_str,
    load_header_limits,
    load_settings,
{%- if cookiecutter.__framework == 'flask' %}
    worker_threads,
{%- endif %}
)
from .metrics_directory import (
    ENVIRONMENT_VARIABLE,
    prepare_metrics_directory,
    remove_metrics_directory,
)

# httptools, with gunicorn's limits on the request line and headers (414, 431).
LIMITED_HTTP = "{{ cookiecutter.project_slug }}.serving.http_limits:LimitedHttpToolsProtocol"


def main(app: str = "{{ cookiecutter.project_slug }}.serving.asgi:app", http: str = LIMITED_HTTP) -> None:
    """Serve `app` (an import string, so each worker process imports it afresh); `http` names
    uvicorn's HTTP protocol (the template's benchmark compares uvicorn's own, "httptools")."""
    environ = os.environ
    try:
        # Check the app's settings once here, so a bad value stops us before workers start.
        settings = load_settings(environ)
        host = env_str(environ, "HOST", "0.0.0.0")
        port = env_int(environ, "PORT", 8000, minimum=1)
        workers = env_int(environ, "WEB_CONCURRENCY", {{ 4 if cookiecutter.__framework == "flask" else 2 }}, minimum=1)
        keepalive = env_int(environ, "UVICORN_KEEPALIVE", 5, minimum=1)
        graceful_timeout = env_int(environ, "UVICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
        load_header_limits(environ)  # read again by http_limits.py in each worker
{%- if cookiecutter.__framework == "flask" %}
        worker_threads(environ)  # read again by asgi.py in each worker
{%- endif %}
        # Metrics: each worker writes its own files to one directory, ready before they start
        # (uvicorn has no hook for a dead worker: middleware/metrics.py tells one by the lock it
        # dropped). A single process serves alone and keeps its figures in memory, unless told a
        # directory.
        shared = workers > 1 or environ.get(ENVIRONMENT_VARIABLE, "").strip()
        metrics_directory = (
            prepare_metrics_directory(environ) if settings.metrics_enabled and shared else None
        )
    except SettingsError as error:
        sys.exit(f"ERROR: {error}")

    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
{%- if cookiecutter.__framework == "flask" %}
            # Processes: about two per core; each runs Flask on its own pool of ASGI_THREADS
            # threads, which mostly wait, so one process holds many slow requests at once. On 2
            # cores, 4 x 512 served 0.1 s requests at 1,024 connections 25% faster than 2 x 1,024.
{%- else %}
            # Processes: one per core; each serves any number of requests on its event loop.
{%- endif %}
            workers=workers,
            # Seconds to keep an idle keep-alive connection open for the client's next request.
            timeout_keep_alive=keepalive,
            # On SIGTERM, in-flight requests get this long to finish.
            timeout_graceful_shutdown=graceful_timeout,
{%- if cookiecutter.__framework == "flask" %}
            # Each request starts with fresh context variables: without this, asgiref state leaks
            # into the next request on a keep-alive connection and about half of them fail (500).
            reset_contextvars=True,
            # The adapter speaks HTTP only; there is no startup or shutdown work to run.
            lifespan="off",
{%- else %}
            # Quart runs its before_serving and after_serving hooks through the lifespan protocol.
            lifespan="on",
            # The server refuses WebSocket frames past twice the app's limit before buffering them;
            # between the two, the app closes with its own code and reason (views/realtime.py).
            ws_max_size=2 * settings.ws_max_message_bytes,
{%- endif %}
            # JSON logs; the app writes the access log itself, with request id and duration.
            log_config=logging_config(settings.log_level),
            access_log=False,
            # The app sets its own headers; no need to advertise the server.
            server_header=False,
            http=http,
        )
    finally:
        if metrics_directory is not None:
            remove_metrics_directory(metrics_directory)


if __name__ == "__main__":
    main()
{%- endif %}

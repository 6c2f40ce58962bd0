"""gunicorn settings. Every figure reads an environment variable, so a deployment tunes it without a
code change; the defaults are the ones the template's benchmark measured on a 2-core machine.
"""

import os
import signal
import sys

from {{ cookiecutter.project_slug }}.middleware.logs import logging_config
from {{ cookiecutter.project_slug }}.serving.metrics_directory import (
    prepare_metrics_directory,
    remove_metrics_directory,
)
from {{ cookiecutter.project_slug }}.settings import (
    SettingsError,
    env_int,
    env_str,
    load_header_limits,
    load_settings,
    worker_threads,
)

environ = os.environ
# Everything is read here, in the master, so a bad value stops gunicorn with one line naming the
# variable before any worker starts.
try:
    settings = load_settings(environ)

    # Every interface inside a container; HOST=127.0.0.1 keeps a laptop's server private.
    bind = f"{env_str(environ, 'HOST', '0.0.0.0')}:{env_int(environ, 'PORT', 8000, minimum=1)}"

    # Processes: a fixed 4, measured on 2 cores (about two per core; size it to yours). 4 processes
    # overlapped 256 slow requests better than 2 with as many threads in all (83% of ideal
    # against 70%) and kept CPU-bound tails shorter.
    workers = env_int(environ, "WEB_CONCURRENCY", 4, minimum=1)

    # Threads let one worker overlap blocking I/O. The kernel spreads connections unevenly across
    # workers, so each has threads for twice its average share of a burst: 256 concurrent 1 s
    # requests reached 60% of ideal with 64 threads, 95% with 128. More threads help slow I/O and
    # hurt CPU-bound views (they share one interpreter lock): lower this for CPU-heavy work.
    worker_class = "gthread"
    threads = worker_threads(environ)

    # A worker silent for this long is stuck: kill it and start a new one.
    timeout = env_int(environ, "GUNICORN_TIMEOUT", 30, minimum=1)

    # On SIGTERM, in-flight requests get this long to finish before workers are killed.
    graceful_timeout = env_int(environ, "GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)

    # Seconds to keep an idle keep-alive connection open for the client's next request.
    keepalive = env_int(environ, "GUNICORN_KEEPALIVE", 5, minimum=0)

    # Recycle workers now and then so a slow leak cannot grow forever; jitter avoids all at once.
    max_requests = env_int(environ, "GUNICORN_MAX_REQUESTS", 50000, minimum=0)
    max_requests_jitter = env_int(environ, "GUNICORN_MAX_REQUESTS_JITTER", 5000, minimum=0)

    # What a request may send before its body (414 and 431 past it); the ASGI modes apply the
    # same variables. gunicorn's defaults.
    header_limits = load_header_limits(environ)
    limit_request_line = header_limits.request_line
    limit_request_fields = header_limits.fields
    limit_request_field_size = header_limits.field_size
except SettingsError as error:
    sys.exit(f"ERROR: {error}")

# JSON logs on stdout. The app writes the access log itself (with request id and duration),
# so gunicorn's own access log stays off to avoid two lines per request.
accesslog = None
errorlog = "-"
logconfig_dict = logging_config(settings.log_level)

# The worker heartbeat is a file each worker touches every second: on a disk-backed /tmp (a
# container without a tmpfs there) that can stall a worker, so it lives in /dev/shm, which Docker
# and Kubernetes mount in memory and keep writable under a read-only root file system. Without
# /dev/shm (macOS), gunicorn's default: the temporary directory.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn 27 opens a control socket shared by every gunicorn of this user; two services on one
# host would collide on it, and nothing here uses it.
control_socket_disable = True


# Metrics (METRICS_ENABLED): the workers write them to files in one directory, which the master
# empties or makes before the first worker starts, and removes at exit if it made it (kept on the
# arbiter, which outlives a reload of this file). Dead workers need no child_exit hook: metrics.py
# tells them by the lock they no longer hold.
def on_starting(server):
    if settings.metrics_enabled:
        try:
            server.metrics_directory = prepare_metrics_directory()
        except SettingsError as error:
            sys.exit(f"ERROR: {error}")


def on_exit(server):
    directory = getattr(server, "metrics_directory", None)
    if directory is not None:
        remove_metrics_directory(directory)


# A new worker runs with the master's signal handlers until its own are in place: a SIGTERM in
# that instant (a stop right after a start or a worker's replacement) would be lost, and the
# worker would serve on until the graceful timeout ends in SIGKILL. Note it, and act once the
# worker can: it then stops before taking a request, as its own handler would have made it.
def post_fork(server, worker):
    def stop_once_booted(_signum, _frame):
        worker.stop_requested_while_booting = True

    for stop in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(stop, stop_once_booted)


def post_worker_init(worker):
    if getattr(worker, "stop_requested_while_booting", False):
        worker.alive = False

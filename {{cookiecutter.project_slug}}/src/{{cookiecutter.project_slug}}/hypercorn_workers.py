"""Hypercorn's worker processes, supervised as gunicorn supervises its own.

Hypercorn's own multi-process runner (`hypercorn.run.run`) is not fit for production here: when
the first worker exits on SIGTERM it terminates the others mid-request, one dead worker stops the
whole server (with exit status 0), and it keeps the listening socket open while workers drain, so
new connections hang instead of being refused. This parent starts the same worker function and:

- on SIGTERM or SIGINT, lets every worker drain together: no new requests, in-flight ones get
  HYPERCORN_GRACEFUL_TIMEOUT to finish, and the listening socket closes at once;
- replaces a worker that dies (metrics.py tells its slot is free by the lock it dropped);
- stops, with gunicorn's exit status 3, when a worker exits with an error during its first
  seconds (an import or settings error): a worker that cannot boot would die again, forever. A
  worker killed by a signal (the OOM killer, an operator) is replaced however young it was.
"""

import asyncio
import logging
import logging.config
import multiprocessing
import signal
import time
from multiprocessing.connection import wait

# Not documented API, so hypercorn is pinned to one minor release in pyproject.toml.
from hypercorn.asyncio.run import uvloop_worker
from hypercorn.config import Config

logger = logging.getLogger("hypercorn.error")
# A worker that exits with an error this soon after it started failed to boot.
BOOT_SECONDS = 5.0
# gunicorn's exit status for "a worker failed to boot".
WORKER_BOOT_ERROR = 3
# Set in each worker once it drains: open WebSockets close on it (websocket_drain.py).
_draining: asyncio.Event | None = None


def draining() -> asyncio.Event:
    """This worker's drain, as an event on its loop."""
    global _draining
    if _draining is None:
        _draining = asyncio.Event()
    return _draining


class StopFlag:
    """What hypercorn's worker polls, on its event loop, every 0.1 s: the parent's shared stop
    event, or a SIGTERM sent to this worker alone (it drains, and the parent replaces it)."""

    def __init__(self, shared):
        self.shared = shared
        self.signalled = False

    def is_set(self) -> bool:
        stopping = self.signalled or self.shared.is_set()
        if stopping:
            draining().set()
        return stopping


def run_worker(config: Config, sockets, shared_stop) -> None:
    """A worker process: hypercorn's own worker on uvloop, stopped by StopFlag.

    uvloop's Server.wait_closed returns once the listener is closed, so the graceful timeout holds
    on every Python (asyncio's waits for every connection on 3.12+: hypercorn issue 308).
    """
    # Logging first: Hypercorn would configure it after importing the app, replacing the handlers
    # the app's setup added filters to (tracing.py's trace ids).
    if config.logconfig_dict is not None:
        logging.config.dictConfig(config.logconfig_dict)
        config.logconfig_dict = None
    stop = StopFlag(shared_stop)
    signal.signal(signal.SIGTERM, lambda *_: setattr(stop, "signalled", True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent leads
    uvloop_worker(config, sockets, stop)


def supervise(config: Config, workers: int) -> int:
    """Serve with `workers` processes until SIGTERM or SIGINT; the exit status."""
    # Bound once, here, and inherited by every worker. config.workers stays 1: above 1, hypercorn
    # sets SO_REUSEPORT, and a second server could silently bind the same port.
    sockets = config.create_sockets()
    context = multiprocessing.get_context("spawn")
    shared_stop = context.Event()
    stop_signals = []

    def on_signal(signum, _frame):
        stop_signals.append(signum)
        shared_stop.set()

    def start() -> multiprocessing.Process:
        process = context.Process(target=run_worker, args=(config, sockets, shared_stop))
        # Started with SIGINT ignored (kept across exec) until the worker sets its own handlers.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        process.started_at = time.monotonic()
        return process

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    running = [start() for _ in range(workers)]
    status = 0
    while not stop_signals:
        wait([process.sentinel for process in running], timeout=0.5)
        for process in [process for process in running if process.exitcode is not None]:
            running.remove(process)
            if stop_signals:
                break
            failed = process.exitcode > 0  # negative: killed by that signal
            if failed and time.monotonic() - process.started_at < BOOT_SECONDS:
                logger.error(
                    "Worker %s failed to boot (exit status %s): stopping",
                    process.pid,
                    process.exitcode,
                )
                status = WORKER_BOOT_ERROR
                stop_signals.append(None)
                shared_stop.set()
                break
            logger.warning(
                "Worker %s exited (status %s): starting another", process.pid, process.exitcode
            )
            running.append(start())

    # From now on new connections are refused, not queued on a socket nobody accepts from.
    for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
        sock.close()
    deadline = time.monotonic() + config.graceful_timeout + config.shutdown_timeout
    for process in running:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in running:
        if process.is_alive():
            logger.warning("Worker %s still busy after the graceful timeout: killed", process.pid)
            process.kill()
            process.join()
    return status

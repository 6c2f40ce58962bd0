"""Hypercorn's worker processes, supervised as gunicorn supervises its own.

Hypercorn's own multi-process runner (`hypercorn.run.run`) is not fit for production here: when
the first worker exits on SIGTERM it terminates the others mid-request, one dead worker stops the
whole server (with exit status 0), and it keeps the listening socket open while workers drain, so
new connections hang instead of being refused. This parent starts the same worker function and:

- on SIGTERM or SIGINT, lets every worker drain together: no new requests, in-flight ones get
  HYPERCORN_GRACEFUL_TIMEOUT to finish, and the listening socket closes at once;
- replaces a worker that dies (middleware/metrics.py tells its slot is free by the lock it dropped);
- stops, with gunicorn's exit status 3, when a worker exits with an error before it serves (an
  import or settings error): a worker that cannot boot would die again, forever. A worker killed
  by a signal (the OOM killer, an operator) is replaced all the same;
- stops the workers if it dies itself (they check their parent), so none serves on, orphaned.
"""

import asyncio
import logging
import logging.config
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event

# Not documented API, so hypercorn is pinned to one minor release in pyproject.toml.
from hypercorn.asyncio.run import uvloop_worker
from hypercorn.config import Config, Sockets

logger = logging.getLogger("hypercorn.error")
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
    """What Hypercorn's worker polls on its event loop every 0.1 s, from the moment it serves
    (its app started, its socket listening): whether to drain.

    It drains when the parent says so, when a SIGTERM reaches this worker alone (the parent then
    replaces it), or when the parent has died (nobody would stop it). Its first poll tells the
    parent the worker has booted.
    """

    def __init__(self, shared_stop: Event, booted: Event) -> None:
        self.shared_stop = shared_stop
        self.booted = booted
        self.parent = os.getppid()
        self.signalled = False

    def is_set(self) -> bool:
        if not self.booted.is_set():
            self.booted.set()
        stopping = self.signalled or self.shared_stop.is_set() or os.getppid() != self.parent
        if stopping:
            draining().set()
        return stopping


def run_worker(config: Config, sockets: Sockets, shared_stop: Event, booted: Event) -> None:
    """A worker process: Hypercorn's own worker on uvloop, stopped by StopFlag.

    uvloop's Server.wait_closed returns once the listener is closed, so the graceful timeout holds
    on every Python (asyncio's waits for every connection on 3.12+: Hypercorn issue 308).
    """
    # Logging first: Hypercorn would configure it after importing the app, replacing the handlers
    # the app's setup added filters to (middleware/tracing.py's trace ids).
    if config.logconfig_dict is not None:
        logging.config.dictConfig(config.logconfig_dict)
        config.logconfig_dict = None
    stop = StopFlag(shared_stop, booted)
    signal.signal(signal.SIGTERM, lambda *_: setattr(stop, "signalled", True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent leads
    # Typed as a multiprocessing Event, of which Hypercorn only ever calls is_set().
    uvloop_worker(config, sockets, stop)  # type: ignore[arg-type]


class Supervisor:
    def __init__(self, config: Config) -> None:
        self.config = config
        # Bound once, here, and inherited by every worker. config.workers stays 1: above 1,
        # Hypercorn sets SO_REUSEPORT, and a second server could silently bind the same port.
        self.sockets = config.create_sockets()
        self.context = multiprocessing.get_context("spawn")
        self.shared_stop = self.context.Event()
        self.running: dict[SpawnProcess, Event] = {}  # process -> its booted event

    def start_worker(self) -> None:
        booted = self.context.Event()
        process = self.context.Process(
            target=run_worker, args=(self.config, self.sockets, self.shared_stop, booted)
        )
        # Started with SIGINT ignored (kept across exec) until the worker sets its own handlers:
        # a Ctrl-C in that instant is lost, rather than killing a worker that is half started.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        self.running[process] = booted

    def replace_exited(self) -> int | None:
        """Start a worker for each that exited; WORKER_BOOT_ERROR if one failed before it served."""
        exited = {p: p.exitcode for p in self.running if p.exitcode is not None}
        for process, exitcode in exited.items():
            booted = self.running.pop(process)
            # An error exit before serving would repeat for ever. Killed by a signal (negative):
            # the OOM killer or an operator, so a replacement may well live.
            if exitcode > 0 and not booted.is_set():
                logger.error(
                    "Worker %s failed to boot (exit status %s): stopping", process.pid, exitcode
                )
                return WORKER_BOOT_ERROR
            logger.warning("Worker %s exited (status %s): starting another", process.pid, exitcode)
            self.start_worker()
        return None

    def stop(self) -> None:
        """Drain every worker; kill what still runs after the graceful and shutdown timeouts."""
        self.shared_stop.set()
        # New connections are refused from now on, not queued on a socket nobody accepts from.
        for sock in (*self.sockets.secure_sockets, *self.sockets.insecure_sockets):
            sock.close()
        deadline = time.monotonic() + self.config.graceful_timeout + self.config.shutdown_timeout
        for process in self.running:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.running:
            if process.is_alive():
                logger.warning("Worker %s still busy after the timeouts: killed", process.pid)
                process.kill()
                process.join()


def supervise(config: Config, workers: int) -> int:
    """Serve with `workers` processes until SIGTERM or SIGINT; the exit status."""
    supervisor = Supervisor(config)
    # A signal writes a byte to this pipe, which wakes the wait below at once; the handlers only
    # note it (no lock taken in a handler).
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    stop_signals: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, _frame: stop_signals.append(signum))
    for _ in range(workers):
        supervisor.start_worker()
    status: int | None = None
    while not stop_signals and status is None:
        wait([wakeup_read, *(process.sentinel for process in supervisor.running)])
        if not stop_signals:
            status = supervisor.replace_exited()
    supervisor.stop()
    signal.set_wakeup_fd(-1)
    os.close(wakeup_read)
    os.close(wakeup_write)
    return status or 0

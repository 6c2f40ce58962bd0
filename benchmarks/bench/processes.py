"""Starting and stopping servers: every process we start is stopped by its PID, never by name."""

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from .config import PORT, SECRET


def run(command, **kwargs) -> subprocess.CompletedProcess:
    """A command that must succeed; its output is captured (and shown if it fails)."""
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    except subprocess.CalledProcessError as error:
        print(f"!! {' '.join(map(str, command))}\n{error.stdout}\n{error.stderr}", flush=True)
        raise


def server_env(**extra: str) -> dict:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(PORT),
        **extra,
    }


def process_tree(root_pid: int) -> list[int]:
    """root_pid and all its descendants, parents first (read from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = [root_pid], [root_pid]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += children
        frontier = children
    return tree


def first_200(timeout=30) -> float:
    """Seconds until the server on PORT answers `/` with 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not answer")


def stop_tree(server: subprocess.Popen) -> None:
    """SIGTERM the server; whatever of its tree is still alive after 15 s is killed by PID."""
    tree = process_tree(server.pid)
    server.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(15)
    for pid in reversed(tree):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.wait()
    # The server leads its own process group: this reaches a worker forked after the snapshot.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(command: list[str], cwd: Path, env: dict | None = None, log: Path | None = None):
    """The server, answering; yields (process, seconds from start to first 200).

    Its output goes to `log` when given (appended: every worker writes whole lines to one file),
    else nowhere.
    """
    output = log.open("ab") if log else subprocess.DEVNULL
    try:
        server = subprocess.Popen(
            command,
            cwd=cwd,
            env=env or server_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, so nothing of it outlives stop_tree
        )
    finally:
        if log:
            output.close()  # the server holds its own copy
    try:
        cold_start = first_200()
        time.sleep(0.5)
        yield server, cold_start
    finally:
        stop_tree(server)

"""/metrics on each mode's real server with two worker processes: a scrape counts every request
whichever worker served it and whichever worker answers the scrape; a worker killed with SIGKILL
keeps its counts, and its gauges (requests in flight, pooled connections) go with it.

Which worker holds a connection is read from /proc (the server's end of the TCP connection, by
socket inode), so the tests know how many requests each worker served instead of hoping both did.
"""

import http.client
import os
import re
import signal
import time
from pathlib import Path

import pytest

from conftest import migrate
from servers import start_server

WORKERS = 2
POOL_SIZE = 3  # DATABASE_POOL_SIZE per worker
SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
HELLO = {"method": "GET", "route": "/", "status": "200"}
ITEM_NOT_FOUND = {"method": "GET", "route": "/items/<int:item_id>", "status": "404"}


def parse(text: str) -> dict:
    """Samples of the text exposition format: {(name, labels): value}."""
    samples = {}
    for line in text.splitlines():
        if match := SAMPLE.match(line):
            name, labels, value = match.groups()
            samples[name, frozenset(LABEL.findall(labels or ""))] = float(value)
    return samples


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def proc_stat(pid) -> tuple[str, int]:
    """(state, parent pid) of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def worker_pids(server) -> set[int]:
    """The server's live worker processes: its children, less multiprocessing's resource
    tracker (uvicorn starts its workers with the spawn method, which brings one)."""
    workers = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, parent = proc_stat(entry.name)
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if parent == server.process.pid and state != "Z" and b"resource_tracker" not in command:
            workers.add(int(entry.name))
    return workers


def serving_pid(conn: http.client.HTTPConnection, server_port: int, pids: set[int]) -> int | None:
    """The worker holding the server's end of `conn` (after a first exchange on it)."""
    client_port = conn.sock.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            inode = fields[9]
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    return None


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def connections_per_worker(server, each: int, timeout: float = 20) -> dict[int, list]:
    """Keep-alive connections, `each` held by every worker: {worker pid: connections}."""
    owned: dict[int, list] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        if len(pids) == WORKERS and all(len(owned.get(pid, [])) >= each for pid in pids):
            for conns in owned.values():  # the kernel may favour one worker: keep `each` apiece
                for conn in conns[each:]:
                    conn.close()
            return {pid: conns[:each] for pid, conns in owned.items()}
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        assert get(conn, "/healthz")[0] == 200
        owner = serving_pid(conn, server.port, pids)
        if owner is None:
            conn.close()
            continue
        owned.setdefault(owner, []).append(conn)
    raise AssertionError(f"connections reached only {sorted(owned)} of {worker_pids(server)}")


def scrape(conn: http.client.HTTPConnection) -> dict:
    status, body = get(conn, "/metrics")
    assert status == 200
    return parse(body.decode())


def scrape_anew(server) -> dict:
    """A scrape on a new connection, answered by whichever worker accepts it."""
    status, _, body = server.request("GET", "/metrics")
    assert status == 200
    return parse(body.decode())


def held_slot_lock(pid: int) -> Path:
    """The slot lock file a worker holds open, in the metrics directory the launcher made."""
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(Path(os.readlink(fd)))
        except FileNotFoundError:  # a socket or file the worker closed while we listed
            continue
    (lock,) = [link for link in links if re.fullmatch(r"slot\d+\.lock", link.name)]
    return lock


@pytest.fixture(scope="session")
def database_url(installed_project, tmp_path_factory):
    mode, project, venv = installed_project
    url = f"sqlite:///{tmp_path_factory.mktemp(f'metrics-{mode}') / 'items.sqlite3'}"
    migrate(project, venv, url)
    return url


@pytest.fixture
def server(installed_project, database_url, tmp_path):
    mode, project, venv = installed_project
    server = start_server(
        project,
        venv,
        tmp_path / "server.log",
        WEB_CONCURRENCY=str(WORKERS),
        DATABASE_URL=database_url,
        DATABASE_POOL_SIZE=str(POOL_SIZE),
        # Connections stay with their worker for the whole test.
        GUNICORN_KEEPALIVE="60",
        UVICORN_KEEPALIVE="60",
        HYPERCORN_KEEPALIVE="60",
        GRANIAN_HEADER_READ_TIMEOUT="60",  # Granian's idle keep-alive ends with it
    )
    yield mode, server
    server.stop()


def test_a_scrape_counts_every_request_whichever_worker_served_it_or_answers(server):
    mode, server = server
    owned = connections_per_worker(server, each=2)
    served = dict.fromkeys(owned, 0)
    connections = [(pid, conn) for pid, conns in owned.items() for conn in conns]
    for index in range(40):  # round robin over both workers' connections
        pid, conn = connections[index % len(connections)]
        assert get(conn, "/")[0] == 200
        served[pid] += 1
    for item_id in range(1, 7):
        pid, conn = connections[item_id % len(connections)]
        assert get(conn, f"/items/{item_id}")[0] == 404
    for _ in range(20):  # and on new connections, served by whichever worker accepts them
        assert server.request("GET", "/")[0] == 200
    assert all(served.values()), served

    # Three scrapes answered by each worker: each sees every request of both.
    for conn in [conns[0] for conns in owned.values()] * 3:
        samples = scrape(conn)
        assert sample(samples, "http_requests_total", **HELLO) == 60, mode
        assert sample(samples, "http_requests_total", **ITEM_NOT_FOUND) == 6
        assert sample(samples, "http_request_duration_seconds_count", method="GET", route="/") == 60
        assert not [key for key in samples if "/items/1" in str(key)]
        assert sample(samples, "database_pool_size") == WORKERS * POOL_SIZE
    for conns in owned.values():
        for conn in conns:
            conn.close()


def wait_for(condition, timeout: float):
    """Poll `condition` until it returns something true; return its last value either way."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def test_a_killed_worker_keeps_its_counts_and_its_gauges_go(server):
    mode, server = server
    owned = connections_per_worker(server, each=3)
    victim, survivor = list(owned)
    for conns in owned.values():
        for _ in range(10):
            assert get(conns[0], "/")[0] == 200
    # Two slow requests in flight on each worker, each holding a pooled connection: long enough
    # to outlast a replacement worker's start on a loaded machine (seconds, under load).
    for conns in owned.values():
        for conn in conns[1:3]:
            conn.request("GET", "/slow-query?seconds=10")

    busy = []  # (requests in flight, pooled connections checked out), scrape by scrape

    def all_four_busy():
        samples = scrape_anew(server)
        busy.append(
            (
                sample(samples, "http_requests_in_flight"),
                sample(samples, "database_pool_checked_out"),
            )
        )
        return busy[-1] == (5, 4)  # the four and the scrape itself; the four's connections

    assert wait_for(all_four_busy, timeout=5), busy
    directory = held_slot_lock(survivor).parent

    os.kill(victim, signal.SIGKILL)
    for conn in owned[victim][1:3]:
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            conn.getresponse()

    def replaced_and_counted():
        workers = worker_pids(server)
        if len(workers) != WORKERS or victim in workers:
            return None
        samples = scrape_anew(server)
        # The survivor's two slow requests and this scrape; the replacement's pool has come up.
        wanted = {"in_flight": 3, "checked_out": 2, "pool_size": WORKERS * POOL_SIZE}
        found = {
            "in_flight": sample(samples, "http_requests_in_flight"),
            "checked_out": sample(samples, "database_pool_checked_out"),
            "pool_size": sample(samples, "database_pool_size"),
        }
        return samples if found == wanted else None

    samples = wait_for(replaced_and_counted, timeout=15)
    if not samples:
        gauges = {key[0]: value for key, value in scrape_anew(server).items() if not key[1]}
        pytest.fail(f"{mode}: the dead worker's gauges stayed, or no replacement: {gauges}")
    assert sample(samples, "http_requests_total", **HELLO) == 20  # the victim's 10 included

    for conn in owned[survivor][1:3]:
        response = conn.getresponse()
        assert response.status == 200
        response.read()
    idle = scrape_anew(server)
    assert sample(idle, "http_requests_in_flight") == 1
    assert sample(idle, "database_pool_checked_out") == 0
    assert sample(idle, "http_requests_total", **HELLO) == 20
    slow = {"method": "GET", "route": "/slow-query", "status": "200"}
    assert sample(idle, "http_requests_total", **slow) == 2  # the victim's never answered
    # The replacement took the dead worker's slot: still one set of files per slot.
    slots = {path.stem.rsplit("_", 1)[1] for path in directory.glob("*.db")}
    assert slots == {f"slot{number}" for number in range(WORKERS)}

    for conns in owned.values():
        for conn in conns:
            conn.close()
    assert server.stop() == 0
    assert not directory.exists()  # made by the server under /tmp, removed when it stops

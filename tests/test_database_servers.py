"""The data layer on each mode's real server, against SQLite and a real PostgreSQL: CRUD,
concurrent writers, an exhausted pool, a database outage, and schemathesis against /openapi.json.
"""

import json
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import FRAMEWORK_MODES, migrate, report
from servers import (
    SECRET,
    free_port,
    schemathesis,
    schemathesis_summary,
    serve_command,
    start_server,
)
from tcp_proxy import TcpProxy

JSON = {"Content-Type": "application/json"}


def start_database_server(project, venv, directory, database_url, **env):
    migrate(project, venv, database_url)
    return start_server(project, venv, directory / "server.log", DATABASE_URL=database_url, **env)


@pytest.fixture(scope="session")
def sqlite_server(installed_project, tmp_path_factory):
    mode, project, venv = installed_project
    directory = tmp_path_factory.mktemp(f"sqlite-{mode}")
    url = f"sqlite:///{directory / 'items.sqlite3'}"
    server = start_database_server(project, venv, directory, url, WEB_CONCURRENCY="2")
    yield mode, server
    server.stop()


@pytest.fixture(scope="session")
def postgresql_server(installed_postgres_project, postgres, tmp_path_factory):
    mode, project, venv = installed_postgres_project
    directory = tmp_path_factory.mktemp(f"postgres-{mode}")
    url = postgres.create_database(f"{mode}_server")
    server = start_database_server(project, venv, directory, url, WEB_CONCURRENCY="2")
    yield mode, server
    server.stop()


def send_json(server, method, path, payload=None):
    body = None if payload is None else json.dumps(payload)
    status, headers, raw = server.request(method, path, body=body, headers=JSON)
    return status, headers, json.loads(raw) if raw else None


def check_crud(server, prefix):
    status, headers, item = send_json(server, "POST", "/items", {"name": f"{prefix} widget"})
    assert status == 201, item
    location = headers["Location"]
    assert location.endswith(f"/items/{item['id']}")
    assert send_json(server, "GET", location)[2] == item

    status, _, changed = send_json(server, "PATCH", location, {"description": "blue"})
    assert (status, changed["description"], changed["name"]) == (200, "blue", f"{prefix} widget")

    status, _, problem = send_json(server, "POST", "/items", {"name": f"{prefix} widget"})
    assert (status, problem["error"]["code"]) == (409, 409)
    status, _, problem = send_json(server, "POST", "/items", {"name": "", "id": 7})
    assert status == 422
    assert {f["field"] for f in problem["error"]["fields"]} == {"name", "id"}
    status, _, _ = server.request(
        "POST", "/items", body="name=x", headers={"Content-Type": "text/plain"}
    )
    assert status == 415

    names = {entry["name"] for entry in send_json(server, "GET", "/items?limit=100")[2]["items"]}
    assert f"{prefix} widget" in names
    assert server.request("DELETE", location)[0] == 204
    status, _, problem = send_json(server, "GET", location)
    assert (status, problem["error"]["code"]) == (404, 404)


def create_at_once(server, prefix, count):
    """POST `count` items at the same moment, each on its own connection; return the statuses."""
    statuses = [None] * count
    barrier = threading.Barrier(count)

    def create(index):
        barrier.wait()
        try:
            statuses[index] = send_json(server, "POST", "/items", {"name": f"{prefix} {index}"})[0]
        except Exception as error:
            statuses[index] = repr(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def all_names(server) -> set[str]:
    names, path = set(), "/items?limit=100"
    while path:
        page = send_json(server, "GET", path)[2]
        names |= {item["name"] for item in page["items"]}
        path = page["next_cursor"] and f"/items?limit=100&cursor={page['next_cursor']}"
    return names


def assert_no_traceback(server):
    tracebacks = [line for line in server.log_lines() if "Traceback" in line]
    assert tracebacks == []


def test_crud_over_the_real_server_on_sqlite(sqlite_server):
    _, server = sqlite_server
    check_crud(server, "crud")
    assert_no_traceback(server)


def test_crud_over_the_real_server_on_postgresql(postgresql_server):
    _, server = postgresql_server
    check_crud(server, "crud")
    assert_no_traceback(server)


def check_concurrent_creates(mode, server, database):
    started = time.perf_counter()
    statuses = create_at_once(server, f"burst {database}", 64)
    elapsed = time.perf_counter() - started
    assert statuses == [201] * 64
    assert {f"burst {database} {i}" for i in range(64)} <= all_names(server)
    assert not any("database is locked" in line for line in server.log_lines())
    report(f"[{mode}] {database}: 64 concurrent creates over 2 workers in {elapsed:.2f} s")


def test_64_concurrent_creates_over_two_workers_all_succeed_on_sqlite(sqlite_server):
    check_concurrent_creates(*sqlite_server, "sqlite")


def test_64_concurrent_creates_over_two_workers_all_succeed_on_postgresql(postgresql_server):
    check_concurrent_creates(*postgresql_server, "postgresql")


def test_an_exhausted_pool_answers_503_json_not_a_hang(installed_project, tmp_path):
    _, project, venv = installed_project
    url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    server = start_database_server(
        project,
        venv,
        tmp_path,
        url,
        WEB_CONCURRENCY="1",
        DATABASE_POOL_SIZE="2",
        DATABASE_POOL_TIMEOUT="0.5",
    )
    try:
        answers = [None] * 6

        def slow_query(index):
            answers[index] = server.request("GET", "/slow-query?seconds=5", timeout=20)

        threads = [threading.Thread(target=slow_query, args=(i,)) for i in range(6)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        elapsed = time.perf_counter() - started
        assert None not in answers, answers
        # Two hold the pool for 5 s; the other four wait 0.5 s for it, far less than 5 s.
        statuses = sorted(status for status, _, _ in answers)
        assert statuses == [200, 200, 503, 503, 503, 503]
        for status, headers, body in answers:
            if status == 503:
                assert headers["Retry-After"] == "1"
                assert json.loads(body)["error"]["code"] == 503
        assert elapsed < 15
        assert server.request("GET", "/items")[0] == 200
        assert_no_traceback(server)
    finally:
        server.stop()


def test_a_postgresql_outage_gives_503s_and_the_service_recovers_without_restart(
    installed_postgres_project, postgres, tmp_path
):
    mode, project, venv = installed_postgres_project
    direct_url = postgres.create_database(f"{mode}_outage")
    migrate(project, venv, direct_url)
    with TcpProxy(postgres.host, postgres.port) as proxy:
        via_proxy = postgres.database_url(f"{mode}_outage", port=proxy.port)
        server = start_server(
            project, venv, tmp_path / "server.log", DATABASE_URL=via_proxy, WEB_CONCURRENCY="2"
        )
        try:
            assert send_json(server, "POST", "/items", {"name": "before"})[0] == 201
            proxy.cut()
            assert server.request("GET", "/healthz")[0] == 200
            started = time.perf_counter()
            status, _, ready = send_json(server, "GET", "/readyz")
            assert time.perf_counter() - started < 3
            assert (status, list(ready["failed"])) == (503, ["database"])
            for method, path, payload in [
                ("GET", "/items/1", None),
                ("GET", "/items", None),
                ("POST", "/items", {"name": "during"}),
            ]:
                status, headers, problem = send_json(server, method, path, payload)
                assert (status, problem["error"]["code"]) == (503, 503)
                assert int(headers["Retry-After"]) > 0

            proxy.restore()
            # Pre-ping replaces the dead pooled connections: not one request fails once it is back.
            statuses = [send_json(server, "GET", "/items/1")[0] for _ in range(20)]
            assert statuses == [200] * 20
            assert send_json(server, "GET", "/readyz")[0] == 200
            assert send_json(server, "POST", "/items", {"name": "after"})[0] == 201
            assert_no_traceback(server)
            assert "password" not in "\n".join(server.log_lines()).lower()
        finally:
            server.stop()


# The API's answers are the framework's and the data layer's, whichever server carries them.
@pytest.mark.parametrize("installed_project", FRAMEWORK_MODES, indirect=True)
def test_schemathesis_finds_no_server_error(sqlite_server, tmp_path):
    mode, server = sqlite_server
    result = schemathesis(server, tmp_path, 25)
    report(f"[{mode}] schemathesis: {schemathesis_summary(result)}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert_no_traceback(server)


@pytest.mark.parametrize(
    ("database_url", "says"),
    [
        (None, "DATABASE_URL is required in production"),
        ("postgresql://app:hunter2@db:notaport/app", "DATABASE_URL is not a database URL"),
        ("mysql://app:hunter2@db/app", "DATABASE_URL uses the scheme 'mysql'"),
    ],
)
def test_the_server_refuses_to_start_without_a_usable_database_url(
    installed_postgres_project, database_url, says
):
    _, project, venv = installed_postgres_project
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": SECRET, "PORT": str(free_port())}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    result = subprocess.run(
        serve_command(project, venv),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert says in output
    assert "hunter2" not in output
    assert "Traceback" not in output


def test_clients_that_hang_up_mid_request_leave_no_traceback_and_no_lost_connection(sqlite_server):
    """Clients that disconnect while their requests run: under Quart each such request is
    cancelled, and its connection must still go back to the pool cleanly."""
    _, server = sqlite_server
    for _ in range(5):
        sockets = []
        for index in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            path = "/slow-query?seconds=0.05" if index % 2 else "/items?limit=20"
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
            sockets.append(sock)
        time.sleep(0.15)  # queued for a pooled connection, or mid-query
        for sock in sockets:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            sock.close()  # with a zero linger: a reset, as a client that vanishes
    # Every abandoned request has finished: only the scrape that counts them is in flight.
    assert server.wait_until_in_flight(1, timeout=30) == 1
    assert [server.request("GET", "/items?limit=1")[0] for _ in range(20)] == [200] * 20
    assert_no_traceback(server)

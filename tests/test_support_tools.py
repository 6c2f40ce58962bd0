"""The test tools themselves: the PostgreSQL cluster, its CLI, and the outage proxy."""

import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import report
from postgres_cluster import ClusterError, connection_env, find_psql, run_psql
from tcp_proxy import TcpProxy

CLI = Path(__file__).resolve().parent / "postgres_cluster.py"
# PostgreSQL's SSLRequest: a server without SSL answers it with the single byte "N".
SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def proxy_threads(proxy: TcpProxy) -> list[str]:
    prefix = f"tcp-proxy-{proxy.port}-"
    return [thread.name for thread in threading.enumerate() if thread.name.startswith(prefix)]


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_cluster_gives_fresh_databases(postgres):
    if postgres.started_in is not None:
        report(f"postgres: cluster started in {postgres.started_in:.2f} s")
    url = postgres.create_database("support_tools_fresh")
    assert url.endswith("/support_tools_fresh")
    run_psql(url, "CREATE TABLE marker (id int); INSERT INTO marker VALUES (1);")
    assert run_psql(url, "SELECT count(*) FROM marker;").stdout.strip() == "1"
    # Over TCP on loopback, with the password from the URL.
    assert run_psql(url, "SELECT inet_server_addr();").stdout.strip() == "127.0.0.1"

    # Creating it again (even with a session still connected) gives an empty database.
    bare_url, env = connection_env(url)
    holder = subprocess.Popen(
        [find_psql(), "-X", "-d", bare_url, "-c", "SELECT pg_sleep(20)"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sessions = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'support_tools_fresh';"
        assert wait_for(lambda: postgres.psql(sessions).stdout.strip() == "1")
        assert postgres.create_database("support_tools_fresh") == url
        assert holder.wait(timeout=10) != 0  # its session was ended by DROP ... WITH (FORCE)
    finally:
        holder.kill()
        holder.wait()
    missing = run_psql(url, "SELECT count(*) FROM marker;", check=False)
    assert missing.returncode != 0
    assert 'relation "marker" does not exist' in missing.stderr

    with pytest.raises(ValueError):
        postgres.create_database("Robert'); DROP TABLE students;--")
    with pytest.raises(ClusterError):
        run_psql(url.replace(postgres.password, "wrong-password"), "SELECT 1;")


def test_proxy_outage_cuts_and_restores_postgres(postgres):
    postgres.create_database("support_tools_outage")
    with TcpProxy(postgres.host, postgres.port) as proxy:
        url = postgres.database_url("support_tools_outage", port=proxy.port)
        assert run_psql(url, "SELECT current_database();").stdout.strip() == "support_tools_outage"

        # A query in flight through the proxy when the database "goes down".
        bare_url, env = connection_env(url)
        in_flight = subprocess.Popen(
            [find_psql(), "-X", "-d", bare_url, "-c", "SELECT pg_sleep(20)"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            sleeping = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = 'support_tools_outage' AND query = 'SELECT pg_sleep(20)';"
            )
            assert wait_for(lambda: postgres.psql(sleeping).stdout.strip() == "1")
            raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            raw.sendall(SSL_REQUEST)
            assert raw.recv(1) == b"N"  # bytes flow both ways
            assert wait_for(lambda: proxy.active == 2)  # the earlier psql's link may linger

            cut_at = time.monotonic()
            proxy.cut()
            _, stderr = in_flight.communicate(timeout=10)
            assert in_flight.returncode != 0
            assert time.monotonic() - cut_at < 5, "the in-flight query outlived the cut"
            assert "server closed the connection unexpectedly" in stderr, stderr
            assert raw.recv(1) == b""  # EOF: the open connection was closed
            raw.close()
            assert proxy.active == 0
        finally:
            in_flight.kill()
            in_flight.wait()

        down = run_psql(url, "SELECT 1;", check=False, timeout=15)
        assert down.returncode != 0, "a new connection got through a cut proxy"
        assert "server closed the connection unexpectedly" in down.stderr, down.stderr
        assert proxy.rejected >= 1
        # The database itself never went down.
        assert postgres.psql("SELECT 1;").stdout.strip() == "1"

        proxy.restore()
        assert run_psql(url, "SELECT 41 + 1;").stdout.strip() == "42"
        assert proxy.accepted >= 3
    assert wait_for(lambda: not proxy_threads(proxy), timeout=2), proxy_threads(proxy)


def test_proxy_forwards_cuts_and_joins_threads():
    """The proxy alone, against a local echo server (runs even without PostgreSQL)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)

    def echo():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data)

    echo_thread = threading.Thread(target=echo, daemon=True)
    echo_thread.start()
    proxy = TcpProxy("127.0.0.1", server.getsockname()[1], max_connections=1).start()
    try:
        first = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        first.sendall(b"x" * 200_000)
        received = b""
        while len(received) < 200_000:
            received += first.recv(65536)
        assert received == b"x" * 200_000

        # Beyond max_connections, a connection is closed on arrival.
        second = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert second.recv(1) == b""
        second.close()

        proxy.cut()
        assert first.recv(1) == b""
        first.close()
        during = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert during.recv(1) == b""
        during.close()
        assert proxy.rejected == 2

        proxy.restore()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as after:
            after.sendall(b"back")
            assert after.recv(4) == b"back"
    finally:
        proxy.close()
        server.close()
    assert not proxy_threads(proxy)
    assert proxy.active == 0


def test_cluster_cli_prints_only_the_url_and_reuses_the_running_cluster(postgres):
    # The `postgres` fixture only gates on PostgreSQL being installed; this starts its own.
    with tempfile.TemporaryDirectory(prefix="template-postgres-cli-") as tmp:
        command = [sys.executable, str(CLI)]
        started = time.perf_counter()
        first = subprocess.run(
            [*command, "start", tmp], capture_output=True, text=True, timeout=120
        )
        elapsed = time.perf_counter() - started
        try:
            assert first.returncode == 0, first.stderr
            url = first.stdout.strip()
            assert first.stdout == url + "\n" and url.startswith("postgresql://postgres:")
            report(f"postgres: CLI cold start in {elapsed:.2f} s")
            assert run_psql(url, "SHOW max_connections;").stdout.strip() == "300"
            assert run_psql(url, "SHOW fsync;").stdout.strip() == "off"

            again = subprocess.run(
                [*command, "start", tmp], capture_output=True, text=True, timeout=120
            )
            assert again.returncode == 0, again.stderr
            assert again.stdout.strip() == url
        finally:
            stop = subprocess.run(
                [*command, "stop", tmp], capture_output=True, text=True, timeout=120
            )
        assert stop.returncode == 0, stop.stderr
        assert "stopped" in stop.stderr
        assert run_psql(url, "SELECT 1;", check=False, timeout=15).returncode != 0
        again = subprocess.run([*command, "stop", tmp], capture_output=True, text=True)
        assert again.returncode == 0, again.stderr  # stopping a stopped cluster is a no-op
        assert "not running" in again.stderr

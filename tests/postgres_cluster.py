"""A throwaway PostgreSQL cluster on 127.0.0.1 for the template's tests (standard library only).

As a module:

    reason = unavailable_reason()               # None when a cluster can run here
    cluster = PostgresCluster.start(Path(dir))  # initdb + pg_ctl start, or reuse the running one
    url = cluster.create_database("wsgi_orders")  # a new, empty database (dropped first)
    cluster.stop()

    cluster = PostgresCluster.attach(os.environ["TEMPLATE_POSTGRES_URL"])  # started by someone else

As a command (stdout carries the URL only, so a shell can capture it):

    export TEMPLATE_POSTGRES_URL=$(python3 tests/postgres_cluster.py start .cache/postgres)
    python3 tests/postgres_cluster.py stop .cache/postgres

The server listens on 127.0.0.1 only, on a free port, with its Unix socket inside DIR, password
(scram-sha-256) authentication for the superuser `postgres` (a new random password per cluster,
in the URL), fsync off and 300 connections. Root may not run PostgreSQL, so under root the cluster
belongs to `nobody` (DIR is handed to it; if `nobody` cannot reach DIR, the cluster's files go in
a directory under /tmp, and DIR/cluster.json records where). The binaries come from
$POSTGRES_BIN, else the directory of `initdb` on PATH, else Debian's
/usr/lib/postgresql/<newest>/bin.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

SUPERUSER = "postgres"
MAX_CONNECTIONS = 300
# Under root the cluster runs as this user: PostgreSQL refuses to run as root.
RUN_AS_WHEN_ROOT = "nobody"
STATE_FILE = "cluster.json"
# Longest Unix socket path (sun_path is 108 bytes with its NUL).
MAX_SOCKET_PATH = 107
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class ClusterError(RuntimeError):
    """Starting, stopping or talking to the cluster failed; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl, postgres and psql, or None."""
    needed = ("initdb", "pg_ctl", "postgres", "psql")
    candidates = []
    if os.environ.get("POSTGRES_BIN"):
        candidates.append(Path(os.environ["POSTGRES_BIN"]))
    on_path = shutil.which("initdb")
    if on_path:  # Debian's /usr/local/bin or /usr/bin entries are often symlinks into the real dir
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    candidates.extend(debian)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in needed):
            return directory
    return None


def find_psql() -> str | None:
    """psql from the cluster's bin directory, else the one on PATH (enough to attach)."""
    bin_dir = find_bin_dir()
    if bin_dir:
        return str(bin_dir / "psql")
    return shutil.which("psql")


def _run_as_user() -> pwd.struct_passwd | None:
    """The account that owns and runs the cluster: `nobody` under root, else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam(RUN_AS_WHEN_ROOT)


def unavailable_reason(url: str | None = None) -> str | None:
    """Why a cluster cannot be used here, or None.

    Without `url`: can one be started (binaries, an account to run it as)? With `url`: does the
    running cluster there answer (psql present, server reachable, password accepted)?
    """
    if url:
        psql = find_psql()
        if psql is None:
            return "psql is not installed (apt-get install postgresql-client)"
        result = run_psql(url, "SELECT 1;", psql=psql, timeout=15, check=False)
        if result.returncode != 0:
            return (
                f"the PostgreSQL cluster at {redact(url)} does not answer: {result.stderr.strip()}"
            )
        return None
    if find_bin_dir() is None:
        return (
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) found on PATH, in "
            "$POSTGRES_BIN or in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    if os.geteuid() == 0:
        try:
            _run_as_user()
        except KeyError:
            return f"running as root and there is no user {RUN_AS_WHEN_ROOT!r} to run PostgreSQL as"
    return None


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def connection_env(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it as PGPASSWORD."""
    parts = urlsplit(url)
    env = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "10")}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
        url = parts._replace(netloc=netloc).geturl()
    return url, env


def run_psql(
    url: str, sql: str, *, psql: str | None = None, timeout: float = 30, check: bool = True
) -> subprocess.CompletedProcess:
    """Run SQL with psql against `url` (unaligned, tuples only: output is just the values).

    The SQL goes in on standard input, so each statement runs in its own transaction (as in a
    psql script) and the first error stops the rest.
    """
    psql = psql or find_psql()
    if psql is None:
        raise ClusterError("psql is not installed")
    bare_url, env = connection_env(url)
    command = [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", bare_url]
    result = subprocess.run(
        command, input=sql, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise ClusterError(
            f"psql on {redact(url)} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


def _run(command, *, user: pwd.struct_passwd | None, cwd: Path, timeout: float = 60):
    """Run a server-side binary as the cluster's owner, capturing its output."""
    as_user = {}
    if user is not None:
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
        **as_user,
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class PostgresCluster:
    """A running cluster: one this process started (`start`) or one it was told about (`attach`).

    Only a started cluster is stopped by `stop()`; an attached one belongs to whoever started it.
    """

    def __init__(
        self,
        url: str,
        *,
        root: Path | None = None,
        home: Path | None = None,
        started_in: float | None = None,
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            raise ValueError(f"not a postgresql:// URL: {redact(url)}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 5432
        self.user = unquote(parts.username or SUPERUSER)
        self.password = unquote(parts.password or "")
        self.root = root  # the directory start() was given; None when attached
        self.home = home or root  # where data/, the log and the socket are
        self.started_in = started_in  # seconds start() took; None when attached or reused
        self.bin_dir = find_bin_dir()

    def __repr__(self) -> str:
        return f"PostgresCluster({redact(self.url)!r}, root={self.root!r})"

    # -- starting and stopping ------------------------------------------------------------

    @classmethod
    def attach(cls, url: str) -> PostgresCluster:
        """A cluster someone else runs (and stops); nothing is checked here, see
        unavailable_reason(url)."""
        return cls(url)

    @classmethod
    def start(cls, root: Path) -> PostgresCluster:
        """Start a cluster in root, or reuse the one already running there.

        The data directory, log and socket go in root, or, when root cannot be reached by the
        account the cluster runs as (under root: `nobody`, and root lies under a private
        directory such as /root), in a directory of the system's temporary directory named after
        root (`.home` says which). Stale data from an earlier run that is no longer running is
        replaced by a fresh initdb. Raises ClusterError, with the server log's tail, on failure.
        """
        started = time.perf_counter()
        root = Path(root).absolute()
        reason = unavailable_reason()
        if reason:
            raise ClusterError(reason)
        bin_dir = find_bin_dir()
        user = _run_as_user()
        root.mkdir(parents=True, exist_ok=True)

        state = _read_state(root)
        if state.get("url") and _running(bin_dir, Path(state["home"]) / "data", user):
            reused = cls(state["url"], root=root, home=Path(state["home"]))
            if run_psql(reused.url, "SELECT 1;", check=False).returncode == 0:
                return reused
        stop_dir(root)  # ours but unusable (a start that failed half-way): start afresh

        home = _home_for(root, user)
        data = home / "data"
        if data.exists():
            if not (data / "PG_VERSION").exists() and any(data.iterdir()):
                raise ClusterError(f"{data} exists and is not a PostgreSQL data directory")
            shutil.rmtree(data)  # an earlier run's, no longer running: start afresh
        # Recorded before the server starts, so that `stop` finds it whatever happens next.
        _write_state(root, {"home": str(home)})

        password = secrets.token_hex(16)
        pwfile = home / "initdb.pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        try:
            initdb = _run(
                [
                    bin_dir / "initdb",
                    "-D",
                    data,
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                user=user,
                cwd=home,
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if initdb.returncode != 0:
            raise ClusterError(f"initdb failed ({initdb.returncode}):\n{initdb.stderr.strip()}")

        socket_dir = str(home) if len(f"{home}/.s.PGSQL.65535") <= MAX_SOCKET_PATH else ""
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# Set by tests/postgres_cluster.py\ninclude 'template_tests.conf'\n")
        log = home / "postgres.log"
        last_error = ""
        for _attempt in range(3):  # another process may take the free port before we bind it
            port = free_port()
            settings = {
                "listen_addresses": "127.0.0.1",
                "port": port,
                "unix_socket_directories": socket_dir,
                "max_connections": MAX_CONNECTIONS,
                "fsync": "off",
                "synchronous_commit": "off",
                "full_page_writes": "off",
            }
            (data / "template_tests.conf").write_text(
                "".join(
                    f"{key} = {value}\n" if isinstance(value, int) else f"{key} = '{value}'\n"
                    for key, value in settings.items()
                )
            )
            result = _run(
                [bin_dir / "pg_ctl", "start", "-D", data, "-l", log, "-w", "-t", "60", "-s"],
                user=user,
                cwd=home,
                timeout=90,
            )
            if result.returncode == 0:
                break
            last_error = f"{result.stderr.strip()}\n--- {log} ---\n{_tail(log)}"
            if "could not bind" not in last_error and "already in use" not in last_error:
                break
        else:
            raise ClusterError(f"pg_ctl start failed three times:\n{last_error}")
        if result.returncode != 0:
            raise ClusterError(f"pg_ctl start failed ({result.returncode}):\n{last_error}")

        url = f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
        cluster = cls(url, root=root, home=home)
        # pg_ctl -w waits for "ready to accept connections"; one query proves the password too.
        run_psql(url, "SELECT 1;")
        _write_state(root, {"home": str(home), "url": url})
        cluster.started_in = time.perf_counter() - started
        return cluster

    def stop(self) -> None:
        """Stop a cluster this process started (fast shutdown); no-op for an attached one."""
        if self.root is not None:
            stop_dir(self.root)

    # -- databases --------------------------------------------------------------------------

    def database_url(self, name: str, *, host: str | None = None, port: int | None = None) -> str:
        """The URL of database `name` on this cluster, optionally via another host/port (a
        proxy)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{host or self.host}:{port or self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create an empty database `name` (dropping any of that name first, even with sessions
        connected) and return its URL.

        Names are lower-case identifiers (at most 63 characters). The cluster is shared by every
        pytest-xdist worker of a run, so a name must be unique to its caller: include the mode
        (wsgi, asgi, quart) and the test's purpose, e.g. "wsgi_outage".
        """
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} must match {DATABASE_NAME.pattern}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);\nCREATE DATABASE "{name}";')
        return self.database_url(name)

    def psql(self, sql: str, *, database: str = "postgres", check: bool = True, timeout=30):
        """Run SQL on one of this cluster's databases; returns the CompletedProcess."""
        psql = str(self.bin_dir / "psql") if self.bin_dir else None
        return run_psql(self.database_url(database), sql, psql=psql, check=check, timeout=timeout)


def stop_dir(root: Path) -> bool:
    """Stop the cluster started in root if it is running; True if one was stopped."""
    state = _read_state(Path(root).absolute())
    if not state:
        return False
    data = Path(state["home"]) / "data"
    if not (data / "postmaster.pid").exists():
        return False
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise ClusterError(f"pg_ctl not found: cannot stop the cluster in {data}")
    user = _run_as_user()
    if not _running(bin_dir, data, user):  # a stale pid file
        return False
    result = _run(
        [bin_dir / "pg_ctl", "stop", "-D", data, "-m", "fast", "-w", "-t", "60", "-s"],
        user=user,
        cwd="/",
        timeout=90,
    )
    if result.returncode != 0:
        raise ClusterError(f"pg_ctl stop failed ({result.returncode}): {result.stderr.strip()}")
    return True


def _running(bin_dir: Path, data: Path, user: pwd.struct_passwd | None) -> bool:
    """pg_ctl status: 0 when a server runs on data, 3 when none does, 4 when no data dir."""
    return _run([bin_dir / "pg_ctl", "status", "-D", data], user=user, cwd="/").returncode == 0


def _read_state(root: Path) -> dict:
    try:
        return json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(root: Path, state: dict) -> None:
    path = root / STATE_FILE
    path.write_text(json.dumps(state) + "\n")
    path.chmod(0o600)  # it holds the password


def _home_for(root: Path, user: pwd.struct_passwd | None) -> Path:
    """root itself when the cluster's account can write there, else a directory of its own in
    the system's temporary directory, named after root."""
    if user is None:
        return root
    os.chown(root, user.pw_uid, user.pw_gid)
    if _run(["test", "-w", root, "-a", "-x", root], user=user, cwd="/").returncode == 0:
        return root
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    home = Path(tempfile.gettempdir()) / f"postgres-cluster-{user.pw_name}-{digest}"
    home.mkdir(mode=0o700, exist_ok=True)
    os.chown(home, user.pw_uid, user.pw_gid)
    if _run(["test", "-w", home, "-a", "-x", home], user=user, cwd="/").returncode != 0:
        raise ClusterError(f"user {user.pw_name} can write neither to {root} nor to {home}")
    return home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("dir", type=Path, help="the cluster's directory (data, log, socket)")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            cluster = PostgresCluster.start(args.dir)
            how = f"started in {cluster.started_in:.1f} s" if cluster.started_in else "reused"
            print(
                f"postgres_cluster: {how}, {redact(cluster.url)}, in {cluster.home}",
                file=sys.stderr,
            )
            print(cluster.url)
        else:
            stopped = stop_dir(args.dir)
            print(f"postgres_cluster: {'stopped' if stopped else 'not running'}", file=sys.stderr)
    except ClusterError as error:
        print(f"postgres_cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

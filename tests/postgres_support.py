"""The `postgres` fixture: one PostgreSQL cluster per test run, shared by pytest-xdist workers.

Use it from tests/conftest.py with `from postgres_support import postgres  # noqa: F401`.

- With TEMPLATE_POSTGRES_URL set (as .ci/run does, from `tests/postgres_cluster.py start DIR`),
  every worker attaches to that one cluster, and whoever started it stops it.
- Without it, each test process (each xdist worker) starts its own throwaway cluster in a
  temporary directory and stops it at the end of the session (well under a second with fsync off).
- When no cluster can run (no PostgreSQL installed, the given cluster does not answer, start-up
  failed), tests using the fixture are skipped with the reason; with REQUIRE_POSTGRES=1 they fail.

Database names: every worker shares the cluster, so a test must make its databases with
`postgres.create_database(name)` (it drops an old one of that name first, and returns the URL)
and use names no other test picks at the same time: include the mode and the purpose,
e.g. f"{mode}_outage". The template's tests keep each mode on one xdist worker, so a name that
starts with the mode cannot collide across workers.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from postgres_cluster import ClusterError, PostgresCluster, unavailable_reason

URL_VARIABLE = "TEMPLATE_POSTGRES_URL"

# The fixture may be imported into more than one module (conftest.py and a test file); they
# then are distinct fixtures, so the cluster itself is shared per process, with a count of users.
_shared: dict = {"cluster": None, "users": 0, "tmp": None}


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but {reason}", pytrace=False)
    pytest.skip(reason)


def _acquire() -> PostgresCluster:
    if _shared["cluster"] is not None:
        _shared["users"] += 1
        return _shared["cluster"]
    url = os.environ.get(URL_VARIABLE)
    if url:
        reason = unavailable_reason(url)
        if reason:
            _unavailable(f"{URL_VARIABLE}: {reason}")
        cluster = PostgresCluster.attach(url)
    else:
        reason = unavailable_reason()
        if reason:
            _unavailable(reason)
        # Not pytest's tmp_path: under root the cluster runs as `nobody`, which must reach it.
        tmp = Path(tempfile.mkdtemp(prefix="template-postgres-"))
        try:
            cluster = PostgresCluster.start(tmp)
        except ClusterError as error:
            shutil.rmtree(tmp, ignore_errors=True)
            _unavailable(f"the PostgreSQL cluster did not start: {error}")
        _shared["tmp"] = tmp
    _shared["cluster"] = cluster
    _shared["users"] = 1
    return cluster


def _release() -> None:
    _shared["users"] -= 1
    if _shared["users"] > 0:
        return
    cluster, tmp = _shared["cluster"], _shared["tmp"]
    _shared.update(cluster=None, users=0, tmp=None)
    cluster.stop()  # no-op for an attached cluster
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A running PostgresCluster (see tests/postgres_cluster.py): `.url`, `.port`,
    `.create_database(name) -> url`, `.psql(sql, database=...)`."""
    cluster = _acquire()
    try:
        yield cluster
    finally:
        _release()

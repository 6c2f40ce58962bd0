"""One throwaway PostgreSQL cluster for the whole run, from the template's own test helper."""

import contextlib
import importlib.util

from .config import ROOT

# The cluster's files; a fixed place, so a run that died leaves one cluster to reuse, not many.
CLUSTER_DIR = ROOT / ".cache" / "bench-postgres"


def cluster_module():
    """tests/postgres_cluster.py (standard library only), loaded by path: tests/ is no package."""
    path = ROOT / "tests" / "postgres_cluster.py"
    spec = importlib.util.spec_from_file_location("postgres_cluster", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def postgres_cluster():
    """A started cluster, stopped on the way out whatever happens; None when none can run here."""
    module = cluster_module()
    reason = module.unavailable_reason()
    if reason:
        print(f"!! no PostgreSQL rows: {reason}", flush=True)
        yield None
        return
    try:
        cluster = module.PostgresCluster.start(CLUSTER_DIR)
    except module.ClusterError as error:
        # The other rows are worth keeping: go on without PostgreSQL, saying why.
        print(f"!! no PostgreSQL rows: {error}", flush=True)
        yield None
        return
    try:
        yield cluster
    finally:
        cluster.stop()
        print("== PostgreSQL cluster stopped", flush=True)


def server_version(cluster) -> str:
    return cluster.psql("SHOW server_version;").stdout.strip().split()[0]

"""The database rows: each query at each concurrency on a fresh server, with the pool wait the
server logged for the measured window."""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from .access_log import log_size, read_window, summarise
from .alternatives import async_engine_setup
from .database_setups import QUERY_LABELS, DatabaseSetup, database_setup
from .driver_limit import driver_limits
from .load import load, warm_up
from .memory import pss_mb
from .postgres import postgres_cluster, server_version
from .processes import running, server_env
from .setups import Scenario


def script_args(setup: DatabaseSetup, scenario: Scenario, phase: str) -> tuple[str, ...]:
    if scenario.name == "get_item":
        return (str(setup.first_id), str(setup.last_id))
    if scenario.name == "create_item":
        # Names stay unique across the warm-up and measured runs on one database.
        return (f"c{scenario.connections}{phase}",)
    return ()


def measure_database(setup: DatabaseSetup, duration: int, warm_up_s: int, logs: Path) -> dict:
    """Each query and concurrency on a freshly started server whose output goes to its own log."""
    print(f"== {setup.label}", flush=True)
    outcome = {
        "label": setup.label,
        "mode": setup.mode,
        "database": setup.database,
        "workers": setup.workers,
        "pool_size": setup.pool_size,
        "seeded_items": setup.last_id - setup.first_id + 1,
        "runs": [],
    }
    for scenario in setup.scenarios:
        log = logs / f"{setup.mode}-{setup.database}-{scenario.name}-{scenario.connections}.log"
        env = server_env(**setup.env)
        with running(setup.command, setup.cwd, env, log=log) as (server, cold_start):
            outcome.setdefault("cold_start_s", round(cold_start, 2))
            outcome.setdefault("idle_pss_mb", pss_mb(server.pid))
            warm_up(scenario, warm_up_s, script_args(setup, scenario, "w"))
            # Only what the server logs while wrk measures counts.
            start = log_size(log)
            measured = load(scenario, duration, server.pid, script_args(setup, scenario, "m"))
            end = log_size(log)
        result = {
            "scenario": scenario.name,
            "request": QUERY_LABELS[scenario.name],
            "connections": scenario.connections,
            **measured,
            **summarise(read_window(log, start, end)),
        }
        if scenario.ideal_rps:
            result["ideal_rps"] = round(scenario.ideal_rps, 1)
        outcome["runs"].append(result)
        print(
            f"   {scenario.name:>11} c={scenario.connections:<5} rps {result['rps']:.0f}"
            f" p99 {result['p99_ms']} ms, non-2xx {result['non_2xx']}, socket errors "
            f"{result['socket_errors']}, pool wait mean {result['pool_wait_mean_ms']} / p99 "
            f"{result['pool_wait_p99_ms']} ms"
            + (f", {result['pct_ideal']}% of ideal" if "pct_ideal" in result else "")
            + (f", logged: {result['first_logged_error']}" if result["logged_errors"] else ""),
            flush=True,
        )
    return outcome


@dataclass
class DatabaseRun:
    databases: dict = field(default_factory=dict)  # database -> mode -> outcome
    drivers: dict = field(default_factory=dict)  # database -> bare-driver rows
    versions: dict = field(default_factory=dict)  # database servers' versions
    venvs: list = field(default_factory=list)  # the projects' venvs, for package versions
    duration_s: int = 0
    warm_up_s: int = 0


def run_database_rows(rows, workdir: Path, quick: bool) -> DatabaseRun:
    """Database rows for each (mode, database), then each database's bare-driver limit; one
    PostgreSQL cluster serves the whole run and is stopped whatever happens."""
    found = DatabaseRun(duration_s=2 if quick else 8, warm_up_s=1 if quick else 2)
    logs = workdir / "server-logs"
    logs.mkdir()
    needs_postgres = any(database == "postgresql" for _, database in rows)
    with postgres_cluster() if needs_postgres else contextlib.nullcontext() as cluster:
        if cluster is not None:
            found.versions["PostgreSQL"] = server_version(cluster)
        for database in dict.fromkeys(database for _, database in rows):
            if database == "postgresql" and cluster is None:
                continue  # postgres_cluster() said why
            prepared = [
                database_setup(mode, database, workdir, cluster, quick)
                for mode, db in rows
                if db == database
            ]
            found.venvs += [setup.venv for setup in prepared]
            # ASGI + Flask's alternative design, measured right after the generated one.
            alternatives = [async_engine_setup(s) for s in prepared if s.mode == "asgi"]
            found.databases[database] = {
                setup.mode: measure_database(setup, found.duration_s, found.warm_up_s, logs)
                for setup in prepared + alternatives
            }
            found.drivers[database] = driver_limits(
                database, prepared, workdir, cluster, 2 if quick else 3
            )
    return found

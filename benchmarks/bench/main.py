"""The whole run: bake, measure (HTTP rows, database rows, bare-driver limit), report."""

import argparse
import contextlib
import json
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import __doc__ as DESCRIPTION
from .chart import chart
from .config import MODES, RESULTS, ROOT, VENVS
from .database_report import database_table, driver_table, summary_rows
from .database_rows import measure_database
from .database_setups import DATABASES, database_setup
from .driver_limit import driver_limits
from .machine import REPORTED_PACKAGES, machine_info
from .markdown import markdown
from .measure import measure
from .postgres import postgres_cluster, server_version
from .setups import HTTP_SETUPS, setups
from .targets import verdicts
from .websocket_capacity import websocket_capacity

# Anything short of a full run writes here, so the published results stay as measured.
PARTIAL_RESULTS = ROOT / ".cache" / "bench-results"
DATABASE_PACKAGES = {"sqlalchemy", "psycopg", "aiosqlite"}


def parse_options():
    parser = argparse.ArgumentParser(description=DESCRIPTION.strip().splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="shorter runs (5 s, database rows 3 s), up to 256 connections",
    )
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="NAME",
        help=(
            f"run only these: HTTP setups ({', '.join(HTTP_SETUPS)}), 'database' for every "
            f"database row, a database ({', '.join(DATABASES)}) for its rows in every mode, "
            "or MODE/DATABASE (e.g. wsgi/sqlite); the bare-driver limit runs with the "
            "database rows"
        ),
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where results go (default: {RESULTS.relative_to(ROOT)} for a full run, "
        f"{PARTIAL_RESULTS.relative_to(ROOT)} with --quick or --only)",
    )
    options = parser.parse_args()
    database_rows = [(mode, database) for database in DATABASES for mode in MODES]
    if options.only is None:
        return options, list(HTTP_SETUPS), database_rows
    http, chosen = [], set()
    for name in options.only:
        if name in HTTP_SETUPS:
            http.append(name)
        elif name == "database":
            chosen.update(database_rows)
        elif name in DATABASES:
            chosen.update((mode, name) for mode in MODES)
        elif tuple(name.split("/")) in database_rows:
            chosen.add(tuple(name.split("/")))
        else:
            parser.error(f"unknown name {name!r} for --only")
    return options, http, [row for row in database_rows if row in chosen]


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
    found = DatabaseRun(duration_s=3 if quick else 8, warm_up_s=1 if quick else 2)
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
            found.databases[database] = {
                setup.mode: measure_database(setup, found.duration_s, found.warm_up_s, logs)
                for setup in prepared
            }
            found.drivers[database] = driver_limits(
                database, prepared, workdir, cluster, 2 if quick else 5
            )
    return found


def main() -> None:
    # `kill` of the benchmark unwinds like Ctrl-C: servers and the cluster get stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options, http_names, database_rows = parse_options()
    full_run = not options.quick and options.only is None
    output = options.output or (RESULTS if full_run else PARTIAL_RESULTS)
    duration = 5 if options.quick else 10
    output.mkdir(parents=True, exist_ok=True)
    results, sockets, db = {}, [], DatabaseRun()
    with tempfile.TemporaryDirectory() as workdir:
        if http_names:
            chosen = [s for s in setups(Path(workdir), options.quick) if s.name in http_names]
            results = {setup.name: measure(setup, duration) for setup in chosen}
        if database_rows:
            db = run_database_rows(database_rows, Path(workdir), options.quick)
        if "quart" in results and not options.quick:
            sockets = websocket_capacity(next(s for s in chosen if s.name == "quart"))
        venvs = [VENVS / mode for mode in MODES] if results else []
        machine = machine_info(
            duration,
            list(dict.fromkeys(venvs + db.venvs)),
            REPORTED_PACKAGES | (DATABASE_PACKAGES if db.databases else set()),
        )
    databases, drivers = db.databases, db.drivers
    if databases:
        machine["versions"].update(db.versions)
        machine["database_duration_s"], machine["warm_up_s"] = db.duration_s, db.warm_up_s
    (output / "results.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "results": results,
                "websockets": sockets,
                **({"database": databases, "bare_driver": drivers} if databases else {}),
            },
            indent=2,
        )
    )
    (output / "results.md").write_text(markdown(results, machine, sockets, databases, drivers))
    if results:
        chart(results, output / "results.png")
        print("\n".join(verdicts(results)))
    for database, outcomes in databases.items():
        print(f"\n{database}:")
        print("\n".join(database_table(database, outcomes, drivers)))
        print(f"\nbare driver on {database}: {drivers[database]['driver']}")
        print("\n".join(driver_table(database, drivers)))
    if databases:
        print("\n" + "\n".join(summary_rows(databases, drivers)))
    print(f"wrote {output}/results.{{json,md{',png' if results else ''}}}")

"""The whole run: bake, measure (HTTP rows, database rows, bare-driver limit, auth rows), report."""

import json
import signal
import sys
import tempfile
from pathlib import Path

from .auth_report import auth_markdown, auth_table
from .auth_rows import AuthRun, run_auth_rows
from .chart import chart
from .compare import compare
from .config import MODES, VENVS
from .database_report import database_table, driver_table, summary_rows
from .database_rows import DatabaseRun, run_database_rows
from .machine import REPORTED_PACKAGES, machine_info
from .markdown import markdown
from .measure import measure
from .options import output_dir, parse_options
from .setups import setups
from .targets import verdicts
from .websocket_capacity import websocket_capacity

DATABASE_PACKAGES = {"sqlalchemy", "psycopg", "aiosqlite"}
AUTH_PACKAGES = {"pyjwt", "cryptography"}


def main() -> None:
    # `kill` of the benchmark unwinds like Ctrl-C: servers and the cluster get stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options, http_names, database_rows, auth_modes = parse_options()
    output = output_dir(options)
    # --quick, a smoke run under 5 minutes on 2 cores: one short row per setup.
    duration, warm_up_s = (2, 1) if options.quick else (10, 3)
    output.mkdir(parents=True, exist_ok=True)
    if options.compare:
        compare(options, [name for name in http_names if name in MODES], database_rows, output)
        return
    results, sockets, db, auth = {}, [], DatabaseRun(), AuthRun()
    with tempfile.TemporaryDirectory() as workdir:
        if http_names:
            chosen = [s for s in setups(Path(workdir), options.quick) if s.name in http_names]
            results = {setup.name: measure(setup, duration, warm_up_s) for setup in chosen}
        if database_rows:
            db = run_database_rows(database_rows, Path(workdir), options.quick)
        if auth_modes:
            auth = run_auth_rows(auth_modes, Path(workdir), options.quick)
        if "quart" in results and not options.quick:
            sockets = websocket_capacity(next(s for s in chosen if s.name == "quart"))
        venvs = [VENVS / mode for mode in MODES] if results else []
        machine = machine_info(
            duration,
            list(dict.fromkeys(venvs + db.venvs + auth.venvs)),
            REPORTED_PACKAGES
            | (DATABASE_PACKAGES if db.databases or auth.modes else set())
            | (AUTH_PACKAGES if auth.modes else set()),
        )
    if auth.modes:
        # A file of their own too: `--only auth` adds them beside a full run's results.
        (output / "auth.json").write_text(
            # The auth rows' duration is their own (in "auth"), not the HTTP rows' of machine.
            json.dumps(
                {
                    "machine": {k: v for k, v in machine.items() if k != "duration_s"},
                    "auth": auth.as_json(),
                },
                indent=2,
            )
        )
        (output / "auth.md").write_text(auth_markdown(auth.as_json(), machine))
        print("\n" + "\n".join(auth_table(auth.as_json())))
        if not results and not db.databases:
            print(f"wrote {output}/auth.{{json,md}}")
            return
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
                **({"auth": auth.as_json()} if auth.modes else {}),
            },
            indent=2,
        )
    )
    (output / "results.md").write_text(
        markdown(
            results, machine, sockets, databases, drivers, auth.as_json() if auth.modes else None
        )
    )
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

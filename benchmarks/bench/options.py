"""The command line: --quick, --only NAME..., --output DIR, --compare REF."""

import argparse
from pathlib import Path

from . import __doc__ as DESCRIPTION
from .config import DEFAULT_SERVER_MODES, MODES, RESULTS, ROOT
from .database_setups import DATABASES
from .setups import HTTP_SETUPS

# Anything short of a full run writes here, so the published results stay as measured.
PARTIAL_RESULTS = ROOT / ".cache" / "bench-results"


def parse_options():
    """The options, the HTTP setups to run, the (mode, database) rows to run, and the modes whose
    auth rows run."""
    description = " ".join(DESCRIPTION.strip().split("\n\n")[0].split())
    parser = argparse.ArgumentParser(prog="benchmarks/run", description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=(
            "a smoke run: one 2 s row per setup (`/` at 64 connections), database rows on "
            "SQLite, auth rows for the default servers' modes"
        ),
    )
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="NAME",
        help=(
            f"run only these: HTTP setups ({', '.join(HTTP_SETUPS)}), 'database' for every "
            f"database row, a database ({', '.join(DATABASES)}) for its rows in every mode, "
            "or MODE/DATABASE (e.g. wsgi/sqlite); the bare-driver limit runs with the "
            "database rows; 'auth' for GET /items/<id> with and without a bearer token in "
            "every mode, or auth/MODE"
        ),
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where results go (default: {RESULTS.relative_to(ROOT)} for a full run, "
        f"{PARTIAL_RESULTS.relative_to(ROOT)} with --quick or --only)",
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        help=(
            "before and after in one run: the `/` row of each mode and the database rows, for "
            "the template at git commit REF and for the working tree, each row for both back to "
            "back; writes compare.{json,md} (--only narrows it to modes and database rows)"
        ),
    )
    options = parser.parse_args()
    database_rows = [(mode, database) for database in DATABASES for mode in DEFAULT_SERVER_MODES]
    if not options.only:  # as before: `--only` with no names runs everything
        auth = list(MODES)
        if options.quick:  # a smoke run: the data layer on SQLite (`--only postgresql` for more)
            database_rows = [row for row in database_rows if row[1] == "sqlite"]
            auth = list(DEFAULT_SERVER_MODES)  # `--only auth` for the other servers' modes
        return options, list(HTTP_SETUPS), database_rows, auth
    http, chosen, auth = [], set(), set()
    for name in options.only:
        if name in HTTP_SETUPS:
            http.append(name)
        elif name == "auth":
            auth.update(MODES)
        elif name.startswith("auth/") and name[5:] in MODES:
            auth.add(name[5:])
        elif name == "database":
            chosen.update(database_rows)
        elif name in DATABASES:
            chosen.update((mode, name) for mode in DEFAULT_SERVER_MODES)
        elif tuple(name.split("/")) in database_rows:
            chosen.add(tuple(name.split("/")))
        else:
            parser.error(f"unknown name {name!r} for --only")
    if options.compare and set(http) - set(MODES):
        parser.error(f"--compare measures the generated modes only: {', '.join(MODES)}")
    if options.compare and auth:
        parser.error("--compare measures `/` and the database rows, not the auth rows")
    rows = [row for row in database_rows if row in chosen]
    return options, http, rows, [mode for mode in MODES if mode in auth]


def output_dir(options) -> Path:
    """results/ for a full run only: a quick or partial run must not replace its figures."""
    if options.output:
        return options.output
    return RESULTS if not options.quick and not options.only else PARTIAL_RESULTS

"""The database rows' setups: per mode and database, a project baked for that database, a fresh
database migrated and seeded, and the production server pointed at it."""

import json
from dataclasses import dataclass
from pathlib import Path

from .baking import (
    WORKING_TREE,
    Template,
    bake_and_install,
    serve_command,
    served_app,
    serving_package,
)
from .processes import run, server_env
from .setups import Scenario, Setup

DATABASES = ("sqlite", "postgresql")
SEED_ITEMS = 10_000
SLOW_QUERY_SECONDS = 0.05
HERE = Path(__file__).resolve().parent
LUA = HERE / "lua"
VENV_SCRIPTS = HERE / "venv_scripts"


@dataclass(frozen=True)
class Query:
    name: str  # the key in results.json, shared with the bare-driver rows
    label: str  # the request, as the report shows it
    path: str
    script: Path | None = None
    sleep: float | None = None


QUERIES = (
    Query("get_item", "GET /items/<id>", "/items/1", LUA / "get_item.lua"),
    Query("create_item", "POST /items", "/items", LUA / "create_item.lua"),
    Query("list_items", "GET /items?limit=20", "/items?limit=20"),
    Query(
        "slow_query",
        f"GET /slow-query?seconds={SLOW_QUERY_SECONDS:g}",
        f"/slow-query?seconds={SLOW_QUERY_SECONDS:g}",
        sleep=SLOW_QUERY_SECONDS,
    ),
)
QUERY_LABELS = {query.name: query.label for query in QUERIES}


@dataclass
class DatabaseSetup(Setup):
    mode: str = ""
    database: str = ""
    venv: Path | None = None
    workers: int = 0  # server processes
    pool_size: int = 0  # connections in each process's pool
    first_id: int = 0  # the seeded rows' ids, for random reads
    last_id: int = 0

    @property
    def connections_total(self) -> int:
        return self.workers * self.pool_size


def database_levels(quick: bool) -> tuple[int, ...]:
    return (64,) if quick else (64, 256, 1024)


def fresh_database_url(database: str, name: str, workdir: Path, cluster) -> str:
    """An empty database: a new SQLite file in the run's temporary directory, or a new
    database on the run's PostgreSQL cluster."""
    if database == "sqlite":
        directory = workdir / "databases"
        directory.mkdir(exist_ok=True)
        path = directory / f"{name}.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    return cluster.create_database(f"bench_{name}")


def venv_json(venv: Path, script: str, *args: str, project: Path, url: str) -> dict:
    """Run one of venv_scripts/ with the project's interpreter; its JSON answer."""
    python = str(venv / "bin" / "python")
    completed = run(
        [python, str(VENV_SCRIPTS / script), *args],
        cwd=project,
        env=server_env(DATABASE_URL=url),
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def migrate_and_seed(project: Path, venv: Path, url: str) -> dict:
    """Apply the project's migrations with its own command, then add SEED_ITEMS items."""
    slug = project.name
    python = str(venv / "bin" / "python")
    run([python, "-m", f"{slug}.database.migrate"], cwd=project, env=server_env(DATABASE_URL=url))
    return venv_json(venv, "seed_items.py", slug, str(SEED_ITEMS), project=project, url=url)


def database_setup(
    mode: str, database: str, workdir: Path, cluster, quick: bool, template: Template = WORKING_TREE
) -> DatabaseSetup:
    """Bake (or reuse) the mode's project for this database, prepare its database, and list the
    four queries at each concurrency."""
    project, venv = bake_and_install(mode, workdir, database, template)
    name = f"{mode}_{template.commit}" if template.commit else mode
    url = fresh_database_url(database, name, workdir, cluster)
    ids = migrate_and_seed(project, venv, url)
    server = "granian" if mode.endswith("_granian") else "asgi"
    launcher = f"{serving_package(project)}.{server}_server"
    shape = venv_json(
        venv, "server_shape.py", mode, project.name, launcher, project=project, url=url
    )
    capacity = shape["workers"] * shape["pool_size"]
    scenarios = [
        Scenario(query.name, query.path, n, query.sleep, capacity, query.script)
        for query in QUERIES
        for n in database_levels(quick)
    ]
    return DatabaseSetup(
        name=f"{mode}/{database}",
        label=(
            f"{mode} on {database}: generated, production server config, "
            f"{shape['workers']} processes x pool of {shape['pool_size']}"
        ),
        command=serve_command(mode, project, venv, served_app(mode)),
        cwd=project,
        scenarios=scenarios,
        env={"DATABASE_URL": url},
        mode=mode,
        database=database,
        venv=venv,
        workers=shape["workers"],
        pool_size=shape["pool_size"],
        first_id=ids["first_id"],
        last_id=ids["last_id"],
    )

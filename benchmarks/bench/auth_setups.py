"""The auth rows' setups: per mode, the SQLite project baked with auth=none and with auth=oidc
(one venv), each on a fresh database migrated and seeded as the database rows do, and the
stand-in OpenID provider the oidc one checks tokens against."""

import contextlib
import json
import subprocess
from dataclasses import replace
from pathlib import Path

from .baking import bake_and_install, serve_command, served_app, serving_package
from .database_setups import (
    LUA,
    VENV_SCRIPTS,
    DatabaseSetup,
    fresh_database_url,
    migrate_and_seed,
    venv_json,
)
from .processes import stop_tree
from .setups import Scenario

AUTHS = ("none", "oidc")
AUDIENCE = "bench-items"
SCOPE = "items:read"  # what GET /items/<id> needs
CONNECTIONS = 64


def get_item(headers: tuple[str, ...] = ()) -> Scenario:
    """GET /items/<id> over random seeded ids, as the database rows request it."""
    return Scenario(
        "get_item", "/items/1", CONNECTIONS, script=LUA / "get_item.lua", headers=headers
    )


def auth_setup(mode: str, auth: str, workdir: Path) -> DatabaseSetup:
    """Bake (or reuse: auth=none is the HTTP and database rows' project) and seed one project."""
    project, venv = bake_and_install(mode, workdir, "sqlite", auth=auth)
    url = fresh_database_url("sqlite", f"{mode}_auth_{auth}", workdir, None)
    ids = migrate_and_seed(project, venv, url)
    return DatabaseSetup(
        name=f"{mode}/auth={auth}",
        label=f"{mode}, auth={auth}: generated, production server config, on SQLite",
        command=serve_command(mode, project, venv, served_app(mode)),
        cwd=project,
        scenarios=[get_item()],
        env={"DATABASE_URL": url},
        mode=mode,
        database="sqlite",
        venv=venv,
        first_id=ids["first_id"],
        last_id=ids["last_id"],
    )


def auth_pair(mode: str, workdir: Path) -> dict[str, DatabaseSetup]:
    """Both projects of a mode; the processes and pool are the unauthenticated one's (the same
    server configuration: auth changes neither)."""
    pair = {auth: auth_setup(mode, auth, workdir) for auth in AUTHS}
    plain = pair["none"]
    server = "granian" if mode.endswith("_granian") else "asgi"
    launcher = f"{serving_package(plain.cwd)}.{server}_server"
    shape = venv_json(
        plain.venv,
        "server_shape.py",
        mode,
        plain.cwd.name,
        launcher,
        project=plain.cwd,
        url=plain.env["DATABASE_URL"],
    )
    return {
        auth: replace(setup, workers=shape["workers"], pool_size=shape["pool_size"])
        for auth, setup in pair.items()
    }


@contextlib.contextmanager
def stand_in_issuer(setup: DatabaseSetup):
    """The baked project's stand-in provider, started by its own interpreter (the benchmark's has
    no PyJWT); yields (its URL, a token with SCOPE for AUDIENCE); stopped by its PID."""
    issuer = subprocess.Popen(
        [str(setup.venv / "bin" / "python"), str(VENV_SCRIPTS / "oidc_issuer.py"), AUDIENCE, SCOPE],
        cwd=setup.cwd,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        started = json.loads(issuer.stdout.readline())
        yield started["url"], started["token"]
    finally:
        stop_tree(issuer)

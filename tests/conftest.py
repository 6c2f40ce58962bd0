"""Shared fixtures: baked projects and one reusable virtual environment per mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from postgres_support import postgres  # noqa: F401 - the session's PostgreSQL cluster

TEMPLATE = Path(__file__).resolve().parent.parent
# pytest-cookies renders cookiecutter.json itself, before Cookiecutter puts the template on the
# import path, so its Jinja extension (local_extensions.py) must be importable from here too.
sys.path.append(str(TEMPLATE))
# The modes a project can be generated in, and the answers that produce each.
MODES = {
    "wsgi": {"interface": "wsgi"},
    "wsgi_granian": {"interface": "wsgi", "wsgi_server": "granian"},
    "asgi": {"interface": "asgi", "asgi_framework": "flask"},
    "quart": {"interface": "asgi", "asgi_framework": "quart"},
    "asgi_hypercorn": {"interface": "asgi", "asgi_framework": "flask", "asgi_server": "hypercorn"},
    "quart_hypercorn": {"interface": "asgi", "asgi_framework": "quart", "asgi_server": "hypercorn"},
    "asgi_granian": {"interface": "asgi", "asgi_framework": "flask", "asgi_server": "granian"},
    "quart_granian": {"interface": "asgi", "asgi_framework": "quart", "asgi_server": "granian"},
}

# Tests about the framework or the database rather than the server (adding a resource, with its
# migration and its tests) run on each framework's default server only: the other servers would
# repeat them at no gain. Every test about the server runs on every mode.
FRAMEWORK_MODES = ["wsgi", "asgi", "quart"]


# Why the hypercorn modes skip the 2**80 chunk size: their parser (h11) takes a chunk size of up to
# 20 hex digits and waits for the bytes, as for any slow upload. On the event loop that costs a
# coroutine, not a thread; the body limit refuses the upload once more than it has arrived.
AWAITS_THE_BYTES = "Hypercorn waits for a 2**80-byte chunk's bytes, as for any slow upload"


def framework(mode: str) -> str:
    return MODES[mode].get("asgi_framework", "flask")


def server_of(mode: str) -> str:
    """The server a mode runs: the WSGI or the ASGI server chosen."""
    answers = MODES[mode]
    if answers["interface"] == "wsgi":
        return answers.get("wsgi_server", "gunicorn")
    return answers.get("asgi_server", "uvicorn")


# Virtual environments survive between runs (pip then only re-links the baked project).
VENV_CACHE = Path(os.environ.get("TEMPLATE_VENV_CACHE", TEMPLATE / ".cache" / "venvs"))


# Figures tests measure (start-up, overlap, shutdown, image size...), shown after the run. A file,
# because under pytest-xdist the tests run in worker processes and the summary in the controller.
MEASUREMENTS = TEMPLATE / ".cache" / "measurements.txt"


def report(line: str) -> None:
    """Record a measured figure for the summary at the end of the test run."""
    MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
    with MEASUREMENTS.open("a") as file:
        file.write(line + "\n")


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        MEASUREMENTS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS.exists():
        terminalreporter.section("measured")
        for line in sorted(MEASUREMENTS.read_text().splitlines()):
            terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under `pytest -n 2 --dist loadgroup`, keep each mode's venv, server and image on one
    worker: two workers installing into one venv at once would break each other."""
    for item in items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        mode = next((params[name] for name in INSTALLED_PROJECT_FIXTURES if name in params), None)
        if mode:
            item.add_marker(pytest.mark.xdist_group(mode))


def run(command, cwd=None, env=None, timeout=600, check=True):
    """Run a command; on failure, fail the test with the command's own output."""
    result = subprocess.run(
        command, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}",
            pytrace=False,
        )
    return result


def bake(cookies, **answers):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


def ensure_venv(mode: str) -> Path:
    venv = VENV_CACHE / mode
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    return venv


def install(mode: str, project: Path) -> Path:
    """`make install` into the mode's venv: the SQLite and PostgreSQL projects of a mode share it
    (different package names), which the xdist grouping keeps on one worker."""
    venv = ensure_venv(mode)
    run(["make", "install", f"VENV={venv}"], cwd=project)
    return venv


def bake_and_install(cookies, mode: str, name: str, database: str) -> tuple[str, Path, Path]:
    project = bake(cookies, project_name=name, database=database, **MODES[mode])
    return mode, project, install(mode, project)


@pytest.fixture(scope="session", params=list(MODES))
def installed_project(request, cookies_session):
    """A baked project per mode (SQLite, the default database), installed with `make install`."""
    mode = request.param
    return bake_and_install(cookies_session, mode, f"Shop {mode}", "sqlite")


@pytest.fixture(scope="session", params=list(MODES))
def installed_postgres_project(request, cookies_session):
    """The same per mode with `database=postgresql`."""
    mode = request.param
    return bake_and_install(cookies_session, mode, f"Shop {mode} pg", "postgresql")


@pytest.fixture(scope="session", params=list(MODES))
def installed_plain_project(request, cookies_session):
    """The same per mode with `database=none`: no data layer at all."""
    mode = request.param
    return bake_and_install(cookies_session, mode, f"Shop {mode} plain", "none")


@pytest.fixture(scope="session", params=list(MODES))
def installed_auth_project(request, cookies_session):
    """The same per mode (SQLite) with `auth=oidc`: bearer tokens from an OpenID provider."""
    mode = request.param
    project = bake(
        cookies_session,
        project_name=f"Shop {mode} auth",
        database="sqlite",
        auth="oidc",
        **MODES[mode],
    )
    return mode, project, install(mode, project)


# The fixtures above: each mode's projects share its venv, so its tests stay on one worker.
INSTALLED_PROJECT_FIXTURES = (
    "installed_project",
    "installed_postgres_project",
    "installed_plain_project",
    "installed_auth_project",
)


def migrate(project: Path, venv: Path, database_url: str) -> None:
    """`make migrate`, as a team would run it, against `database_url`."""
    run(
        ["make", "migrate", f"VENV={venv}"],
        cwd=project,
        env={**os.environ, "DATABASE_URL": database_url},
    )

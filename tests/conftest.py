"""Shared fixtures: baked projects and one reusable virtual environment per mode."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
# The modes a project can be generated in, and the answers that produce each.
MODES = {
    "wsgi": {"interface": "wsgi"},
    "asgi": {"interface": "asgi", "asgi_framework": "flask"},
    "quart": {"interface": "asgi", "asgi_framework": "quart"},
}
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
        mode = getattr(item, "callspec", None) and item.callspec.params.get("installed_project")
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


@pytest.fixture(scope="session", params=list(MODES))
def installed_project(request, cookies_session):
    """A baked project per mode, installed with `make install` into a reused venv."""
    mode = request.param
    project = bake(cookies_session, project_name=f"Shop {mode}", **MODES[mode])
    venv = ensure_venv(mode)
    run(["make", "install", f"VENV={venv}"], cwd=project)
    return mode, project, venv

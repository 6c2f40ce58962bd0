"""Shared fixtures: baked projects and one reusable virtual environment per interface."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
INTERFACES = ("wsgi", "asgi")
# Virtual environments survive between runs (pip then only re-links the baked project).
VENV_CACHE = Path(os.environ.get("TEMPLATE_VENV_CACHE", TEMPLATE / ".cache" / "venvs"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under `pytest -n 2 --dist loadgroup`, keep each interface's venv, server and image on one
    worker: two workers installing into one venv at once would break each other."""
    for item in items:
        interface = getattr(item, "callspec", None) and item.callspec.params.get(
            "installed_project"
        )
        if interface:
            item.add_marker(pytest.mark.xdist_group(interface))


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


def ensure_venv(interface: str) -> Path:
    venv = VENV_CACHE / interface
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    return venv


@pytest.fixture(scope="session", params=INTERFACES)
def installed_project(request, cookies_session):
    """A baked project per interface, installed with `make install` into a reused venv."""
    interface = request.param
    project = bake(cookies_session, interface=interface, project_name=f"Shop {interface}")
    venv = ensure_venv(interface)
    run(["make", "install", f"VENV={venv}"], cwd=project)
    return interface, project, venv

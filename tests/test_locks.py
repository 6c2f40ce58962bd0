"""The template's lock files: every combination's pins match its pyproject.toml, as `make lock`
in the baked project writes them (templates/locks/update.py; needs PyPI)."""

import importlib.util
import json
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "update_locks", TEMPLATE / "templates/locks/update.py"
)
update_locks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_locks)

pytestmark = pytest.mark.skipif(
    update_locks.find_uv() is None, reason="uv: pip install -r requirements-test.txt"
)


@pytest.mark.parametrize("combination", update_locks.COMBINATIONS)
def test_the_shipped_lock_is_what_make_lock_writes(combination, tmp_path):
    project = update_locks.bake(combination, tmp_path)
    shipped = {name: (project / name).read_text() for name in update_locks.LOCK_FILES}
    assert all("--hash=sha256:" in text for text in shipped.values())

    diff = update_locks.differences(combination, update_locks.lock(project))
    assert not diff, f"run python templates/locks/update.py:\n{diff}"


def test_every_combination_the_template_can_bake_has_a_lock():
    """From cookiecutter.json's own choices (WSGI takes Flask only), named as its __lock names
    them, not from update.py's list."""
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    servers = [(server, "wsgi") for server in choices["wsgi_server"]] + [
        (server, "asgi") for server in choices["asgi_server"]
    ]
    bakeable = {
        f"{server}{'_wsgi' if interface == 'wsgi' and server != 'gunicorn' else ''}"
        f"-{framework}-{database}{'-oidc' if auth == 'oidc' else ''}"
        for server, interface in servers
        for framework in choices["asgi_framework"]
        for database in choices["database"]
        for auth in choices["auth"]
        if not (interface == "wsgi" and framework != "flask")
    }
    stored = {path.name for path in (TEMPLATE / "templates/locks").iterdir() if path.is_dir()}
    assert stored == bakeable
    assert set(update_locks.COMBINATIONS) == bakeable

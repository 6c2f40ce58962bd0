"""The lock files the template ships: one pair per combination of answers that changes them.

    python templates/locks/update.py            # after editing the project's pyproject.toml
    python templates/locks/update.py --upgrade  # move every pin to the newest release
    python templates/locks/update.py --check    # fail if a lock no longer matches pyproject.toml

Each combination is baked and its own `make lock` (uv pip compile) writes the pins, so the template
and the generated projects pin in exactly one way. The files land in templates/locks/<combination>/,
where the project's requirements*.txt include them: generating a project stays offline. Needs make,
uv (from requirements-test.txt) and PyPI.
"""

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

LOCKS = Path(__file__).resolve().parent
TEMPLATE = LOCKS.parents[1]
LOCK_FILES = ("requirements.txt", "requirements-dev.txt")
# The answers that change the dependencies; the others (names, Python version, license) do not:
# the pins hold for Python 3.11 and newer.
# Named as cookiecutter.json's __lock names them: server (with "_wsgi" where a server speaks both
# interfaces), framework, database, and "-oidc" where the service checks bearer tokens.
SERVERS = {
    "gunicorn": {"interface": "wsgi", "wsgi_server": "gunicorn"},
    "granian_wsgi": {"interface": "wsgi", "wsgi_server": "granian"},
    "uvicorn": {"interface": "asgi", "asgi_server": "uvicorn"},
    "hypercorn": {"interface": "asgi", "asgi_server": "hypercorn"},
    "granian": {"interface": "asgi", "asgi_server": "granian"},
}
COMBINATIONS = {
    f"{server}-{framework}-{database}{'-oidc' if auth == 'oidc' else ''}": {
        **SERVERS[server],
        "asgi_framework": framework,
        "database": database,
        "auth": auth,
    }
    for server, framework in (
        ("gunicorn", "flask"),
        ("granian_wsgi", "flask"),
        ("uvicorn", "flask"),
        ("uvicorn", "quart"),
        ("hypercorn", "flask"),
        ("hypercorn", "quart"),
        ("granian", "flask"),
        ("granian", "quart"),
    )
    for database in ("sqlite", "postgresql", "none")
    for auth in ("none", "oidc")
}
# The name the baked project has. Its pins name it, normalized ("# via lock-check"); the template
# writes the generated project's own name there instead.
PROJECT_NAME = "lock_check"
NAME_IN_PINS = "lock-check"
NAME_IN_TEMPLATE = "{{ cookiecutter.project_slug | replace('_', '-') }}"


def find_uv() -> Path | None:
    """uv on PATH, or next to this interpreter (a virtual environment that is not activated)."""
    beside = Path(sys.executable).parent / "uv"
    found = shutil.which("uv") or (str(beside) if beside.exists() else None)
    return Path(found) if found else None


def uv_bin() -> Path:
    uv = find_uv()
    if uv is None:
        sys.exit("uv is not installed: pip install -r requirements-test.txt")
    return uv.parent


def bake(combination: str, output_dir: Path) -> Path:
    answers = {**COMBINATIONS[combination], "project_name": PROJECT_NAME}
    project = cookiecutter(
        str(TEMPLATE), no_input=True, extra_context=answers, output_dir=output_dir
    )
    return Path(project)


def lock(project: Path, upgrade: bool = False) -> dict[str, str]:
    """Run the project's `make lock` and return its lock files, as the template stores them."""
    command = ["make", "--no-print-directory", "lock", f"BIN={uv_bin()}"]
    if upgrade:
        command.append("UPGRADE=--upgrade")
    subprocess.run(command, cwd=project, check=True)
    return {
        name: (project / name).read_text().replace(NAME_IN_PINS, NAME_IN_TEMPLATE)
        for name in LOCK_FILES
    }


def stored(combination: str) -> dict[str, str]:
    return {name: read_or_empty(LOCKS / combination / name) for name in LOCK_FILES}


def read_or_empty(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def differences(combination: str, expected: dict[str, str]) -> str:
    actual = stored(combination)
    return "".join(
        "".join(
            difflib.unified_diff(
                actual[name].splitlines(keepends=True),
                expected[name].splitlines(keepends=True),
                f"templates/locks/{combination}/{name}",
                "pinned again from pyproject.toml",
            )
        )
        for name in LOCK_FILES
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--upgrade", action="store_true", help="take the newest release of each")
    mode.add_argument("--check", action="store_true", help="change nothing; fail on a mismatch")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for combination in COMBINATIONS:
            for name in LOCK_FILES:  # a new combination starts from empty pins
                path = LOCKS / combination / name
                if not path.exists() and not args.check:
                    path.parent.mkdir(exist_ok=True)
                    path.touch()
            project = bake(combination, Path(tmp) / combination)
            pins = lock(project, upgrade=args.upgrade)
            if args.check:
                diff = differences(combination, pins)
                failed |= bool(diff)
                print(diff or f"{combination}: up to date")
            else:
                for name, text in pins.items():
                    (LOCKS / combination / name).write_text(text)
                print(f"{combination}: pinned")
    if failed:
        print("Locks differ from pyproject.toml: python templates/locks/update.py", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

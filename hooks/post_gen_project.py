"""Tidy the generated project: drop the files of the interface not chosen, then say what next."""

import shutil
from pathlib import Path

INTERFACE = "{{ cookiecutter.interface }}"
FRAMEWORK = "{{ cookiecutter.__framework }}"
SERVER = "{{ cookiecutter.__server }}"
PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
DATABASE = "{{ cookiecutter.database }}"
AUTH = "{{ cookiecutter.auth }}"

# Files that belong to one choice only, relative to the project root.
WSGI_FILES = [f"src/{PROJECT_SLUG}/serving/wsgi.py", "tests/test_wsgi.py"]
GUNICORN_FILES = [
    "gunicorn.conf.py",
    "tests/test_gunicorn_conf.py",
    # The buffering proxy gunicorn needs in front (the other servers read requests on an event
    # loop).
    "deploy/nginx/nginx.conf",
]
ASGI_FILES = [f"src/{PROJECT_SLUG}/serving/asgi.py"]
# The launcher of uvicorn and Hypercorn; Granian has its own, for both interfaces.
ASGI_SERVER_FILES = [f"src/{PROJECT_SLUG}/serving/asgi_server.py"]
# Granian's launcher (WSGI and ASGI).
GRANIAN_FILES = [
    f"src/{PROJECT_SLUG}/serving/granian_server.py",
    "tests/test_granian_server.py",
]
# gunicorn's limits on the request head, for the servers that lack them.
HTTP_LIMITS_FILES = [
    f"src/{PROJECT_SLUG}/serving/http_limits.py",
    "tests/test_http_limits.py",
]
# Hypercorn's worker processes under our own supervisor.
HYPERCORN_FILES = [
    f"src/{PROJECT_SLUG}/serving/hypercorn_workers.py",
    "tests/test_hypercorn_workers.py",
]
# The tests' handle on the real server, for the servers that need it in the project's own tests.
REAL_SERVER_FILES = ["tests/real_server.py"]
WEBSOCKET_DRAIN_FILES = [
    f"src/{PROJECT_SLUG}/serving/websocket_drain.py",
    "tests/test_websocket_drain.py",
]
# Flask under ASGI needs the adapter; Quart is ASGI already.
ADAPTER_FILES = [f"src/{PROJECT_SLUG}/serving/asgi_adapter.py", "tests/test_asgi.py"]
WEBSOCKET_FILES = [f"src/{PROJECT_SLUG}/views/realtime.py", "tests/test_websocket.py"]
# Flask's limit for chunked uploads; Quart enforces MAX_CONTENT_LENGTH on every body itself.
FLASK_FILES = [f"src/{PROJECT_SLUG}/middleware/body_limit.py", "tests/test_body_limit.py"]
# Bearer tokens from an OpenID Connect provider, for auth=oidc only.
AUTH_DIRS = [f"src/{PROJECT_SLUG}/middleware/auth"]
AUTH_FILES = [
    f"src/{PROJECT_SLUG}/views/me.py",
    f"src/{PROJECT_SLUG}/schemas/me.py",
    "tests/test_auth.py",
    "tests/test_auth_keys.py",
    "tests/oidc_issuer.py",
]
# The data layer and everything built on it, for database=none.
DATABASE_DIRS = [
    f"src/{PROJECT_SLUG}/database",
    f"src/{PROJECT_SLUG}/queries",
    f"src/{PROJECT_SLUG}/schemas",
]
# Kubernetes: a migration Job for PostgreSQL; for SQLite one pod owns the data volume and migrates
# in an init container instead, so it also keeps its fixed single replica.
POSTGRESQL_ONLY_FILES = ["deploy/kubernetes/base/migration-job.yaml"]
SQLITE_ONLY_FILES = [
    "deploy/kubernetes/base/data-volume.yaml",
    "deploy/kubernetes/overlays/production/data-volume.yaml",
]
SCALABLE_ONLY_FILES = ["deploy/kubernetes/overlays/production/replicas.yaml"]
DATABASE_FILES = [
    "alembic.ini",
    f"src/{PROJECT_SLUG}/middleware/openapi.py",
    f"src/{PROJECT_SLUG}/middleware/validation.py",
    f"src/{PROJECT_SLUG}/views/items.py",
    "tests/test_database.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
    "tests/test_openapi.py",
]


def remove(root: Path, relative_paths: list[str]) -> None:
    for relative in relative_paths:
        path = root / relative
        path.unlink(missing_ok=True)
        if path.parent != root and path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()  # a directory that held only this choice's files


def remove_database_files(root: Path) -> None:
    remove(root, DATABASE_FILES)
    for relative in DATABASE_DIRS:
        shutil.rmtree(root / relative, ignore_errors=True)


def remove_auth_files(root: Path) -> None:
    remove(root, AUTH_FILES)
    for relative in AUTH_DIRS:
        shutil.rmtree(root / relative, ignore_errors=True)


def remove_wsgi_files(root: Path) -> None:
    remove(root, WSGI_FILES)


def remove_asgi_files(root: Path) -> None:
    remove(root, ASGI_FILES)


def remove_adapter_files(root: Path) -> None:
    remove(root, ADAPTER_FILES)


def remove_websocket_files(root: Path) -> None:
    remove(root, WEBSOCKET_FILES)


def remove_flask_files(root: Path) -> None:
    remove(root, FLASK_FILES)


def next_steps(slug: str, database: str, auth: str) -> str:
    steps = [
        f"Created ./{slug}. Next steps:",
        f"  cd {slug}",
        "  make install test     # virtual environment in .venv, then the tests",
    ]
    if database == "postgresql":
        steps.append("  export DATABASE_URL=postgresql://user:password@127.0.0.1:5432/name")
    if database != "none":
        steps.append("  make migrate          # create the tables in DATABASE_URL")
    steps.append("  make dev              # debug server with reload on http://127.0.0.1:5000")
    if auth == "oidc":
        scopes = ' scope="items:read items:write"' if database != "none" else ""
        steps.append(f"  make token{scopes}   # a bearer token from the local key")
    return "\n".join(steps)


def main() -> None:
    root = Path.cwd()
    if INTERFACE == "wsgi":
        remove_asgi_files(root)
    else:
        remove_wsgi_files(root)
    if SERVER not in ("uvicorn", "hypercorn"):
        remove(root, ASGI_SERVER_FILES)
    if SERVER != "gunicorn":
        remove(root, GUNICORN_FILES)
    if SERVER != "granian":
        remove(root, GRANIAN_FILES)
    if SERVER == "gunicorn":
        remove(root, HTTP_LIMITS_FILES)
    if not (INTERFACE == "asgi" and FRAMEWORK == "flask"):
        remove_adapter_files(root)
    if SERVER != "hypercorn":
        remove(root, HYPERCORN_FILES)
    if SERVER not in ("hypercorn", "granian"):
        remove(root, REAL_SERVER_FILES)
    if not (SERVER in ("hypercorn", "granian") and FRAMEWORK == "quart"):
        remove(root, WEBSOCKET_DRAIN_FILES)
    if FRAMEWORK == "quart":
        remove_flask_files(root)
    else:
        remove_websocket_files(root)
    if DATABASE == "none":
        remove_database_files(root)
    if DATABASE != "postgresql":
        remove(root, POSTGRESQL_ONLY_FILES)
    if DATABASE != "sqlite":
        remove(root, SQLITE_ONLY_FILES)
    else:
        remove(root, SCALABLE_ONLY_FILES)
    if AUTH != "oidc":
        remove_auth_files(root)
    print(next_steps(PROJECT_SLUG, DATABASE, AUTH))


if __name__ == "__main__":
    main()

"""Bake every combination of answers: files, rendering and lint."""

import hashlib
import itertools
import json
import re
import subprocess
import sys
import time
import tomllib

import pytest

from conftest import MODES, TEMPLATE, bake, report

OPTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# Every combination of these answers is baked...
QUESTIONS = (
    "interface",
    "wsgi_server",
    "asgi_framework",
    "asgi_server",
    "database",
    "auth",
)
# ...and the Python version (the image's tag and CI's Python) and the license (LICENSE and one
# pyproject field), which change no code, take each of their values in turn: every one is baked
# and linted too, in many modes (3 and 4 values: coprime, so every pairing of the two comes up).
ROTATED = ("python_version", "license")
COMBINATIONS = [
    {
        **answers,
        **{question: OPTIONS[question][index % len(OPTIONS[question])] for question in ROTATED},
    }
    for index, answers in enumerate(
        answers
        for answers in (
            dict(zip(QUESTIONS, values, strict=True))
            for values in itertools.product(*(OPTIONS[question] for question in QUESTIONS))
        )
        # Each interface's questions keep their defaults under the other; the pre-generation
        # hook refuses anything else (see test_bad_answers.py).
        if (
            answers["asgi_framework"] == "flask" and answers["asgi_server"] == "uvicorn"
            if answers["interface"] == "wsgi"
            else answers["wsgi_server"] == "gunicorn"
        )
    )
]
COMMON_FILES = [
    ".cookiecutter.json",
    ".dockerignore",
    ".env.example",
    ".gitattributes",
    ".gitignore",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "LICENSE",
    "Makefile",
    "README.md",
    "compose.yaml",
    "pyproject.toml",
    "src/{slug}/__init__.py",
    "src/{slug}/settings.py",
    "src/{slug}/middleware/logs.py",
    "src/{slug}/middleware/errors.py",
    "src/{slug}/middleware/readiness.py",
    "src/{slug}/middleware/metrics.py",
    "src/{slug}/serving/metrics_directory.py",
    "tests/test_metrics.py",
    "src/{slug}/views/demo.py",
    "src/{slug}/views/health.py",
    "tests/conftest.py",
    "tests/test_views.py",
    "tests/test_settings.py",
]
WSGI_FILES = ["src/{slug}/serving/wsgi.py", "tests/test_wsgi.py"]
GUNICORN_FILES = ["gunicorn.conf.py", "tests/test_gunicorn_conf.py", "deploy/nginx/nginx.conf"]
GRANIAN_FILES = ["src/{slug}/serving/granian_server.py", "tests/test_granian_server.py"]
HTTP_LIMITS_FILES = ["src/{slug}/serving/http_limits.py", "tests/test_http_limits.py"]
REAL_SERVER_FILES = ["tests/real_server.py"]
ASGI_FILES = ["src/{slug}/serving/asgi.py"]
ASGI_SERVER_FILES = ["src/{slug}/serving/asgi_server.py"]
ADAPTER_FILES = ["src/{slug}/serving/asgi_adapter.py", "tests/test_asgi.py"]
WEBSOCKET_FILES = ["src/{slug}/views/realtime.py", "tests/test_websocket.py"]
FLASK_FILES = ["src/{slug}/middleware/body_limit.py", "tests/test_body_limit.py"]
HYPERCORN_FILES = [
    "src/{slug}/serving/hypercorn_workers.py",
    "tests/test_hypercorn_workers.py",
]
WEBSOCKET_DRAIN_FILES = ["src/{slug}/serving/websocket_drain.py", "tests/test_websocket_drain.py"]
# What each mode (interface, framework, server) must have; everything in the other lists must be
# absent.
MODE_FILES = {
    ("wsgi", "flask", "gunicorn"): WSGI_FILES + GUNICORN_FILES + FLASK_FILES,
    ("wsgi", "flask", "granian"): (
        WSGI_FILES + GRANIAN_FILES + HTTP_LIMITS_FILES + REAL_SERVER_FILES + FLASK_FILES
    ),
    ("asgi", "flask", "uvicorn"): (
        ASGI_FILES + ASGI_SERVER_FILES + HTTP_LIMITS_FILES + ADAPTER_FILES + FLASK_FILES
    ),
    ("asgi", "quart", "uvicorn"): (
        ASGI_FILES + ASGI_SERVER_FILES + HTTP_LIMITS_FILES + WEBSOCKET_FILES
    ),
    ("asgi", "flask", "hypercorn"): (
        ASGI_FILES + ASGI_SERVER_FILES + HTTP_LIMITS_FILES + REAL_SERVER_FILES + ADAPTER_FILES
    )
    + FLASK_FILES
    + HYPERCORN_FILES,
    ("asgi", "quart", "hypercorn"): (
        ASGI_FILES + ASGI_SERVER_FILES + HTTP_LIMITS_FILES + REAL_SERVER_FILES + WEBSOCKET_FILES
    )
    + HYPERCORN_FILES
    + WEBSOCKET_DRAIN_FILES,
    ("asgi", "flask", "granian"): (
        ASGI_FILES + GRANIAN_FILES + HTTP_LIMITS_FILES + REAL_SERVER_FILES + ADAPTER_FILES
    )
    + FLASK_FILES,
    ("asgi", "quart", "granian"): (
        ASGI_FILES + GRANIAN_FILES + HTTP_LIMITS_FILES + REAL_SERVER_FILES + WEBSOCKET_FILES
    )
    + WEBSOCKET_DRAIN_FILES,
}


def server_answer(answers) -> str:
    return answers["wsgi_server"] if answers["interface"] == "wsgi" else answers["asgi_server"]


DATABASE_FILES = [
    "alembic.ini",
    "src/{slug}/database/__init__.py",
    "src/{slug}/database/engine.py",
    "src/{slug}/database/migrate.py",
    "src/{slug}/database/models.py",
    "src/{slug}/database/session.py",
    "src/{slug}/database/url.py",
    "src/{slug}/database/migrations/env.py",
    "src/{slug}/database/migrations/script.py.mako",
    "src/{slug}/database/migrations/versions/0001_create_items.py",
    "src/{slug}/middleware/openapi.py",
    "src/{slug}/queries/items.py",
    "src/{slug}/schemas/items.py",
    "src/{slug}/middleware/validation.py",
    "src/{slug}/views/items.py",
    "tests/test_database.py",
    "tests/test_items.py",
    "tests/test_migrations.py",
    "tests/test_openapi.py",
]
# auth=oidc: bearer tokens (schemas/me.py only where there are schemas: with a database).
AUTH_FILES = [
    "src/{slug}/middleware/auth/__init__.py",
    "src/{slug}/middleware/auth/bearer.py",
    "src/{slug}/middleware/auth/keys.py",
    "src/{slug}/middleware/auth/local_key.py",
    "src/{slug}/middleware/auth/mint_token.py",
    "src/{slug}/middleware/auth/tokens.py",
    "src/{slug}/views/me.py",
    "tests/oidc_issuer.py",
    "tests/test_auth.py",
    "tests/test_auth_keys.py",
]
AUTH_DATABASE_FILES = ["src/{slug}/schemas/me.py"]
OPTIONAL_FILES = (
    WSGI_FILES
    + GUNICORN_FILES
    + GRANIAN_FILES
    + HTTP_LIMITS_FILES
    + REAL_SERVER_FILES
    + ASGI_FILES
    + ASGI_SERVER_FILES
    + ADAPTER_FILES
    + WEBSOCKET_FILES
    + FLASK_FILES
    + HYPERCORN_FILES
    + WEBSOCKET_DRAIN_FILES
    + DATABASE_FILES
    + AUTH_FILES
    + AUTH_DATABASE_FILES
)
UNRENDERED = re.compile(r"{{\s*cookiecutter|{%\s*(if|for|raw|endif|now)\b")


def combination_id(answers):
    return "-".join(f"{key}:{value}" for key, value in answers.items())


@pytest.fixture(params=COMBINATIONS, ids=combination_id)
def baked(request, cookies):
    answers = request.param
    return answers, bake(cookies, project_name="Acme Orders", **answers)


def paths(patterns, slug="acme_orders"):
    return [pattern.format(slug=slug) for pattern in patterns]


def test_bake_writes_the_files_of_the_chosen_mode(baked):
    answers, project = baked
    wanted = MODE_FILES[answers["interface"], answers["asgi_framework"], server_answer(answers)]
    if answers["database"] != "none":
        wanted = wanted + DATABASE_FILES
    if answers["auth"] == "oidc":
        wanted = wanted + AUTH_FILES
        if answers["database"] != "none":
            wanted = wanted + AUTH_DATABASE_FILES
    assert project.name == "acme_orders"
    missing = [p for p in paths(COMMON_FILES + wanted) if not (project / p).is_file()]
    assert missing == []
    unwanted = [p for p in OPTIONAL_FILES if p not in wanted]
    leftover = [p for p in paths(unwanted) if (project / p).exists()]
    assert leftover == []


def test_bake_leaves_no_template_syntax(baked):
    _, project = baked
    offenders = [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and UNRENDERED.search(path.read_text(errors="replace"))
    ]
    assert offenders == []


def test_bake_records_the_answers_and_renders_the_choices(baked):
    answers, project = baked
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert {key: recorded[key] for key in answers} == answers
    assert f"python:{answers['python_version']}-slim" in (project / "Dockerfile").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
    assert 'target-version = "py311"' in pyproject
    license_text = (project / "LICENSE").read_text()
    expected = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Proprietary": "All rights reserved",
    }[answers["license"]]
    assert expected in license_text


def test_bake_depends_on_exactly_the_database_chosen(baked):
    answers, project = baked
    pyproject = (project / "pyproject.toml").read_text()
    database, quart = answers["database"], answers["asgi_framework"] == "quart"
    assert ("sqlalchemy" in pyproject) == (database != "none")
    assert ("alembic" in pyproject) == (database != "none")
    assert ("psycopg" in pyproject) == (database == "postgresql")
    assert ("aiosqlite" in pyproject) == (database == "sqlite" and quart)
    assert ("pyjwt" in pyproject) == (answers["auth"] == "oidc")
    makefile = (project / "Makefile").read_text()
    assert ("\nmigrate:" in makefile) == (database != "none")
    assert ("/items" in (project / "README.md").read_text()) == (database != "none")
    compose = (project / "compose.yaml").read_text()
    assert ("  db:" in compose) == (database == "postgresql")
    assert ("  migrate:" in compose) == (database != "none")
    kubernetes = project / "deploy" / "kubernetes"
    assert (kubernetes / "base" / "kustomization.yaml").is_file()
    assert (kubernetes / "base" / "migration-job.yaml").exists() == (database == "postgresql")
    assert (kubernetes / "base" / "data-volume.yaml").exists() == (database == "sqlite")
    empty = [str(p) for p in kubernetes.rglob("*") if p.is_file() and not p.read_text().strip()]
    assert empty == []


def test_bake_depends_on_exactly_the_server_chosen(baked):
    answers, project = baked
    pyproject = (project / "pyproject.toml").read_text()
    server = server_answer(answers)
    for candidate in ("gunicorn", "granian", "uvicorn", "hypercorn"):
        assert (f'"{candidate}' in pyproject) == (candidate == server), candidate
    if server != "gunicorn":
        launcher = "granian_server" if server == "granian" else "asgi_server"
        serving = (project / f"src/acme_orders/serving/{launcher}.py").read_text()
        assert f"import {server}" in serving or f"from {server}" in serving
    # Only gunicorn needs the buffering proxy in front.
    compose = (project / "compose.yaml").read_text()
    assert ("  proxy:" in compose) == (server == "gunicorn")


def dry_run(project, target: str) -> list[str]:
    """The commands `make TARGET` would run, without running them."""
    result = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", target, "VENV=venv"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_baked_makefile_targets_run_what_the_readme_says(baked):
    """Jinja's whitespace control can glue one target's recipe to the next target's name, and
    make then reports nothing to do: every documented target runs its own commands."""
    answers, project = baked
    makefile = (project / "Makefile").read_text()
    phony = re.search(r"^\.PHONY: (.+)$", makefile, re.MULTILINE)[1].split()
    documented = re.findall(r"^([a-z-]+):.*## ", makefile, re.MULTILINE)
    assert sorted(phony) == sorted(documented)
    assert all(dry_run(project, target) for target in documented)
    server = {
        "gunicorn": "venv/bin/gunicorn --config gunicorn.conf.py acme_orders.serving.wsgi:app",
        "granian": "venv/bin/python -m acme_orders.serving.granian_server",
        "uvicorn": "venv/bin/python -m acme_orders.serving.asgi_server",
        "hypercorn": "venv/bin/python -m acme_orders.serving.asgi_server",
    }[server_answer(answers)]
    assert dry_run(project, "serve") == [server]
    assert dry_run(project, "test") == ["venv/bin/pytest --cov"]
    assert dry_run(project, "lint") == [
        "venv/bin/ruff check .",
        "venv/bin/ruff format --check .",
        "venv/bin/mypy",
    ]
    migrate = ["venv/bin/python -m acme_orders.database.migrate"]
    if answers["database"] == "none":
        migrate = []
    else:
        assert dry_run(project, "migrate") == migrate
    *before, debug_server = dry_run(project, "dev")
    assert before == migrate
    # exec: a SIGTERM that make passes on reaches the server, not a shell.
    assert debug_server.startswith("APP_ENV=development exec venv/bin/")
    assert ("token" in documented) == (answers["auth"] == "oidc")
    if answers["auth"] == "oidc":
        assert dry_run(project, "token") == [
            "APP_ENV=development venv/bin/python -m acme_orders.middleware.auth.mint_token"
            ' --scope ""'
        ]


def test_baked_project_passes_ruff(baked):
    _, project = baked
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def of_mode(mode: str) -> list[dict[str, str]]:
    """The combinations that generate `mode`'s code."""
    answers = {question: OPTIONS[question][0] for question in QUESTIONS} | MODES[mode]
    return [
        combination
        for combination in COMBINATIONS
        if all(combination[key] == answers[key] for key in QUESTIONS[:4])
    ]


def what_mypy_reads(project) -> str:
    """A digest of the code and the mypy settings: combinations with equal digests type-check
    alike."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*.py")):
        digest.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    tool = tomllib.loads((project / "pyproject.toml").read_text())["tool"]
    settings = {name: table for name, table in tool.items() if "mypy" in name}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def test_every_combination_passes_mypy(installed_auth_project, cookies):
    """mypy, as `make lint` runs it, over every combination of the mode, in the mode's venv.
    Combinations whose code is the same (the Python version and the license change no Python
    file) are checked once, and one cache per mode lets the databases' variants re-check only
    the files they change. The auth=oidc project's venv holds every library any combination of
    the mode imports."""
    mode, _, venv = installed_auth_project
    cache = TEMPLATE / ".cache" / "mypy" / mode
    started = time.monotonic()
    checked: dict[str, dict[str, str]] = {}
    for answers in of_mode(mode):
        project = bake(cookies, project_name="Acme Orders", **answers)
        key = what_mypy_reads(project)
        if key in checked:
            continue
        checked[key] = answers
        result = subprocess.run(
            [venv / "bin" / "mypy", "--cache-dir", cache],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{combination_id(answers)}\n{result.stdout}{result.stderr}"
    report(
        f"mypy, {mode}: {len(checked)} distinct of {len(of_mode(mode))} combinations, "
        f"{time.monotonic() - started:.0f} s"
    )


def test_generated_files_use_lf_line_endings(baked):
    _, project = baked
    crlf = [str(p) for p in project.rglob("*") if p.is_file() and b"\r\n" in p.read_bytes()]
    assert crlf == []

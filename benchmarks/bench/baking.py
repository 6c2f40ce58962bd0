"""Bake a generated project, install it, and add the small apps the benchmark serves."""

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import BENCH_BIN, MODES, ROOT, VENVS, is_adapter, is_granian, is_hypercorn, is_quart
from .processes import run

# The generated app, unchanged, plus a CPU-bound view (about 5 ms of pure Python).
BENCH_APP = """
from {slug} import create_app

app = create_app()


@app.get("/cpu")
{async_}def cpu():
    return {{"total": sum(i * i for i in range(60_000))}}
"""
# Flask under ASGI: the generated adapter, and the bare WsgiToAsgi most guides show.
ADAPTER_EXTRA = """
import os

from asgiref.wsgi import WsgiToAsgi

from {serving}.asgi_adapter import ThreadPoolWsgiToAsgi
from {slug}.settings import worker_threads

asgi = ThreadPoolWsgiToAsgi(app, worker_threads(os.environ))
naive = WsgiToAsgi(app)
"""
# Overload, an alternative measured beside the generated adapter: the interpreter switches
# threads every 20 ms instead of 5 ms, so 1,024 pool threads contend for it less often.
SWITCHED_APP = """
import sys

sys.setswitchinterval(0.02)

from bench_app import asgi  # noqa: E402
"""
# The same `/` with the same secret (so both pay for the session machinery) and no middleware:
# what our logging, request ids and error handling cost.
BARE_APP = """
import os

from {framework} import {app_class}

app = {app_class}(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]


@app.get("/")
{async_}def hello():
    return {{"message": "Hello", "interface": "bare"}}
"""
# What Hypercorn serves, as the generated asgi.py wraps it: the header limits in front (and, for
# Quart, WebSockets closed on a drain). Granian serves the WSGI app behind the same limits.
HYPERCORN_EXTRA = """
import os

from {serving}.http_limits import LimitRequestHead
from {slug}.settings import load_header_limits
{drain_import}
served = LimitRequestHead({inner}, load_header_limits(os.environ))
"""
BARE_ADAPTER_EXTRA = """
from {serving}.asgi_adapter import ThreadPoolWsgiToAsgi
from {slug}.settings import worker_threads

asgi = ThreadPoolWsgiToAsgi(app, worker_threads(os.environ))
"""


# The template's first (default) answer to `database`: what the HTTP rows' projects get.
DEFAULT_DATABASE = json.loads((ROOT / "cookiecutter.json").read_text())["database"][0]


@dataclass(frozen=True)
class Template:
    """What gets baked: the working tree, or the template at a commit (extracted for --compare)."""

    root: Path
    commit: str = ""  # empty for the working tree

    @property
    def name(self) -> str:
        return self.commit or "working tree"

    def out(self, workdir: Path) -> Path:
        """Where its projects go: a commit's apart, as their names are the working tree's."""
        return workdir / self.commit

    def venvs(self) -> Path:
        """A commit's projects get venvs of their own: its locks may pin other versions."""
        return VENVS.with_name(f"{VENVS.name}-{self.commit}") if self.commit else VENVS


WORKING_TREE = Template(ROOT)


def serving_package(project: Path) -> str:
    """Where the entry points, adapter and launcher live: `<slug>.serving` since the layout by
    layer, the package itself in a project baked from a commit before it."""
    slug = project.name
    return f"{slug}.serving" if (project / "src" / slug / "serving").is_dir() else slug


def bake_and_install(
    mode: str,
    workdir: Path,
    database: str = DEFAULT_DATABASE,
    template: Template = WORKING_TREE,
    auth: str = "none",
) -> tuple[Path, Path]:
    """Bake one mode, install it into the venv the template's tests also use (a venv of the
    commit's own for an older template), add bench apps.

    Baked once per run: the database rows reuse the HTTP rows' project for the default database.
    Another database gets a project and a venv of its own (its driver differs). auth=oidc gets a
    project of its own in the same venv, as the template's tests install it: its lock is the
    other's plus PyJWT and cryptography, so both run on the very same versions.
    """
    # One cache key however the caller spells the default database.
    return _bake_and_install(mode, workdir, database, template, auth)


@functools.cache
def _bake_and_install(
    mode: str, workdir: Path, database: str, template: Template, auth: str
) -> tuple[Path, Path]:
    suffix = "" if database == DEFAULT_DATABASE else f" {database}"
    named = suffix + (f" {auth}" if auth == "oidc" else "")
    out = template.out(workdir)
    run(
        [
            BENCH_BIN / "cookiecutter",
            str(template.root),
            "--no-input",
            "--output-dir",
            str(out),
            *MODES[mode],
            f"database={database}",
            # Only when asked: a template from before the question has no such answer.
            *([f"auth={auth}"] if auth != "none" else []),
            f"project_name=Bench {mode}{named}",
        ]
    )
    project = out / f"bench_{mode}{named.replace(' ', '_')}"
    venv = template.venvs() / f"{mode}{suffix.replace(' ', '-')}"
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    # As `make install` does: the pinned, hash-checked dependencies, then the project itself.
    run(
        [
            venv / "bin" / "pip",
            "install",
            "-q",
            "--require-hashes",
            "-r",
            project / "requirements.txt",
        ]
    )
    run([venv / "bin" / "pip", "install", "-q", "--no-deps", "-e", str(project)])
    slug, serving, quart = project.name, serving_package(project), is_quart(mode)
    async_ = "async " if quart else ""
    bench_app = BENCH_APP.format(slug=slug, async_=async_)
    bare_app = BARE_APP.format(
        framework="quart" if quart else "flask",
        app_class="Quart" if quart else "Flask",
        async_=async_,
    )
    if is_adapter(mode):
        bench_app += ADAPTER_EXTRA.format(slug=slug, serving=serving)
        bare_app += BARE_ADAPTER_EXTRA.format(slug=slug, serving=serving)
    if is_hypercorn(mode) or is_granian(mode):
        drain = f"from {serving}.websocket_drain import CloseWebSocketsOnDrain\n" if quart else ""
        inner = "CloseWebSocketsOnDrain(app)" if quart else "asgi" if is_adapter(mode) else "app"
        bench_app += HYPERCORN_EXTRA.format(
            slug=slug, serving=serving, drain_import=drain, inner=inner
        )
    (project / "bench_app.py").write_text(bench_app)
    (project / "bare_app.py").write_text(bare_app)
    if mode == "asgi":
        (project / "switched_app.py").write_text(SWITCHED_APP)
    return project, venv


def serve_command(
    mode: str, project: Path, venv: Path, app: str, http: str | None = None
) -> list[str]:
    """The mode's production server (gunicorn.conf.py, granian_server.main or asgi_server.main)
    serving `app`; `http` replaces uvicorn's HTTP protocol (the generated one applies the header
    limits)."""
    if mode == "wsgi":
        return [str(venv / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", app]
    if is_granian(mode):
        launcher = f"{serving_package(project)}.granian_server"
        return [str(venv / "bin" / "python"), "-c", f"from {launcher} import main; main({app!r})"]
    protocol = "" if http is None else f", http={http!r}"
    return [
        str(venv / "bin" / "python"),
        "-c",
        f"from {serving_package(project)}.asgi_server import main; main({app!r}{protocol})",
    ]


def served_app(mode: str, bare: bool = False) -> str:
    """The import string of the bench app (or the bare app) for the mode's server."""
    module = "bare_app" if bare else "bench_app"
    if is_hypercorn(mode):
        return f"asgi:{module}:served"  # "asgi:": Hypercorn must not guess WSGI
    if is_granian(mode):
        return f"{module}:served"
    return f"{module}:asgi" if is_adapter(mode) else f"{module}:app"

"""Paths and fixed values every part of the benchmark shares."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# The template's tests keep one venv per mode here; sharing them saves reinstalling everything.
VENVS = Path(os.environ.get("TEMPLATE_VENV_CACHE", ROOT / ".cache" / "venvs"))
# cookiecutter lives beside the interpreter that runs the benchmark.
BENCH_BIN = Path(sys.executable).parent
SECRET = "benchmark-only-" + "x" * 40
PORT = 18731

# Generated modes: the answers that produce them.
MODES = {
    "wsgi": ["interface=wsgi"],
    "wsgi_granian": ["interface=wsgi", "wsgi_server=granian"],
    "asgi": ["interface=asgi", "asgi_framework=flask"],
    "quart": ["interface=asgi", "asgi_framework=quart"],
    "asgi_hypercorn": ["interface=asgi", "asgi_framework=flask", "asgi_server=hypercorn"],
    "quart_hypercorn": ["interface=asgi", "asgi_framework=quart", "asgi_server=hypercorn"],
    "asgi_granian": ["interface=asgi", "asgi_framework=flask", "asgi_server=granian"],
    "quart_granian": ["interface=asgi", "asgi_framework=quart", "asgi_server=granian"],
}
# Each interface on its default server: the modes the database rows and the alternatives run.
DEFAULT_SERVER_MODES = ("wsgi", "asgi", "quart")


def is_quart(mode: str) -> bool:
    return mode.startswith("quart")


def is_adapter(mode: str) -> bool:
    """Flask under ASGI: the generated thread-pool adapter serves it."""
    return mode.startswith("asgi")


def is_hypercorn(mode: str) -> bool:
    return mode.endswith("_hypercorn")


def is_granian(mode: str) -> bool:
    return mode.endswith("_granian")


def is_other_server(mode: str) -> bool:
    """A mode on a server other than its interface's default: measured beside the default's
    mode, every scenario, with no alternatives of its own."""
    return is_hypercorn(mode) or is_granian(mode)

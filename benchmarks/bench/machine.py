"""The machine and the versions a run measured, for the report's header."""

import os
import platform
import subprocess
from pathlib import Path

from .processes import run

REPORTED_PACKAGES = {
    "flask",
    "werkzeug",
    "gunicorn",
    "granian",
    "uvicorn",
    "hypercorn",
    "asgiref",
    "quart",
    "uvloop",
    "httptools",
}


def machine_info(duration, venvs, packages=REPORTED_PACKAGES) -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = {}
    for venv in venvs:
        if not (venv / "bin" / "pip").exists():
            continue
        freeze = run([venv / "bin" / "pip", "freeze"]).stdout
        for line in freeze.splitlines():
            name, _, version = line.partition("==")
            if name.lower() in packages:
                versions[name] = version
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    versions["wrk"] = wrk.stdout.split()[1]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "versions": versions,
        "duration_s": duration,
    }

"""Docker helpers for the template's tests: Debian's client, with BuildKit, on 127.0.0.1 only."""

import json
import os
import shutil
import subprocess
from pathlib import Path

# Debian's client has BuildKit built in; another `docker` earlier in PATH may not.
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
BASE_IMAGE = os.environ.get("BASE_IMAGE", "local/python:3.11-slim")


def docker(*args, cwd=None, check=True, timeout=600):
    result = subprocess.run(
        [DOCKER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def daemon_problem() -> str | None:
    """Why Docker tests cannot run here, or None when a daemon and the base image are ready."""
    if DOCKER is None:
        return "no docker client installed (run tests/docker/setup.sh)"
    try:
        if docker("version", check=False, timeout=15).returncode != 0:
            return "no Docker daemon answers (run tests/docker/setup.sh)"
    except subprocess.TimeoutExpired:
        return "the Docker daemon does not answer within 15 s"
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        return f"base image {BASE_IMAGE} is missing (run tests/docker/setup.sh)"
    return None


def inspect(object_id: str) -> dict:
    return json.loads(docker("inspect", object_id).stdout)[0]

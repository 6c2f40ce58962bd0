"""Build, run, health-check and stop the generated image of each mode with a real daemon.

These tests skip, with the reason, where no daemon can run; `.ci/run` sets REQUIRE_DOCKER=1 so
there they fail instead of skipping.
"""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
import uuid

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from conftest import MODES, bake, report, server_of
from docker_support import BASE_IMAGE, daemon_problem, docker, inspect
from servers import SECRET, free_port

pytestmark = pytest.mark.docker
GRACEFUL_STOP_SECONDS = 10
# Measured over the base image with the SQLite data layer (SQLAlchemy 29 MB, pydantic 11 MB,
# Alembic) and tracing (OpenTelemetry, protobuf: about 15 MB): +66 MB (wsgi), +80 (Hypercorn), +88
# (asgi), +90 (quart; uvloop is 14 MB), +86 (Granian, WSGI), +100 and +103 (Granian with Flask and
# with Quart: Granian's Rust binary and uvloop). 20-24 MB of it is the bytecode the image ships (a
# read-only container cannot cache it); leaving out setuptools saves about 10 MB (Python 3.11).
MAX_IMAGE_GROWTH_MB = 110
OCI = "org.opencontainers.image."


@pytest.fixture(scope="session")
def docker_ready():
    problem = daemon_problem()
    if problem and os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1 but {problem}")
    if problem:
        pytest.skip(problem)


def parsed_dockerfile(project):
    parser = DockerfileParser(path=str(project / "Dockerfile"))
    return parser.structure


def test_dockerfile_passes_hadolint(installed_project):
    _, project, _ = installed_project
    hadolint = shutil.which("hadolint") or os.path.join(os.path.dirname(sys.executable), "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_structure(installed_project):
    _, project, _ = installed_project
    instructions = parsed_dockerfile(project)
    names = [i["instruction"] for i in instructions]
    first_from = names.index("FROM")
    assert "ARG" in names[:first_from]
    assert any(i["value"].startswith("PYTHON_IMAGE=") for i in instructions[:first_from])
    assert names.count("FROM") >= 2, "multi-stage: a builder and a runtime stage"
    final_stage = instructions[max(i for i, n in enumerate(names) if n == "FROM") :]
    users = [i["value"] for i in final_stage if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    assert any(i["instruction"] == "HEALTHCHECK" for i in final_stage)
    assert any(i["instruction"] == "EXPOSE" for i in final_stage)
    cmd = [i["value"] for i in final_stage if i["instruction"] == "CMD"][-1]
    assert cmd.startswith("["), "exec-form CMD, so the server gets SIGTERM directly"
    assert not (project / "Dockerfile").read_text().startswith("# syntax=")


def test_compose_matches_the_dockerfile(installed_project):
    mode, project, _ = installed_project
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    service = services["web"]
    dockerfile_healthcheck = next(
        i["value"] for i in parsed_dockerfile(project) if i["instruction"] == "HEALTHCHECK"
    )
    probe = service["healthcheck"]["test"][-1]
    assert probe in dockerfile_healthcheck
    assert service["environment"]["APP_ENV"] == "production"
    assert "SECRET_KEY" in service["environment"]
    if server_of(mode) == "gunicorn":
        # gunicorn only behind the buffering proxy (tests/test_slow_clients.py).
        assert "ports" not in service
        assert services["proxy"]["ports"] == ["127.0.0.1:${PORT:-8000}:8080"]
        config = "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro"
        assert services["proxy"]["volumes"] == [config]
    else:
        assert service["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]
        assert "proxy" not in services


def test_compose_file_is_valid(installed_project):
    _, project, _ = installed_project
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (tests/docker/setup.sh installs it)")
    result = subprocess.run(
        [compose, "-f", "compose.yaml", "config", "--quiet"],
        cwd=project,
        env={**os.environ, "SECRET_KEY": SECRET},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_postgresql_compose_file_is_valid(installed_postgres_project):
    _, project, _ = installed_postgres_project
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (tests/docker/setup.sh installs it)")
    result = subprocess.run(
        [compose, "-f", "compose.yaml", "config"],
        cwd=project,
        env={**os.environ, "SECRET_KEY": SECRET, "POSTGRES_PASSWORD": "compose-test"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["migrate"]["command"] == ["migrate"]
    conditions = {name: dep["condition"] for name, dep in services["web"]["depends_on"].items()}
    assert conditions == {"db": "service_healthy", "migrate": "service_completed_successfully"}
    url = services["web"]["environment"]["DATABASE_URL"]
    assert url == services["migrate"]["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql://app:compose-test@db:5432/")
    assert "healthcheck" in services["db"]


def http_get(port, path, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, response.read()


def in_flight(port) -> float:
    """Requests in flight in the container, this scrape of /metrics among them."""
    _, body = http_get(port, "/metrics")
    found = re.search(rb"^http_requests_in_flight (\S+)$", body, re.MULTILINE)
    return float(found[1]) if found else 0.0


def wait_for(predicate, timeout):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def answers(port):
    try:
        return http_get(port, "/healthz", timeout=1)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def image(docker_ready, installed_project):
    """The image of each mode's SQLite project, built once: no test changes it."""
    mode, project, _ = installed_project
    started = time.perf_counter()
    docker(
        "build",
        "--build-arg",
        f"PYTHON_IMAGE={BASE_IMAGE}",
        "--iidfile",
        ".image-id",
        ".",
        cwd=project,
        timeout=900,
    )
    build_seconds = time.perf_counter() - started
    image_id = (project / ".image-id").read_text().strip()
    yield mode, image_id, build_seconds
    docker("rmi", "--force", image_id, check=False)


def locked_down(uid):
    """How OpenShift and the restricted Pod Security level run a container: a read-only root file
    system with /tmp in memory, a user id picked by the platform in group 0, no capabilities, no
    privilege escalation."""
    return [
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--user",
        f"{uid}:0",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ]


def any_uid():
    """A user id with no passwd entry in the image, as OpenShift assigns them."""
    return random.randrange(100_000, 2_000_000_000)


def process_status(container, pid=1):
    """/proc/PID/status of a process in the container, as {field: [values]}."""
    lines = docker("exec", container, "cat", f"/proc/{pid}/status").stdout.splitlines()
    return {name: value.split() for name, _, value in (line.partition(":") for line in lines)}


def create_item(port, name):
    """POST /items; returns the Location of the new item."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/items",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return response.headers["Location"]


def start_container(image_id, port, *options):
    """`docker run` the image detached, published on 127.0.0.1:port; returns the container id."""
    return docker(
        "run",
        "--detach",
        "--publish",
        f"127.0.0.1:{port}:8000",
        "--env",
        f"SECRET_KEY={SECRET}",
        *options,
        image_id,
    ).stdout.strip()


def test_image_builds_runs_and_stops_gracefully(image):
    mode, image_id, build_seconds = image
    interface = MODES[mode]["interface"]
    size_mb = inspect(image_id)["Size"] / 1e6
    growth_mb = size_mb - inspect(BASE_IMAGE)["Size"] / 1e6
    port = free_port()
    run_at = time.perf_counter()
    container = start_container(image_id, port, "--stop-timeout", str(GRACEFUL_STOP_SECONDS))
    try:
        assert wait_for(lambda: answers(port), timeout=30), docker("logs", container).stdout
        first_200 = time.perf_counter() - run_at

        status, body = http_get(port, "/")
        assert status == 200 and f'"interface":"{interface}"' in body.decode().replace(" ", "")
        assert http_get(port, "/slow?seconds=0.2")[0] == 200

        healthy = wait_for(
            lambda: inspect(container)["State"].get("Health", {}).get("Status") == "healthy",
            timeout=60,
        )
        assert healthy, inspect(container)["State"]
        to_healthy = time.perf_counter() - run_at

        # The server (PID 1) runs as the numeric non-root user from the Dockerfile.
        assert process_status(container)["Uid"] == ["10001"] * 4

        # `docker stop` with a slow request in flight: the request completes, the exit is clean.
        result = {}
        slow = threading.Thread(target=lambda: result.update(r=http_get(port, "/slow?seconds=2")))
        slow.start()
        assert wait_for(lambda: in_flight(port) == 2, timeout=10)  # the slow one, the scrape
        stop_at = time.perf_counter()
        docker("stop", container)
        stop_seconds = time.perf_counter() - stop_at
        slow.join(timeout=15)
        assert result.get("r", (None,))[0] == 200
        state = inspect(container)["State"]
        assert state["ExitCode"] == 0, docker("logs", container).stdout
        assert stop_seconds < GRACEFUL_STOP_SECONDS
    finally:
        logs = docker("logs", container, check=False).stdout
        docker("rm", "--force", "--volumes", container, check=False)
    report(
        f"[{mode}] docker: build {build_seconds:.1f} s, image {size_mb:.0f} MB "
        f"(+{growth_mb:.0f} MB over the base), first 200 {first_200:.2f} s after run, "
        f"healthy after {to_healthy:.1f} s, docker stop {stop_seconds:.2f} s"
    )
    assert all(line.startswith("{") for line in logs.splitlines() if line.strip())
    assert growth_mb <= MAX_IMAGE_GROWTH_MB


def test_image_migrates_then_serves_items_from_a_volume(image):
    """`docker run IMAGE migrate` applies the migrations to the SQLite file on a volume and exits
    0; the default command then serves /items from it."""
    mode, image_id, _ = image
    volume = f"template-test-{mode}-{uuid.uuid4().hex[:8]}"
    container = None
    try:
        migrated = docker("run", "--rm", "--volume", f"{volume}:/app/data", image_id, "migrate")
        assert "Migrations applied" in migrated.stdout + migrated.stderr
        port = free_port()
        container = start_container(image_id, port, "--volume", f"{volume}:/app/data")
        assert wait_for(lambda: answers(port), timeout=30), docker("logs", container).stdout
        location = create_item(port, "from docker")
        assert http_get(port, location)[0] == 200
        assert http_get(port, "/readyz")[0] == 200
    finally:
        if container:
            docker("rm", "--force", container, check=False)
        docker("volume", "rm", "--force", volume, check=False)


def test_image_runs_locked_down_as_any_user_in_group_0(image):
    """`migrate`, then the server, each as OpenShift runs them (see locked_down) with the SQLite
    data on a named volume: the server answers, stores and serves an item, stops cleanly, and a
    new container on the same volume serves the item again."""
    mode, image_id, _ = image
    uid = any_uid()
    volume = f"template-test-{mode}-{uuid.uuid4().hex[:8]}"
    flags = [*locked_down(uid), "--volume", f"{volume}:/app/data"]
    containers = []
    try:
        started = time.perf_counter()
        migrated = docker("run", "--rm", *flags, image_id, "migrate")
        migrate_seconds = time.perf_counter() - started
        assert "Migrations applied" in migrated.stdout + migrated.stderr

        port = free_port()
        run_at = time.perf_counter()
        containers.append(start_container(image_id, port, *flags))
        container = containers[-1]
        assert wait_for(lambda: answers(port), timeout=30), docker("logs", container).stdout
        first_200 = time.perf_counter() - run_at
        location = create_item(port, "locked down")
        assert http_get(port, location)[0] == 200
        assert http_get(port, "/readyz")[0] == 200
        status = process_status(container)
        assert (status["Uid"], status["Gid"]) == ([str(uid)] * 4, ["0"] * 4), status

        stop_at = time.perf_counter()
        docker("stop", container)
        stop_seconds = time.perf_counter() - stop_at
        logs = docker("logs", container)
        logs = logs.stdout + logs.stderr
        assert inspect(container)["State"]["ExitCode"] == 0, logs
        # A write that failed and was only logged would still leave the service answering.
        assert re.findall(r".*(?:Read-only file system|Permission denied).*", logs) == []

        port = free_port()
        containers.append(start_container(image_id, port, *flags))
        assert wait_for(lambda: answers(port), timeout=30), docker("logs", containers[-1]).stdout
        assert http_get(port, location)[0] == 200, "the item did not outlive its container"
    finally:
        for container in containers:
            docker("rm", "--force", container, check=False)
        docker("volume", "rm", "--force", volume, check=False)
    report(
        f"[{mode}] docker locked down as {uid}:0: migrate {migrate_seconds:.1f} s, "
        f"first 200 {first_200:.2f} s after run, docker stop {stop_seconds:.2f} s"
    )


def test_image_code_is_readable_by_any_user_and_writable_by_none(image):
    """Every file of the service is readable by a user id the platform picks, and none writable
    by it, even where the root file system is left writable: its group is 0, so a group-writable
    file (the OpenShift `chmod g=u` applied to the code, a checkout made with umask 002) would let
    the service rewrite itself."""
    _, image_id, _ = image
    script = """
import os
wrong = []
for top in ("/opt/venv", "/app"):
    for root, dirs, files in os.walk(top, onerror=lambda error: wrong.append(str(error))):
        dirs[:] = [name for name in dirs if os.path.join(root, name) != "/app/data"]
        for path in [root, *(os.path.join(root, name) for name in files)]:
            if not os.access(path, os.R_OK) or os.access(path, os.W_OK):
                wrong.append(path)
print("\\n".join(wrong))
"""
    result = docker(
        "run", "--rm", "--user", f"{any_uid()}:0", "--entrypoint", "python", image_id, "-c", script
    )
    assert result.stdout.split() == []


def test_image_ships_the_bytecode_its_server_imports(image):
    """A read-only container cannot cache bytecode: every module the server's processes import
    from the virtual environment comes compiled in the image and current (`python -v` says
    "code object from" a .py file when it compiles one)."""
    mode, image_id, _ = image
    port = free_port()
    uid = any_uid()
    container = start_container(image_id, port, *locked_down(uid), "--env", "PYTHONVERBOSE=1")
    try:
        assert wait_for(lambda: answers(port), timeout=60), docker("logs", container).stderr
        assert http_get(port, "/")[0] == 200
        verbose = docker("logs", container).stderr
    finally:
        docker("rm", "--force", "--volumes", container, check=False)
    # Python quotes the .pyc it loads and not the .py it compiles.
    sources = re.findall(r"^# code object from '?(/opt/venv/\S+?)'?$", verbose, re.MULTILINE)
    assert any(path.endswith(".pyc") for path in sources), f"[{mode}] is PYTHONVERBOSE read?"
    assert [path for path in sources if not path.endswith(".pyc")] == []


def test_image_carries_oci_labels_from_the_answers(image, installed_project):
    _, project, _ = installed_project
    _, image_id, _ = image
    answers = json.loads((project / ".cookiecutter.json").read_text())
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    expected = {
        "title": answers["project_name"],
        "description": metadata["description"],
        "version": metadata["version"],
        "licenses": metadata["license"],
        "authors": f"{answers['author_name']} <{answers['author_email']}>",
    }
    labels = inspect(image_id)["Config"]["Labels"] or {}
    assert {key: labels.get(OCI + key) for key in expected} == expected


def test_oci_labels_keep_quotes_dollars_and_backslashes(docker_ready, cookies, tmp_path):
    """Docker reads `"`, `\\` and `$` inside a LABEL value: the answers arrive verbatim. Only the
    runtime stage's ARG and LABEL are built, on the base image: no install."""
    answers = {
        "project_name": "Shop $HOME",
        "description": 'Says "hi" for $5 or ${PRICE}, \\ it\'s fine.',
        "author_name": "O'Brien & Co",
    }
    project = bake(cookies, **answers)
    instructions = DockerfileParser(path=str(project / "Dockerfile")).structure
    runtime = instructions[
        max(i for i, n in enumerate(instructions) if n["instruction"] == "FROM") :
    ]
    wanted = "".join(i["content"] for i in runtime if i["instruction"] in ("ARG", "LABEL"))
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n{wanted}")
    docker("build", "--iidfile", "image-id", ".", cwd=tmp_path)
    image_id = (tmp_path / "image-id").read_text().strip()
    try:
        labels = inspect(image_id)["Config"]["Labels"]
    finally:
        docker("rmi", "--force", image_id, check=False)
    assert labels[OCI + "title"] == answers["project_name"]
    assert labels[OCI + "description"] == answers["description"]
    assert labels[OCI + "authors"] == f"{answers['author_name']} <you@example.com>"


def test_a_second_user_id_in_group_0_uses_the_data_of_the_first(image):
    """migrate as one random user id, serve as another: both in group 0, as OpenShift runs it."""
    mode, image_id, _ = image
    volume = f"template-test-{mode}-{uuid.uuid4().hex[:8]}"
    data = ["--volume", f"{volume}:/app/data"]
    container = None
    try:
        docker("run", "--rm", *locked_down(any_uid()), *data, image_id, "migrate")
        port = free_port()
        container = start_container(image_id, port, *locked_down(any_uid()), *data)
        assert wait_for(lambda: answers(port), timeout=30), docker("logs", container).stdout
        assert http_get(port, create_item(port, "second user"))[0] == 200
    finally:
        if container:
            docker("rm", "--force", container, check=False)
        docker("volume", "rm", "--force", volume, check=False)

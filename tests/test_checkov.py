"""checkov, a scanner of infrastructure code, on what a team deploys: every overlay of every
combination of answers that changes the manifests or the Dockerfile, rendered with kustomize, and
the Dockerfile. A failed check fails its combination's test with the check's id and resource. A
check the project does not follow is skipped where it applies, with the reason: a
`checkov.io/skipN` annotation on the Kubernetes object, a `# checkov:skip=` comment in the
Dockerfile; EXPECTED_SKIPS below lists them.

checkov pins dozens of dependencies of its own, so it gets its own virtual environment under
.cache/venvs (made once, reused), apart from requirements-test.txt. One checkov run scans every
combination at once: measured, about 6 s for all of them, where each run costs about 2 s of
start-up alone. Each combination is baked under its own name, so that checks across objects (a
pod without a NetworkPolicy) cannot be satisfied by another combination's objects.
"""

import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import MODES, TEMPLATE, VENV_CACHE, bake, report, run
from test_kubernetes import AUTHS, DATABASES, DEPLOY, render, tools_problem

CHECKOV_VERSION = "3.3.30"
PYTHON_VERSIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
# Every answer that changes a manifest or the Dockerfile: the mode (server and framework), the
# database and auth; the Python version changes only the base image's tag, so it takes each of
# its values in turn.
COMBINATIONS = [
    {
        "name": f"scan-{mode.replace('_', '-')}-{database}-{auth}",
        "answers": {
            **MODES[mode],
            "database": database,
            "auth": auth,
            "python_version": PYTHON_VERSIONS[index % len(PYTHON_VERSIONS)],
        },
    }
    for index, (mode, database, auth) in enumerate(itertools.product(MODES, DATABASES, AUTHS))
]
# The checks the generated project skips on purpose, each with its reason beside the skip.
EXPECTED_SKIPS = {
    # Secrets as files: the service reads its settings from the environment (deployment.yaml).
    "CKV_K8S_35",
    # `FROM ${PYTHON_IMAGE}`: checkov does not expand the ARG that holds the tag (Dockerfile).
    "CKV_DOCKER_7",
}
# A copy of one combination with its NetworkPolicy and namespace taken away, and the Dockerfile
# ending as root: checkov must find each, or a clean result would prove nothing.
CANARY = "canary"
CANARY_FINDINGS = {"CKV2_K8S_6", "CKV_K8S_21", "CKV_DOCKER_8"}

pytestmark = pytest.mark.xdist_group("checkov")


@dataclass
class Findings:
    failed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (check id, reason)
    scanned: set[str] = field(default_factory=set)  # files with at least one passed check


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """kubectl from requirements-test.txt, as tests/test_kubernetes.py finds it."""
    tools, problem = tools_problem()
    if problem and os.environ.get("REQUIRE_KUBERNETES") == "1":
        pytest.fail(f"REQUIRE_KUBERNETES=1 but {problem}")
    if problem:
        pytest.skip(problem)
    return tools.kubectl


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov in its own virtual environment, installed once per version."""
    venv = VENV_CACHE / f"checkov-{CHECKOV_VERSION}"
    installed = venv / "installed"
    started = time.monotonic()
    if not installed.exists():
        run([sys.executable, "-m", "venv", "--clear", str(venv)])
        pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
        run([*pip, "install", "--quiet", f"checkov=={CHECKOV_VERSION}"], timeout=900)
        installed.write_text(f"checkov=={CHECKOV_VERSION}\n")
        report(f"checkov {CHECKOV_VERSION}: installed in {time.monotonic() - started:.0f} s")
    return venv / "bin" / "checkov"


def scanned_file(result: dict) -> tuple[str, str]:
    """(combination, file) of a result, from its path under the scanned directory."""
    combination, *rest = Path(result["file_path"]).relative_to("/").parts
    return combination, "/".join(rest)


def add_canary(root: Path, name: str) -> None:
    """A copy of a combination without its NetworkPolicy and namespace, and running as root."""
    canary = root / CANARY
    canary.mkdir()
    source = (root / name / "production.yaml").read_text().replace(name, CANARY)
    documents = [d for d in yaml.safe_load_all(source) if d["kind"] != "NetworkPolicy"]
    for document in documents:
        document["metadata"].pop("namespace", None)
    (canary / "production.yaml").write_text(yaml.safe_dump_all(documents))
    (canary / "Dockerfile").write_text((root / name / "Dockerfile").read_text() + "USER root\n")


@pytest.fixture(scope="session")
def findings(checkov, kubectl, cookies_session, tmp_path_factory) -> dict[str, Findings]:
    """Every combination baked, its overlays rendered, then one checkov run over all of them."""
    root = tmp_path_factory.mktemp("checkov")
    started = time.monotonic()
    for combination in COMBINATIONS:
        name = combination["name"]
        project = bake(cookies_session, project_name=name, **combination["answers"])
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text((project / "Dockerfile").read_text())
        for kustomization in sorted((project / DEPLOY / "overlays").rglob("kustomization.yaml")):
            overlay = kustomization.parent.name
            documents = render(kubectl, kustomization.parent)
            (root / name / f"{overlay}.yaml").write_text(yaml.safe_dump_all(documents))
    add_canary(root, COMBINATIONS[0]["name"])
    rendered = time.monotonic()
    # --skip-download: no guidelines or custom policies fetched from Prisma Cloud; offline.
    options = ["--framework", "kubernetes,dockerfile", "--skip-download", "--compact"]
    result = run(
        [checkov, "--directory", root, *options, "--output", "json"],
        cwd=root,
        timeout=300,
        check=False,
    )
    scanned = time.monotonic()
    combinations = len(COMBINATIONS)
    report(f"checkov: {combinations} combinations baked and rendered in {rendered - started:.0f} s")
    report(f"checkov: one run over the {combinations} combinations in {scanned - rendered:.1f} s")
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov wrote no report:\n{result.stdout}\n{result.stderr}", pytrace=False)
    # One report per framework (a list), or a single report when one framework found nothing.
    reports = reports if isinstance(reports, list) else [reports]
    found = {name: Findings() for name in [c["name"] for c in COMBINATIONS] + [CANARY]}
    for framework_report in reports:
        results = framework_report["results"]
        assert results["parsing_errors"] == [], "checkov could not read these files"
        for check in results["passed_checks"]:
            combination, file = scanned_file(check)
            found[combination].scanned.add(file)
        for check in results["failed_checks"]:
            combination, file = scanned_file(check)
            first, last = check["file_line_range"]
            found[combination].failed.append(
                f"{check['check_id']} {check['check_name']}: {check['resource']} "
                f"({file}, lines {first}-{last})"
            )
        for check in results["skipped_checks"]:
            combination, _ = scanned_file(check)
            reason = check["check_result"].get("suppress_comment") or ""
            found[combination].skipped.append((check["check_id"], reason.strip()))
    return found


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(c["name"], id=f"{c['name']}-python:{c['answers']['python_version']}")
        for c in COMBINATIONS
    ],
)
def test_checkov_passes_the_overlays_and_the_dockerfile(findings, name):
    found = findings[name]
    # Each overlay and the Dockerfile were read and checked: no silent empty scan.
    assert found.scanned == {"Dockerfile", "production.yaml"}, found.scanned
    assert found.failed == [], "checkov failed:\n" + "\n".join(found.failed)


def test_every_skip_is_known_and_says_why(findings):
    skipped = {
        (check, reason)
        for name, found in findings.items()
        if name != CANARY
        for check, reason in found.skipped
    }
    assert {check for check, _ in skipped} == EXPECTED_SKIPS
    assert all(len(reason) > 20 for _, reason in skipped), skipped


def test_checkov_finds_what_the_canary_lacks(findings):
    failed = {line.split()[0] for line in findings[CANARY].failed}
    assert failed >= CANARY_FINDINGS, "\n".join(findings[CANARY].failed)

"""The lock files pin what pyproject.toml asks for: after editing its dependencies, `make lock`."""

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# A pin and its hashes: `name==1.2.3 ; marker \`, then one `--hash=sha256:...` line per file.
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+).*\n"
    r"(?P<hashes>(?:[ \t]+--hash=sha256:[0-9a-f]{64}.*\n)*)",
    re.MULTILINE,
)
# What each lock must cover: the image's and the developers'.
LOCKS = {
    "requirements.txt": ("tracing",),
    "requirements-dev.txt": ("tracing", "dev"),
}


def project() -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return table


def pins(lock_file: str) -> dict[str, set[Version]]:
    """Name -> pinned versions (a universal lock may pin one name per Python version)."""
    found: dict[str, set[Version]] = {}
    for pin in PIN.finditer((ROOT / lock_file).read_text()):
        found.setdefault(canonicalize_name(pin["name"]), set()).add(Version(pin["version"]))
    return found


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    declared = project()
    optional = declared["optional-dependencies"]
    return [Requirement(line) for line in declared["dependencies"]] + [
        Requirement(line) for extra in extras for line in optional[extra]
    ]


@pytest.mark.parametrize(("lock_file", "extras"), LOCKS.items())
def test_every_dependency_is_pinned_within_its_range(lock_file, extras):
    pinned = pins(lock_file)
    for requirement in wanted(extras):
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in {lock_file}: make lock"
        # A range that names a pre-release (opentelemetry's 0.x betas) accepts pre-releases.
        assert any(requirement.specifier.contains(v, prereleases=True) for v in versions), (
            f"{lock_file} pins {requirement.name} {sorted(map(str, versions))}, outside "
            f"{requirement.specifier} in pyproject.toml: make lock"
        )


@pytest.mark.parametrize("lock_file", LOCKS)
def test_every_pin_is_hash_checked(lock_file):
    text = (ROOT / lock_file).read_text()
    entries = list(PIN.finditer(text))
    assert entries, f"no pins found in {lock_file}"
    pin_lines = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
    assert len(entries) == len(pin_lines), "a pin the check could not read"
    unhashed = [pin["name"] for pin in entries if "--hash=sha256:" not in pin["hashes"]]
    assert not unhashed, f"pins without hashes in {lock_file}: {unhashed}"


def test_developers_run_the_versions_the_image_runs():
    image, developers = pins("requirements.txt"), pins("requirements-dev.txt")
    differing = {
        name: versions for name, versions in image.items() if developers.get(name) != versions
    }
    assert not differing, f"requirements-dev.txt pins these differently: {differing}; make lock"

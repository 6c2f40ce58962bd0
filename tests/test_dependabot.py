"""The generated .github files: Dependabot's config and the CI workflow match their published
schemas (schemastore's, as check-jsonschema vendors them: no network), and Dependabot covers the
locks, the base image and the actions in a handful of grouped pull requests a week."""

import fnmatch
import re
import sys
import tomllib

import pytest
import yaml

from conftest import MODES, bake, run

# One project per database (the CI workflow differs by database), in different modes.
COMBINATIONS = [("wsgi", "sqlite"), ("asgi", "postgresql"), ("quart_hypercorn", "none")]


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda combination: "-".join(combination))
def project(request, cookies_session):
    mode, database = request.param
    return bake(
        cookies_session, project_name=f"Deps {mode} {database}", database=database, **MODES[mode]
    )


def updates(project):
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
    return {update["package-ecosystem"]: update for update in config["updates"]}


def dev_tools(project):
    """The names in the `dev` extra of the generated pyproject.toml."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["dev"]
    return [re.match(r"[A-Za-z0-9._-]+", requirement)[0].lower() for requirement in extra]


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (".github/dependabot.yml", "vendor.dependabot"),
        (".github/workflows/ci.yml", "vendor.github-workflows"),
    ],
)
def test_github_file_matches_its_published_schema(project, path, schema):
    run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, project / path])


def test_dependabot_updates_the_locks_the_base_image_and_the_actions_weekly(project):
    found = updates(project)
    assert set(found) == {"pip", "docker", "github-actions"}
    for update in found.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] == "weekly"
    # The files each ecosystem reads there.
    assert (project / "requirements.txt").is_file()
    assert (project / "requirements-dev.txt").is_file()
    assert "FROM " in (project / "Dockerfile").read_text()


def test_dependabot_groups_every_minor_and_patch_update_of_the_runtime_in_one_pull_request(
    project,
):
    groups = updates(project)["pip"]["groups"]
    catch_all = [group for group in groups.values() if group["patterns"] == ["*"]]
    assert len(catch_all) == 1
    assert sorted(catch_all[0]["update-types"]) == ["minor", "patch"]


def test_dependabot_groups_every_dev_tool_of_the_project(project):
    patterns = updates(project)["pip"]["groups"]["dev-tools"]["patterns"]
    ungrouped = [
        name
        for name in dev_tools(project)
        if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns)
    ]
    assert ungrouped == [], "each dev tool would come in a pull request of its own"


def test_dependabot_updates_every_action_in_one_pull_request(project):
    groups = updates(project)["github-actions"]["groups"]
    assert [group["patterns"] for group in groups.values()] == [["*"]]

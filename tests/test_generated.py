"""Each mode's baked project installs, and its own tests and lint pass (`make test lint`)."""

from conftest import run


def test_generated_project_tests_pass(installed_project):
    _, project, venv = installed_project
    run(["make", "test", f"VENV={venv}"], cwd=project)


def test_generated_project_lint_passes(installed_project):
    _, project, venv = installed_project
    run(["make", "lint", f"VENV={venv}"], cwd=project)

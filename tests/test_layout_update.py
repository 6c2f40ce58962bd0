"""A project generated before the layout by layer takes it with `cruft update`.

The layout by layer moved fourteen modules of the package into middleware/ and serving/. cruft
renders the project's commit and the new one, diffs the two with `git diff` (which finds renames)
and applies that with `git apply -3`: a move carries the team's edits to the new path, and only a
line that both the team and the move changed is a conflict, at the new path.

A module git does not see as moved is the exception: serving/wsgi.py keeps too little of a short
package's wsgi.py, and middleware/errors.py absorbed schemas/errors.py. A team edit to the old file
makes the three-way apply fail as a whole; cruft then applies what applies and leaves that file
where it was, named only in its output. The generated README's update note says what to do.

The template's history is needed (a plain clone has it); a shallow clone skips these tests.
"""

import subprocess
from pathlib import Path

import pytest
from test_template_updates import (
    ANSWERS,
    NOTHING_LEFT,
    SLUG,
    commit_all,
    copy_working_tree,
    cruft,
    files,
    generate_with_cruft,
    git,
    hermetic_env,
    init_and_commit,
    leftovers,
    replace_once,
)

from conftest import MODES, TEMPLATE, install, run

# The template's last commit before the layout by layer.
BEFORE_LAYOUT = "bce96aa7661506ed99a56d838c3f0d14edcb4435"
TEAM_NOTE = "\n\n# Ours: a note from the orders team.\n"
# metrics.py's import of the launcher's module: the move changes this line too.
METRICS_IMPORT = "from .metrics_directory import ENVIRONMENT_VARIABLE\n"
TEAM_METRICS_IMPORT = "from .metrics_directory import ENVIRONMENT_VARIABLE  # ours\n"


@pytest.fixture
def env(tmp_path):
    return hermetic_env(tmp_path)


def template_history(tmp_path: Path, env) -> tuple[Path, str, str]:
    """A throwaway template repository: BEFORE_LAYOUT as "v1", the working tree as "v2"."""
    shallow = git("rev-parse", "--is-shallow-repository", cwd=TEMPLATE, env=env).strip()
    if shallow == "true":
        pytest.skip(f"a shallow clone lacks {BEFORE_LAYOUT[:7]}: git fetch --unshallow")
    destination = tmp_path / "template"
    destination.mkdir()
    run(["git", "-C", TEMPLATE, "rev-parse", "--verify", f"{BEFORE_LAYOUT}^{{commit}}"], env=env)
    before = subprocess.run(
        ["git", "-C", str(TEMPLATE), "archive", BEFORE_LAYOUT], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=before, check=True)
    v1 = init_and_commit(destination, "v1: before the layout by layer", env)
    git("rm", "-r", "-q", ".", cwd=destination, env=env)
    copy_working_tree(destination)
    return destination, v1, commit_all(destination, "v2: the working tree", env)


def append(path: Path, text: str) -> None:
    with path.open("a") as file:
        file.write(text)


def team_work(project: Path, middleware: str) -> None:
    """The team's work the update must keep, laid out before the move (middleware="") or after:
    an edit to a module that moves, one to a module that stays, a file of its own, pyproject."""
    package = project / "src" / SLUG
    append(package / middleware / "body_limit.py", TEAM_NOTE)
    append(package / "views" / "health.py", TEAM_NOTE)
    (package / "views" / "orders.py").write_text('"""Our own orders views."""\n')
    replace_once(project / "pyproject.toml", 'description = "', 'description = "Orders. ')


def project_before_the_layout(tmp_path, env, answers) -> tuple[Path, Path, str]:
    """A project generated at v1 and committed; returns it, the template and v2."""
    template, v1, v2 = template_history(tmp_path, env)
    project = generate_with_cruft(template, answers, tmp_path / "projects", env, checkout=v1)
    init_and_commit(project, "Generated from the template", env)
    return project, template, v2


def assert_same_files(project: dict[str, bytes], fresh: dict[str, bytes]) -> None:
    assert sorted(project) == sorted(fresh)
    assert [name for name in fresh if project[name] != fresh[name]] == []


@pytest.mark.parametrize(
    ("mode", "database"),
    [
        # Installing into the mode's shared venv: on the worker of that mode's other tests.
        pytest.param("asgi", "sqlite", marks=pytest.mark.xdist_group("asgi"), id="asgi-sqlite"),
        pytest.param("wsgi", "none", marks=pytest.mark.xdist_group("wsgi"), id="wsgi-none"),
    ],
)
def test_a_project_from_before_the_layout_takes_it(tmp_path, env, mode, database):
    answers = {**ANSWERS, **MODES[mode], "database": database}
    project, template, v2 = project_before_the_layout(tmp_path, env, answers)
    team_work(project, middleware="")
    replace_once(project / "src" / SLUG / "metrics.py", METRICS_IMPORT, TEAM_METRICS_IMPORT)
    commit_all(project, "Our own work", env)

    cruft("update", "--skip-apply-ask", cwd=project, env=env)

    # One conflict, at the new path, on the line both changed; cruft records the update as done.
    metrics = f"src/{SLUG}/middleware/metrics.py"
    assert leftovers(project, env) == {**NOTHING_LEFT, "unmerged": [metrics], "markers": [metrics]}
    assert f"<<<<<<< ours\n{TEAM_METRICS_IMPORT}=======\n" in (project / metrics).read_text()
    assert f'"commit": "{v2}"' in (project / ".cruft.json").read_text()
    # Resolved the template's way, the project is a fresh v2 project with the team's work in v2's
    # layout: every module at its new path, no copy left at the old one, every edit kept.
    git("checkout", "--theirs", "--", metrics, cwd=project, env=env)
    fresh = generate_with_cruft(template, answers, tmp_path / "fresh", env, checkout=v2)
    team_work(fresh, middleware="middleware")
    assert_same_files(files(project), files(fresh))
    # And the project's own tests pass.
    venv = install(mode, project)
    run(["make", "test", f"VENV={venv}"], cwd=project)


def test_an_edit_to_a_module_git_sees_replaced_stays_at_its_old_path(tmp_path, env):
    """wsgi.py (package `shop`) is deleted and serving/wsgi.py added: the team's edit blocks the
    delete, so cruft applies the rest without merging. No marker and no .rej for that file: the
    old copy stays, named in cruft's output; other conflicts come as .rej files."""
    answers = {**ANSWERS, **MODES["wsgi"], "database": "none"}
    project, template, v2 = project_before_the_layout(tmp_path, env, answers)
    team_work(project, middleware="")
    package = project / "src" / SLUG
    append(package / "wsgi.py", TEAM_NOTE)
    replace_once(package / "metrics.py", METRICS_IMPORT, TEAM_METRICS_IMPORT)
    commit_all(project, "Our own work", env)

    update = cruft("update", "--skip-apply-ask", cwd=project, env=env)

    assert f"src/{SLUG}/wsgi.py: patch does not apply" in update.stderr
    metrics = f"src/{SLUG}/middleware/metrics.py"
    assert leftovers(project, env) == {**NOTHING_LEFT, "rejected": [f"{metrics}.rej"]}
    assert f'"commit": "{v2}"' in (project / ".cruft.json").read_text()
    assert f"\n-{METRICS_IMPORT}" in (project / f"{metrics}.rej").read_text()
    # Otherwise the project is a fresh v2 project with the team's work, every other module moved.
    project_files = files(project)
    assert project_files.pop(f"src/{SLUG}/wsgi.py").endswith(TEAM_NOTE.encode())
    project_files.pop(f"{metrics}.rej")
    assert TEAM_METRICS_IMPORT.encode() in project_files.pop(metrics)
    fresh = generate_with_cruft(template, answers, tmp_path / "fresh", env, checkout=v2)
    team_work(fresh, middleware="middleware")
    fresh_files = files(fresh)
    fresh_files.pop(metrics)
    assert (package / "serving" / "wsgi.py").exists()
    assert_same_files(project_files, fresh_files)

"""A project generated from one commit of the template takes a later commit with cruft.

Offline: the template's tracked files become a throwaway git repository (commit "v1"), a project
is generated from it, made a git repository and edited by its team; the template then gets a
realistic improvement (commit "v2"), and `cruft update` must bring it in, keep the team's work,
record the new commit and leave nothing to clean up by hand. A project made with plain
cookiecutter takes the same path after `cruft link`.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEMPLATE, run

SLUG = "shop"
ANSWERS = {"project_name": "Shop", "author_email": "team@example.com"}
MODES = {
    "wsgi-sqlite": {"interface": "wsgi", "database": "sqlite"},
    "quart-postgresql": {"interface": "asgi", "asgi_framework": "quart", "database": "postgresql"},
}
# cruft clones the template and merges with git; without git there is nothing to test.
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None, reason="git is not installed (cruft needs it): apt-get install git"
)
# Where v2 changes the template, relative to its root.
PROJECT = Path("{{cookiecutter.project_slug}}")
PACKAGE = PROJECT / "src" / "{{cookiecutter.project_slug}}"


@pytest.fixture
def env(tmp_path):
    return hermetic_env(tmp_path)


def hermetic_env(tmp_path: Path) -> dict[str, str]:
    """A hermetic environment: a git identity and no user git or Cookiecutter configuration."""
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\n"
        f"replay_dir: {tmp_path / 'replay'}\n"
        "default_context: {}\n"
    )
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "COOKIECUTTER_CONFIG": str(config),
    }


def cruft(*arguments, cwd, env, check=True):
    return run([sys.executable, "-m", "cruft", *map(str, arguments)], cwd=cwd, env=env, check=check)


def git(*arguments, cwd, env):
    return run(["git", *arguments], cwd=cwd, env=env).stdout


def init_and_commit(repo: Path, message: str, env) -> str:
    git("init", "-q", "-b", "main", cwd=repo, env=env)
    return commit_all(repo, message, env)


def commit_all(repo: Path, message: str, env) -> str:
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", message, cwd=repo, env=env)
    return git("rev-parse", "HEAD", cwd=repo, env=env).strip()


def copy_working_tree(destination: Path) -> None:
    """The template's tracked files, as they are in the working tree, copied to destination."""
    listed = subprocess.run(
        ["git", "-C", str(TEMPLATE), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = TEMPLATE / relative
        if source.is_file():  # a tracked file deleted in the working tree stays out
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)


def template_repository(tmp_path: Path, env) -> tuple[Path, str]:
    """The template's tracked files, as they are in the working tree, committed as "v1"."""
    destination = tmp_path / "template"
    copy_working_tree(destination)
    return destination, init_and_commit(destination, "v1", env)


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected {old!r} once; the test needs a new anchor"
    path.write_text(text.replace(old, new))


def improve_template(template: Path, env) -> str:
    """A later improvement of the template, as a maintainer would commit it: "v2"."""
    # A changed line near the top of the README, rendered from the answers.
    replace_once(
        template / PROJECT / "README.md",
        "# {{ cookiecutter.project_name }}\n",
        "# {{ cookiecutter.project_name }} ({{ cookiecutter.interface | upper }})\n",
    )
    # A changed line in a source file every mode has.
    health = template / PACKAGE / "views" / "health.py"
    first, rest = health.read_text().split("\n", 1)
    assert first.startswith('"""'), f"{health}: expected a docstring on the first line"
    health.write_text('"""Liveness and readiness probes, for any orchestrator."""\n' + rest)
    # A change to a file only the WSGI mode keeps: it must not appear in an ASGI project.
    with (template / PROJECT / "gunicorn.conf.py").open("a") as file:
        file.write("# v2: a comment from the template's later commit\n")
    # A change to a file the team deleted: it must stay deleted.
    replace_once(template / PROJECT / ".pre-commit-config.yaml", "repos:\n", "repos: # v2\n")
    # New files, one under the package directory, both rendered from the answers.
    (template / PROJECT / "UPGRADING.md").write_text(
        "# Upgrading {{ cookiecutter.project_name }}\n\nRun `cruft update`, review, commit.\n"
    )
    (template / PACKAGE / "build_info.py").write_text(
        '"""What the service is, for logs and metrics."""\n\n'
        'NAME = "{{ cookiecutter.project_slug }}"\n'
        'INTERFACE = "{{ cookiecutter.interface }}"\n'
    )
    return commit_all(template, "v2", env)


def team_edits(project: Path) -> None:
    """What a team does to its project between v1 and v2, in files of its own and the template's."""
    (project / "src" / SLUG / "views" / "orders.py").write_text('"""Our own orders views."""\n')
    with (project / ".env.example").open("a") as file:
        file.write("ORDERS_PAGE_SIZE=50\n")
    with (project / "README.md").open("a") as file:
        file.write("\n## Team notes\n\nOn call: the orders team.\n")
    (project / ".pre-commit-config.yaml").unlink()


def generate_with_cruft(template: Path, answers: dict, output_dir: Path, env, checkout=None):
    output_dir.mkdir()
    options = ["--no-input", "--extra-context", json.dumps(answers), "--output-dir", output_dir]
    if checkout:
        options += ["--checkout", checkout]
    cruft("create", template, *options, cwd=output_dir, env=env)
    return output_dir / SLUG


def generate_with_cookiecutter(template: Path, answers: dict, output_dir: Path, env):
    output_dir.mkdir()
    pairs = [f"{key}={value}" for key, value in answers.items()]
    command = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", *pairs]
    run([*command, "--output-dir", str(output_dir)], cwd=output_dir, env=env)
    return output_dir / SLUG


def files(root: Path) -> dict[str, bytes]:
    """Every file under root but git's own and cruft's state, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
        if path.name != ".cruft.json"
    }


def leftovers(project: Path, env) -> dict[str, list[str]]:
    """What an update left for the team to clean up: rejected hunks, conflicts."""
    return {
        "rejected": [name for name in files(project) if name.endswith((".rej", ".orig"))],
        "unmerged": git("diff", "--name-only", "--diff-filter=U", cwd=project, env=env).split(),
        "markers": [name for name, text in files(project).items() if b"\n<<<<<<< " in b"\n" + text],
    }


NOTHING_LEFT = {"rejected": [], "unmerged": [], "markers": []}


def answers_recorded(project: Path) -> dict:
    return json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]


@pytest.mark.parametrize("made_with", ["cruft create", "cookiecutter, then cruft link"])
@pytest.mark.parametrize("mode", list(MODES))
def test_a_project_takes_a_later_template_commit(tmp_path, env, mode, made_with):
    answers = {**ANSWERS, **MODES[mode]}
    template, v1 = template_repository(tmp_path, env)
    if made_with == "cruft create":
        project = generate_with_cruft(template, answers, tmp_path / "projects", env)
    else:
        project = generate_with_cookiecutter(template, answers, tmp_path / "projects", env)
        assert not (project / ".cruft.json").exists()
    init_and_commit(project, "Generated from the template", env)
    team_edits(project)
    commit_all(project, "Our own work", env)

    v2 = improve_template(template, env)

    if made_with != "cruft create":
        # Linked after v2 exists: to the commit it was generated from, with the answers it
        # records (the command the README gives).
        recorded = (project / ".cookiecutter.json").read_text()
        link = ["--no-input", "--checkout", v1, "--extra-context", recorded]
        cruft("link", template, *link, cwd=project, env=env)
        # v1 rendered with those answers differs from the project only by the team's edits to
        # template files (cruft diff leaves out the files the team added or deleted).
        diff = cruft("diff", "--exit-code", cwd=project, env=env, check=False).stdout
        headers = [line for line in diff.splitlines() if line.startswith("diff --git ")]
        changed = sorted(line.rsplit(" upstream-template-new/", 1)[-1] for line in headers)
        assert changed == [".env.example", "README.md"], diff
        commit_all(project, "Linked to the template with cruft", env)

    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (str(template), v1)
    assert {key: answers_recorded(project)[key] for key in answers} == answers
    outdated = cruft("check", cwd=project, env=env, check=False)
    assert outdated.returncode == 1, outdated.stdout + outdated.stderr
    assert "out of date" in outdated.stdout

    cruft("update", "--skip-apply-ask", cwd=project, env=env)

    assert leftovers(project, env) == NOTHING_LEFT
    assert json.loads((project / ".cruft.json").read_text())["commit"] == v2
    assert {key: answers_recorded(project)[key] for key in answers} == answers
    # The project is now exactly a fresh v2 project with the team's work on top.
    fresh = generate_with_cruft(template, answers, tmp_path / "fresh", env, checkout=v2)
    team_edits(fresh)
    project_files, fresh_files = files(project), files(fresh)
    assert sorted(project_files) == sorted(fresh_files)
    assert [name for name in fresh_files if project_files[name] != fresh_files[name]] == []
    # Spelled out: the improvement arrived, rendered with the project's answers...
    readme = (project / "README.md").read_text()
    assert readme.startswith(f"# Shop ({answers['interface'].upper()})\n")
    health = (project / "src" / SLUG / "views" / "health.py").read_text()
    assert health.startswith('"""Liveness and readiness probes, for any orchestrator')
    assert (project / "UPGRADING.md").read_text().startswith("# Upgrading Shop\n")
    build_info = (project / "src" / SLUG / "build_info.py").read_text()
    assert f'INTERFACE = "{answers["interface"]}"' in build_info
    gunicorn_conf = project / "gunicorn.conf.py"
    if answers["interface"] == "wsgi":
        assert gunicorn_conf.read_text().endswith(
            "# v2: a comment from the template's later commit\n"
        )
    else:  # the post-generation hook still removes the other modes' files
        assert not gunicorn_conf.exists()
    # ...and the team's work is intact, including a template file it deleted.
    assert readme.endswith("## Team notes\n\nOn call: the orders team.\n")
    assert (project / ".env.example").read_text().endswith("ORDERS_PAGE_SIZE=50\n")
    assert (project / "src" / SLUG / "views" / "orders.py").exists()
    assert not (project / ".pre-commit-config.yaml").exists()

    commit_all(project, "Template update", env)
    cruft("check", cwd=project, env=env)
    assert "Nothing to do" in cruft("update", "--skip-apply-ask", cwd=project, env=env).stdout


@pytest.mark.parametrize("history", ["committed as generated", "edited before its first commit"])
def test_a_conflicting_edit_is_left_for_the_team_to_resolve(tmp_path, env, history):
    """The team and v2 change the same line. With the generated files in the project's history
    git merges three ways and leaves conflict markers; without them cruft falls back to a plain
    patch and leaves the hunk in a .rej file. Never a silent choice, and the rest applied."""
    answers = {**ANSWERS, **MODES["wsgi-sqlite"]}
    template, _ = template_repository(tmp_path, env)
    project = generate_with_cruft(template, answers, tmp_path / "projects", env)
    if history == "committed as generated":
        init_and_commit(project, "Generated from the template", env)
    replace_once(project / "README.md", "# Shop\n", "# Shop, by the orders team\n")
    if history == "committed as generated":
        commit_all(project, "Our title", env)
    else:
        init_and_commit(project, "Our service", env)
    v2 = improve_template(template, env)

    update = cruft("update", "--skip-apply-ask", cwd=project, env=env)

    # cruft exits 0 and records the update as done: resolving it is the team's commit to make.
    assert "README.md" in update.stdout + update.stderr
    assert json.loads((project / ".cruft.json").read_text())["commit"] == v2
    readme = (project / "README.md").read_text()
    if history == "committed as generated":
        assert leftovers(project, env) == {
            **NOTHING_LEFT,
            "unmerged": ["README.md"],
            "markers": ["README.md"],
        }
        conflict = (
            "<<<<<<< ours\n# Shop, by the orders team\n=======\n# Shop (WSGI)\n>>>>>>> theirs\n"
        )
        assert readme.startswith(conflict)
    else:
        assert leftovers(project, env) == {**NOTHING_LEFT, "rejected": ["README.md.rej"]}
        assert readme.startswith("# Shop, by the orders team\n")
        assert "\n-# Shop\n+# Shop (WSGI)\n" in (project / "README.md.rej").read_text()
    # Every other improvement arrived.
    health = (project / "src" / SLUG / "views" / "health.py").read_text()
    assert health.startswith('"""Liveness and readiness probes, for any orchestrator')
    assert (project / "UPGRADING.md").exists()
    assert (project / "src" / SLUG / "build_info.py").exists()


def test_a_jinja_extension_added_later_reaches_existing_projects(tmp_path, env):
    """cruft update imports `local_extensions` once, from the project's old commit, and renders the
    new commit with that same module: a filter added to it later is missing ("No filter named").
    So a later filter goes in a new module listed in `_extensions`, which is imported from the new
    commit; this is that rule at work."""
    answers = {**ANSWERS, **MODES["wsgi-sqlite"]}
    template, _ = template_repository(tmp_path, env)
    project = generate_with_cruft(template, answers, tmp_path / "projects", env)
    init_and_commit(project, "Generated from the template", env)
    (template / "local_extensions_v2.py").write_text(
        "from jinja2.ext import Extension\n\n\n"
        "class ShoutExtension(Extension):\n"
        "    def __init__(self, environment):\n"
        "        super().__init__(environment)\n"
        '        environment.filters["shout"] = str.upper\n'
    )
    context = json.loads((template / "cookiecutter.json").read_text())
    context["_extensions"].append("local_extensions_v2.ShoutExtension")
    context["__shouted_name"] = "{{ cookiecutter.project_name | shout }}"
    (template / "cookiecutter.json").write_text(json.dumps(context, indent=2) + "\n")
    (template / PROJECT / "SHOUTED.txt").write_text("{{ cookiecutter.__shouted_name }}\n")
    v2 = commit_all(template, "v2: a new filter, in a new module", env)

    cruft("update", "--skip-apply-ask", cwd=project, env=env)

    assert (project / "SHOUTED.txt").read_text() == "SHOP\n"
    assert leftovers(project, env) == NOTHING_LEFT
    assert json.loads((project / ".cruft.json").read_text())["commit"] == v2

"""The generated README's "Add your own resource", followed to the letter: in every mode, on
SQLite and on PostgreSQL, a second resource, `orders`, with a foreign key to items. Its files are
in tests/resources/orders/ (Jinja: async in Quart); the test writes them where the README says,
runs the README's commands, and checks what each step leaves behind."""

import json
import os
import re
import time
from pathlib import Path

import jinja2
import pytest

from conftest import FRAMEWORK_MODES, MODES, VENV_CACHE, bake, framework, install, report, run

RESOURCE = Path(__file__).parent / "resources" / "orders"
SECTION = "## Add your own resource"
# What the section names, in the order a team touches it.
STEPS = (
    "database/models.py",
    'make migration m="add orders"',
    "database/migrations/versions/",
    "make migrate",
    "schemas/orders.py",
    "queries/orders.py",
    "views/orders.py",
    "app.register_blueprint(orders.bp)",
    "tests/test_orders.py",
    "tests/test_openapi.py",
    ".venv/bin/pytest tests/test_orders.py",
    "make test lint",
)
NEW_OPERATIONS = {("/orders", "get"), ("/orders", "post"), ("/orders/{order_id}", "get")}


def readme_section(project: Path) -> str:
    readme = (project / "README.md").read_text()
    assert SECTION in readme
    return readme.split(SECTION, 1)[1].split("\n## ", 1)[0]


def assert_in_order(text: str, steps) -> None:
    position = 0
    for step in steps:
        found = text.find(step, position)
        assert found >= 0, f"{step!r} is missing from the section, or out of order"
        position = found + len(step)


def render(name: str, mode: str) -> str:
    quart = framework(mode) == "quart"
    template = jinja2.Template((RESOURCE / name).read_text(), keep_trailing_newline=True)
    return template.render(
        framework=framework(mode),
        async_="async " if quart else "",
        await_="await " if quart else "",
    )


def import_key(name: str) -> tuple[int, str]:
    # isort's order, as ruff applies it: CONSTANTS, then Classes, then the rest.
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2
    return kind, name


def add_imports(source: str, module: str, names: set[str]) -> str:
    """Add `names` to the file's `from module import ...`, written as ruff would write it."""
    pattern = re.compile(rf"^from {re.escape(module)} import (\([^)]*\)|.*)$", re.MULTILINE)
    found = pattern.search(source)
    assert found, f"no `from {module} import ...` to extend"
    present = {name.strip() for name in found[1].strip("()").split(",") if name.strip()}
    imported = sorted(present | names, key=import_key)
    line = f"from {module} import {', '.join(imported)}"
    if len(line) > 100:
        line = f"from {module} import (\n" + "".join(f"    {name},\n" for name in imported) + ")"
    return source[: found.start()] + line + source[found.end() :]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new))


def add_model(package: Path, mode: str) -> None:
    models = package / "database" / "models.py"
    source = add_imports(models.read_text(), "sqlalchemy", {"CheckConstraint", "ForeignKey"})
    models.write_text(source.rstrip("\n") + "\n" + render("model.py.j2", mode))


def add_code(project: Path, package: Path, mode: str) -> None:
    """Schema, queries, views and tests, and the blueprint registered in the factory."""
    for template, target in [
        ("schemas.py.j2", package / "schemas" / "orders.py"),
        ("queries.py.j2", package / "queries" / "orders.py"),
        ("views.py.j2", package / "views" / "orders.py"),
        ("test_orders.py.j2", project / "tests" / "test_orders.py"),
    ]:
        assert not target.exists()
        target.write_text(render(template, mode))
    factory = package / "__init__.py"
    factory.write_text(add_imports(factory.read_text(), ".views", {"orders"}))
    edit(
        factory,
        "    app.register_blueprint(items.bp)\n",
        "    app.register_blueprint(items.bp)\n    app.register_blueprint(orders.bp)\n",
    )
    # The sample's OpenAPI test lists every operation the document holds: add the new ones.
    last = '        ("/items/{item_id}", "delete"),\n'
    listed = [f'        ("{path}", "{method}"),\n' for path, method in sorted(NEW_OPERATIONS)]
    edit(project / "tests" / "test_openapi.py", last, last + "".join(listed))


def flat(text: str) -> str:
    """The code without whitespace: ruff decides where the lines break."""
    return "".join(text.split())


def assert_migration_adds_orders(migration: Path, package: str) -> None:
    code = flat(migration.read_text())
    # Alembic imports nothing of the package: a type of ours must come out as the column's own.
    assert f"{package}." not in code, "the migration uses a type it does not import"
    upgrade, _, downgrade = code.partition("defdowngrade()")
    assert 'down_revision:str|None="0001"' in code
    assert 'op.create_table("orders",' in upgrade
    assert (
        'sa.ForeignKeyConstraint(["item_id"],["items.id"],'
        'name=op.f("fk_orders_item_id_items"),ondelete="CASCADE")'
    ) in upgrade
    assert 'sa.Column("created_at",sa.DateTime(timezone=True),nullable=False)' in upgrade
    assert 'sa.CheckConstraint("quantity>0",name=op.f("ck_orders_quantity_positive"))' in upgrade
    assert 'create_index(batch_op.f("ix_orders_item_id"),["item_id"]' in upgrade
    assert 'op.drop_table("orders")' in downgrade


# Run in the project's venv: what the migrated database holds, and the app's /openapi.json.
FOREIGN_KEYS = """
import json, sys
from sqlalchemy import create_engine, inspect
engine = create_engine(sys.argv[1])
print(json.dumps(inspect(engine).get_foreign_keys("orders")))
"""
OPENAPI = {
    "flask": """
import json, sys
from {package} import create_app
app = create_app({{"TESTING": True, "DATABASE_URL": sys.argv[1]}})
print(json.dumps(app.test_client().get("/openapi.json").get_json()))
""",
    "quart": """
import asyncio, json, sys
from {package} import create_app
async def document():
    app = create_app({{"TESTING": True, "DATABASE_URL": sys.argv[1]}})
    response = await app.test_client().get("/openapi.json")
    return await response.get_json()
print(json.dumps(asyncio.run(document())))
""",
}


def in_venv(venv: Path, code: str, *arguments: str, env: dict) -> object:
    result = run([str(venv / "bin" / "python"), "-c", code, *arguments], env=env)
    # The last line: the app logs to stdout as well (the access log).
    return json.loads(result.stdout.splitlines()[-1])


def environments(request, project: Path, mode: str, database: str) -> tuple[str, dict, dict]:
    """The database `make migrate` uses, and the environments for the commands and for the tests:
    as in a developer's shell, with no settings of the test run's own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("APP_ENV", "DATABASE_URL", "TEST_DATABASE_URL")
    }
    # mypy (`make lint`) checks the libraries once per mode, not once per project.
    env["MYPY_CACHE_DIR"] = str(VENV_CACHE.parent / "mypy" / mode)
    if database == "sqlite":
        # The README's default: data/<package>.sqlite3 in the project, no DATABASE_URL.
        return f"sqlite:///{project / 'data' / (project.name + '.sqlite3')}", env, env
    postgres = request.getfixturevalue("postgres")
    url = postgres.create_database(f"{mode}_add_resource")
    tests = postgres.create_database(f"{mode}_add_resource_tests")
    return url, {**env, "DATABASE_URL": url}, {**env, "TEST_DATABASE_URL": tests}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    "mode", [pytest.param(mode, marks=pytest.mark.xdist_group(mode)) for mode in FRAMEWORK_MODES]
)
def test_a_second_resource_added_as_the_readme_says(request, cookies, mode, database):
    started = time.monotonic()
    name = f"Orders {mode}{' pg' if database == 'postgresql' else ''}"
    project = bake(cookies, project_name=name, database=database, **MODES[mode])
    assert_in_order(readme_section(project), STEPS)
    venv = install(mode, project)
    make = ["make", f"VENV={venv}"]
    package = project / "src" / project.name
    versions = package / "database" / "migrations" / "versions"
    url, env, test_env = environments(request, project, mode, database)

    # 1-2. The model, then its migration, written against a database at the latest revision.
    run([*make, "migrate"], cwd=project, env=env)
    add_model(package, mode)
    before = set(versions.glob("*.py"))
    run([*make, "migration", "m=add orders"], cwd=project, env=env)
    written = set(versions.glob("*.py")) - before
    assert len(written) == 1, f"`make migration` wrote {len(written)} files"
    migration = written.pop()
    assert migration.name.endswith("_add_orders.py")
    assert_migration_adds_orders(migration, project.name)
    run([*make, "migrate"], cwd=project, env=env)
    keys = in_venv(venv, FOREIGN_KEYS, url, env=env)
    assert [
        (key["constrained_columns"], key["referred_table"], key["options"].get("ondelete"))
        for key in keys
    ] == [(["item_id"], "items", "CASCADE")]

    # 3-6. Schema, queries, views (in the factory) and tests; then the resource's own tests.
    add_code(project, package, mode)
    orders = run([str(venv / "bin" / "pytest"), "tests/test_orders.py"], cwd=project, env=test_env)
    summary = orders.stdout.splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, orders.stdout[-2000:]
    run([*make, "test", "lint"], cwd=project, env=test_env)

    # /openapi.json from the app, as its test client sees it.
    code = OPENAPI[framework(mode)].format(package=project.name)
    document = in_venv(venv, code, url, env={**env, "APP_ENV": "test"})
    paths = document["paths"]
    operations = {(path, method) for path, methods in paths.items() for method in methods}
    assert operations >= NEW_OPERATIONS
    schema = document["components"]["schemas"]["OrderCreate"]
    assert schema["properties"]["quantity"]["exclusiveMinimum"] == 0
    report(f"add a resource ({mode}, {database}): {time.monotonic() - started:.0f} s")


def test_a_project_without_a_database_has_no_such_section(cookies):
    project = bake(cookies, database="none")
    assert SECTION not in (project / "README.md").read_text()

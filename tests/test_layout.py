"""The generated package's layout: a short root, a README table that matches it, and imports that
only run down the layers."""

import ast
import re
from pathlib import Path

import pytest

from conftest import MODES, bake

DATABASES = ("sqlite", "postgresql", "none")
SLUG = "acme_orders"
# Lowest first: a module may import its own layer and the layers below it, never one above.
# settings is the floor; the plumbing (middleware) stands on it; the service's own code stands on
# both (database, then schemas, queries and views); the factory wires them; serving runs it all.
LAYERS = ("settings", "middleware", "database", "schemas", "queries", "views", "factory", "serving")
MOST_ROOT_ENTRIES = 10
# A row of the README's Layout table: | `views/` | ... |
TABLE_ROW = re.compile(r"^\| `([^`]+)` \|", re.M)


@pytest.fixture(
    params=[(mode, database) for mode in MODES for database in DATABASES],
    ids=lambda param: f"{param[0]}-{param[1]}",
)
def package(request, cookies) -> Path:
    mode, database = request.param
    project = bake(cookies, project_name="Acme Orders", database=database, **MODES[mode])
    return project / "src" / SLUG


def root_entries(package: Path) -> set[str]:
    return {
        f"{path.name}/" if path.is_dir() else path.name
        for path in package.iterdir()
        if path.name != "__pycache__"
    }


def layer_of(module: str) -> str:
    """acme_orders.middleware.errors -> middleware; acme_orders -> factory."""
    parts = module.split(".")
    assert parts[0] == SLUG, module
    if len(parts) == 1 or parts[1] == "__init__":
        return "factory"
    assert parts[1] in LAYERS, f"{module}: a package the layers do not name"
    return parts[1]


def is_module(package: Path, name: str) -> bool:
    path = package.parent.joinpath(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def imports_of(package: Path, path: Path) -> list[str]:
    """The modules of this package that `path` imports, as absolute names."""
    # The package a relative import starts from: the module's own (its parent directory).
    here = list(path.relative_to(package.parent).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append(module)
            # `from .middleware import metrics` names a module; `from .. import create_app` not.
            found += [
                f"{module}.{alias.name}"
                for alias in node.names
                if is_module(package, f"{module}.{alias.name}")
            ]
    return [name for name in found if name == SLUG or name.startswith(SLUG + ".")]


def test_the_package_root_shows_at_most_ten_entries(package):
    entries = root_entries(package)
    assert len(entries) <= MOST_ROOT_ENTRIES, sorted(entries)
    assert {"__init__.py", "settings.py", "views/", "middleware/", "serving/"} <= entries


def test_the_readme_layout_table_matches_the_package_root(package):
    readme = (package.parents[1] / "README.md").read_text()
    section = readme.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    assert set(TABLE_ROW.findall(section)) == root_entries(package)


def test_imports_only_run_down_the_layers(package):
    upward = []
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        layer = layer_of(module.removesuffix(".__init__"))
        for imported in imports_of(package, path):
            target = layer_of(imported)
            if LAYERS.index(target) > LAYERS.index(layer):
                upward.append(f"{module} ({layer}) imports {imported} ({target})")
    assert upward == []


def test_settings_import_nothing_of_the_package(package):
    assert imports_of(package, package / "settings.py") == []


def test_the_layer_check_sees_an_upward_import(package, tmp_path):
    """The check itself: plant the import the layout forbids and see it caught."""
    planted = package / "middleware" / "planted.py"
    planted.write_text("from ..views import health\n")
    try:
        assert imports_of(package, planted) == [f"{SLUG}.views", f"{SLUG}.views.health"]
        assert LAYERS.index(layer_of(f"{SLUG}.views")) > LAYERS.index("middleware")
    finally:
        planted.unlink()

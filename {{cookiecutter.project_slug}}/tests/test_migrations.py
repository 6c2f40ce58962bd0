"""The migrations build exactly the schema the models describe, and undo it."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from {{ cookiecutter.project_slug }}.database.migrate import alembic_config
from {{ cookiecutter.project_slug }}.database.models import Base


@pytest.fixture
def empty_database(database, database_url, monkeypatch):
    """The test database with no tables at all; migrations read DATABASE_URL, as in production."""
    Base.metadata.drop_all(database)
    monkeypatch.setenv("DATABASE_URL", database_url)
    yield database
    with database.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def table_names(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_to_head_matches_the_models(empty_database):
    command.upgrade(alembic_config(), "head")
    assert {"items", "alembic_version"} <= table_names(empty_database)
    with empty_database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_downgrade_to_base_removes_the_tables(empty_database):
    command.upgrade(alembic_config(), "head")
    command.downgrade(alembic_config(), "base")
    assert "items" not in table_names(empty_database)


def test_migrations_are_one_straight_line():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1

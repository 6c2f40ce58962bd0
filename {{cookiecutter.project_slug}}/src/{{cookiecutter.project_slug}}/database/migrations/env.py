"""Alembic's environment: the database from the app's settings, the schema from the models."""

from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool
from sqlalchemy.types import TypeDecorator

{% if cookiecutter.database == "sqlite" -%}
from {{ cookiecutter.project_slug }}.database.engine import create_sqlite_file
{% endif -%}
from {{ cookiecutter.project_slug }}.database.models import Base
from {{ cookiecutter.project_slug }}.settings import load_database_settings


def render_item(kind: str, item: object, _context: AutogenContext) -> str | Literal[False]:
    """Our column types (models.UTCDateTime) written as the SQL type they store, so a migration
    stands alone: `sa.DateTime(timezone=True)`, not a class the file does not import."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


def run_migrations() -> None:
    url = load_database_settings().url
{%- if cookiecutter.database == "sqlite" %}
    # Zero setup: the first migration creates the data directory and file, as the app would.
    create_sqlite_file(url)
{%- endif %}
    # One connection for one run: no pool to keep.
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            # SQLite cannot ALTER most things in place: batch mode copies the table instead, so
            # the same migrations run on SQLite and PostgreSQL.
            render_as_batch=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()

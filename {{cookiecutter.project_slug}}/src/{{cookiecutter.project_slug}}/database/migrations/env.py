"""Alembic's environment: the database from the app's settings, the schema from the models."""

{% if cookiecutter.database == "sqlite" -%}
from pathlib import Path

{% endif -%}
from alembic import context
from sqlalchemy import create_engine, {% if cookiecutter.database == "sqlite" %}make_url, {% endif %}pool

from {{ cookiecutter.project_slug }}.database.models import Base
from {{ cookiecutter.project_slug }}.settings import load_database_settings


def run_migrations() -> None:
    url = load_database_settings().url
{%- if cookiecutter.database == "sqlite" %}
    # Zero setup: the first migration creates the data directory, as the app would.
    Path(make_url(url).database).parent.mkdir(parents=True, exist_ok=True)
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
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()

"""DATABASE_URL as hosting providers hand it out, turned into a SQLAlchemy URL with our driver.

Every message here is safe to log: it never contains the password.
"""

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

{% if cookiecutter.database == "postgresql" -%}
EXAMPLE = "postgresql://user:password@db.example.com:5432/orders"
# Providers write postgres:// or postgresql://; both mean psycopg 3 here.
SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
DRIVER = "postgresql+psycopg"
{%- else -%}
EXAMPLE = "sqlite:///data/{{ cookiecutter.project_slug }}.sqlite3"
SCHEMES = {"sqlite", "sqlite+pysqlite"}
DRIVER = "sqlite"
{%- endif %}


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used; the message names the problem, never the password."""


def parse_database_url(raw: str) -> str:
    """Return the URL with our driver, as a string SQLAlchemy accepts, or raise DatabaseUrlError."""
    try:
        url = make_url(raw)
        url.port  # noqa: B018 - a port that is not a number only fails when read
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(f"is not a database URL; expected e.g. {EXAMPLE}") from None
    if url.drivername not in SCHEMES:
        raise DatabaseUrlError(
            f"uses the scheme {url.drivername!r}; this service is built for "
            f"{DRIVER.split('+')[0]}, e.g. {EXAMPLE}"
        )
{%- if cookiecutter.database == "postgresql" %}
    if not url.host or not url.database:
        raise DatabaseUrlError(f"needs a host and a database name, e.g. {EXAMPLE}")
{%- else %}
    if not url.database or url.database == ":memory:":
        # Every worker process would get its own empty in-memory database.
        raise DatabaseUrlError(f"must name a database file, e.g. {EXAMPLE}")
{%- endif %}
    return url.set(drivername=DRIVER).render_as_string(hide_password=False)


def redacted(url: str | URL) -> str:
    """The URL as it may appear in logs and errors."""
    return make_url(url).render_as_string(hide_password=True)

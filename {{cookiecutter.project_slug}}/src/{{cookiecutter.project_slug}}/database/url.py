"""DATABASE_URL as it may appear in logs: settings.py parses and checks it (parse_database_url)."""

from sqlalchemy.engine import URL, make_url


def redacted(url: str | URL) -> str:
    """The URL as it may appear in logs and errors: without the password."""
    return make_url(url).render_as_string(hide_password=True)

"""`migrate`: apply every pending migration to DATABASE_URL, then exit.

The image runs it as `docker run IMAGE migrate`; `make migrate` runs it from the checkout. It
needs only DATABASE_URL: no SECRET_KEY, no server.
"""

import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from ..middleware.logs import configure_logging
from ..settings import SettingsError, load_database_settings
from .url import redacted

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Named, since under `python -m` __name__ is "__main__", which says nothing in a log line.
logger = logging.getLogger("{{ cookiecutter.project_slug }}.database.migrate")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def main() -> None:
    configure_logging("INFO")
    try:
        url = load_database_settings().url
    except SettingsError as error:
        sys.exit(f"ERROR: {error}")
    logger.info("Migrating %s to the latest revision", redacted(url))
    try:
        command.upgrade(alembic_config(), "head")
    except OperationalError as error:
        # The driver's first line says what failed (refused, timed out, bad password).
        sys.exit(f"ERROR: cannot migrate {redacted(url)}: {str(error.orig).splitlines()[0]}")
    logger.info("Migrations applied")


if __name__ == "__main__":
    main()

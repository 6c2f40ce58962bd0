"""The demo's slow query: the database holds a connection for a while, as a heavy query would."""

from sqlalchemy import text
{%- if cookiecutter.__framework == "quart" %}
from sqlalchemy.ext.asyncio import AsyncSession as Session
{%- else %}
from sqlalchemy.orm import Session
{%- endif %}

{% if cookiecutter.database == "sqlite" -%}
# sleep() is registered on every SQLite connection by database/engine.py.
SLEEP = text("SELECT sleep(:seconds)")
{%- else -%}
SLEEP = text("SELECT pg_sleep(:seconds)")
{%- endif %}


{{ cookiecutter.__async }}def sleep(session: Session, seconds: float) -> None:
    {{ cookiecutter.__await }}session.execute(SLEEP, {"seconds": seconds})

"""Sample views that show what the {{ cookiecutter.interface | upper }} interface does with slow I/O."""

{% if cookiecutter.interface == "asgi" -%}
import asyncio
{% endif -%}
import math
{% if cookiecutter.interface == "wsgi" -%}
import time
{% endif %}
from {{ cookiecutter.__framework }} import Blueprint, abort, current_app, request
{%- if cookiecutter.database != "none" %}

from ..database.session import get_session
from ..queries import demo as queries
{%- endif %}

bp = Blueprint("demo", __name__)

INTERFACE = "{{ cookiecutter.interface }}"


@bp.get("/")
{{ cookiecutter.__async }}def hello() -> dict[str, str]:
    return {"message": "Hello from {{ cookiecutter.project_name }}!", "interface": INTERFACE}


def parse_seconds(raw: str) -> float:
    """`seconds` must be a finite number from 0 to SLOW_MAX_SECONDS; anything else is a 400."""
    limit = current_app.config["SLOW_MAX_SECONDS"]
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 <= seconds <= limit):
        abort(400, description=f"seconds must be a number from 0 to {limit:g}, got {raw!r}")
    return seconds

{% if cookiecutter.interface == "wsgi" %}
@bp.get("/slow")
def slow() -> dict[str, object]:
    seconds = parse_seconds(request.args.get("seconds", "1"))
    # Blocking I/O holds this thread; the worker's other threads keep serving meanwhile.
    time.sleep(seconds)
    return {"slept": seconds, "interface": INTERFACE}
{% else %}
@bp.get("/slow")
async def slow() -> dict[str, object]:
    seconds = parse_seconds(request.args.get("seconds", "1"))
    # Awaiting hands the event loop to other requests while this one waits.
    await asyncio.sleep(seconds)
    return {"slept": seconds, "interface": INTERFACE}
{% endif %}
{%- if cookiecutter.database != "none" %}

@bp.get("/slow-query")
{{ cookiecutter.__async }}def slow_query() -> dict[str, object]:
    seconds = parse_seconds(request.args.get("seconds", "0.05"))
    # The database sleeps while this request holds a pooled connection, as a heavy query would.
    {{ cookiecutter.__await }}queries.sleep({{ cookiecutter.__await }}get_session(), seconds)
    return {"slept": seconds, "in": "database", "interface": INTERFACE}
{% endif %}

@bp.post("/echo")
{{ cookiecutter.__async }}def echo() -> dict[str, object]:
    if not request.is_json:
        abort(415, description="send the body as application/json")
    # get_json() answers 400 for malformed JSON and 413 past MAX_CONTENT_LENGTH, both through
    # the JSON error handlers.
    payload = {% if cookiecutter.__framework == "quart" %}await {% endif %}request.get_json()
    if not isinstance(payload, dict):
        abort(400, description="the request body must be a JSON object")
    return payload

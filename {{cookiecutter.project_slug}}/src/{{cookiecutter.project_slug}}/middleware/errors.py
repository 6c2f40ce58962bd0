"""Every error is JSON of one shape: {"error": {"code": 404, "message": "Not Found"}}.

Invalid input adds the fields at fault: {"error": {..., "fields": [{"field": "name", ...}]}}.
ErrorResponse describes that shape for the OpenAPI document; error_body() builds it.
"""

import logging

{% if cookiecutter.__framework == "flask" -%}
from flask import Flask, Response, jsonify
from pydantic import BaseModel
{%- else -%}
from pydantic import BaseModel
from quart import Quart, Response, jsonify
{%- endif %}
{%- if cookiecutter.database != "none" %}
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as DatabaseInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
{%- endif %}
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)
{%- if cookiecutter.database != "none" %}
# Seconds a client should wait before retrying while the database is busy or away.
RETRY_AFTER_BUSY = 1
RETRY_AFTER_DOWN = 5
{%- endif %}


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: int
    message: str
    fields: list[FieldError] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_body(
    code: int, message: str, fields: list[dict[str, str]] | None = None
) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


{{ cookiecutter.__async }}def handle_http_error(error: HTTPException) -> tuple[Response, int, dict[str, str]]:
    # A description we chose (abort(400, description=...)) is worth showing; Werkzeug's stock
    # descriptions are long prose, so those fall back to the status name.
    custom = error.description != type(error).description
    message = error.description if custom and error.description else error.name
    code = error.code or 500
    # Keep the error's own headers, such as Allow on a 405; the body is ours.
    headers = {name: value for name, value in error.get_headers() if name != "Content-Type"}
    return jsonify(error_body(code, message, getattr(error, "fields", None))), code, headers
{%- if cookiecutter.database != "none" %}


{{ cookiecutter.__async }}def handle_pool_timeout(error: PoolTimeout) -> tuple[Response, int, dict[str, str]]:
    # Every pooled connection stayed busy for DATABASE_POOL_TIMEOUT: shed load, do not queue more.
    logger.warning("No database connection free: %s", error)
    body = error_body(503, "The database is busy; retry shortly")
    return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_BUSY)}


{{ cookiecutter.__async }}def handle_database_down(error: Exception) -> tuple[Response, int, dict[str, str]]:
    # Unreachable, restarting, locked or not migrated: the log says which, the client may retry.
    logger.error("Database unavailable: %s", str(error).splitlines()[0])
    body = error_body(503, "The database is unavailable; retry shortly")
    return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_DOWN)}


{{ cookiecutter.__async }}def handle_integrity_error(error: IntegrityError) -> tuple[Response, int]:
    # A constraint the queries did not foresee: the request conflicts with what is stored.
    logger.warning("Constraint violated: %s", str(error).splitlines()[0])
    return jsonify(error_body(409, "The request conflicts with the stored data")), 409
{%- endif %}


{{ cookiecutter.__async }}def handle_unexpected_error(error: Exception) -> tuple[Response, int]:
    # Log the traceback for us; the client gets a plain message and no internals.
    logger.exception("Unhandled exception", exc_info=error)
    return jsonify(error_body(500, InternalServerError().name)), 500


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
{%- if cookiecutter.database != "none" %}
    app.register_error_handler(PoolTimeout, handle_pool_timeout)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(DatabaseInterfaceError, handle_database_down)
    app.register_error_handler(IntegrityError, handle_integrity_error)
{%- endif %}
    app.register_error_handler(Exception, handle_unexpected_error)

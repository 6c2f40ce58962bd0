"""Every error is JSON of one shape: {"error": {"code": 404, "message": "Not Found"}}."""

import logging

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)


def error_body(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


{{ cookiecutter.__async }}def handle_http_error(error: HTTPException) -> tuple[Response, int, dict[str, str]]:
    # A description we chose (abort(400, description=...)) is worth showing; Werkzeug's stock
    # descriptions are long prose, so those fall back to the status name.
    custom = error.description != type(error).description
    message = error.description if custom and error.description else error.name
    code = error.code or 500
    # Keep the error's own headers, such as Allow on a 405; the body is ours.
    headers = {name: value for name, value in error.get_headers() if name != "Content-Type"}
    return jsonify(error_body(code, message)), code, headers


{{ cookiecutter.__async }}def handle_unexpected_error(error: Exception) -> tuple[Response, int]:
    # Log the traceback for us; the client gets a plain message and no internals.
    logger.exception("Unhandled exception", exc_info=error)
    return jsonify(error_body(500, InternalServerError().name)), 500


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)

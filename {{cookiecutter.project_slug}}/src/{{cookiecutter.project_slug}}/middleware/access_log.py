"""One access-log line per request, as JSON, with the request id and the time taken."""

import logging
import time

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}, Response, g, request

logger = logging.getLogger("access")


{{ cookiecutter.__async }}def start_timer() -> None:
    g.started_at = time.perf_counter()


{{ cookiecutter.__async }}def log_request(response: Response) -> Response:
    started_at = g.get("started_at")
    duration_ms = round((time.perf_counter() - started_at) * 1000, 2) if started_at else None
    logger.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "remote_addr": request.remote_addr,
{%- if cookiecutter.database != "none" %}
            "db_wait_ms": g.get("db_wait_ms"),
{%- endif %}
        },
    )
    return response


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
    app.before_request(start_timer)
    app.after_request(log_request)

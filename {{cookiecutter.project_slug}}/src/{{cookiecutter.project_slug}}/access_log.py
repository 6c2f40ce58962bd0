"""One access-log line per request, as JSON, with the request id and the time taken."""

import logging
import time

from flask import Flask, Response, g, request

logger = logging.getLogger("access")


def start_timer() -> None:
    g.started_at = time.perf_counter()


def log_request(response: Response) -> Response:
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
        },
    )
    return response


def init_app(app: Flask) -> None:
    app.before_request(start_timer)
    app.after_request(log_request)

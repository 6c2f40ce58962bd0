"""Probes for the orchestrator: liveness (the process answers) and readiness (it can serve)."""

from collections.abc import Callable

from {{ cookiecutter.__framework }} import Blueprint

bp = Blueprint("health", __name__)

# Readiness checks by name: each raises when its dependency is not usable. Add yours, for example
#     READINESS_CHECKS["database"] = lambda: db.session.execute(text("SELECT 1"))
READINESS_CHECKS: dict[str, Callable[[], object]] = {}


@bp.get("/healthz")
{{ cookiecutter.__async }}def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
{{ cookiecutter.__async }}def readyz():
    failures = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure means "do not send traffic here yet"
            failures[name] = str(error) or type(error).__name__
    if failures:
        return {"status": "unavailable", "failed": failures}, 503
    return {"status": "ready", "checks": sorted(READINESS_CHECKS)}

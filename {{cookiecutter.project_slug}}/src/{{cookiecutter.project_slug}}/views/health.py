"""Probes for the orchestrator: liveness (the process answers) and readiness (it can serve)."""

from {{ cookiecutter.__framework }} import Blueprint, current_app

from ..middleware.readiness import failed_checks, readiness_checks

bp = Blueprint("health", __name__)


@bp.get("/healthz")
{{ cookiecutter.__async }}def healthz() -> dict[str, str]:
    # Never touches a dependency: a database outage must not get healthy processes restarted.
    return {"status": "ok"}


@bp.get("/readyz")
{{ cookiecutter.__async }}def readyz() -> dict[str, object] | tuple[dict[str, object], int]:
    # Flask (and Quart before 0.23, the lock's below Python 3.13) types current_app as the app
    # itself, so the proxy's own method is unknown to it.
    app = current_app._get_current_object()  # type: ignore[attr-defined, unused-ignore]
    failures = {{ cookiecutter.__await }}failed_checks(app)
    if failures:
        return {"status": "unavailable", "failed": failures}, 503
    return {"status": "ready", "checks": sorted(readiness_checks(app))}

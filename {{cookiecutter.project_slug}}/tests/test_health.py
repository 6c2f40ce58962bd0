import pytest

from {{ cookiecutter.project_slug }}.views import health


def test_liveness_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readiness_answers_ready_when_checks_pass(client, monkeypatch):
    monkeypatch.setitem(health.READINESS_CHECKS, "cache", lambda: None)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": ["cache"]}


def test_readiness_answers_503_naming_a_failed_check(client, monkeypatch):
    def database_down():
        raise ConnectionError("connection refused")

    monkeypatch.setitem(health.READINESS_CHECKS, "database", database_down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "failed": {"database": "connection refused"}}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_reject_other_methods(client, path):
    assert client.post(path).status_code == 405

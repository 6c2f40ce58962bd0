import pytest

from {{ cookiecutter.project_slug }}.readiness import add_readiness_check


def test_liveness_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


{% if cookiecutter.database != "none" -%}
@pytest.mark.usefixtures("database")
{% endif -%}
def test_readiness_answers_ready_when_checks_pass(app, client):
    {{ cookiecutter.__async }}def cache_ok():
        return None

    add_readiness_check(app, "cache", cache_ok)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "cache" in response.json["checks"]
    assert response.json["status"] == "ready"


def test_readiness_answers_503_naming_a_failed_check(app, client):
    {{ cookiecutter.__async }}def cache_down():
        raise ConnectionError("connection refused")

    add_readiness_check(app, "cache", cache_down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["failed"]["cache"] == "connection refused"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_reject_other_methods(client, path):
    assert client.post(path).status_code == 405

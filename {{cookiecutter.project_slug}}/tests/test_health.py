import pytest

from {{ cookiecutter.project_slug }}.middleware.readiness import add_readiness_check


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


def test_readiness_answers_503_naming_a_failed_check_and_logs_why(app, client, caplog):
    {{ cookiecutter.__async }}def cache_down():
        raise ConnectionError('connection to server at "10.0.0.7", port 6379 refused\nhint')

    add_readiness_check(app, "cache", cache_down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    # The kind of failure only: the address stays out of a public answer, and goes to the log.
    assert response.json["failed"] == {"cache": "ConnectionError"}
    assert "10.0.0.7" in caplog.text
    assert "hint" not in caplog.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_reject_other_methods(client, path):
    assert client.post(path).status_code == 405

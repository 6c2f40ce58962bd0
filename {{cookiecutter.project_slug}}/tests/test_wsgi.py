"""The WSGI entry point."""

import pytest


@pytest.fixture(autouse=True)
def test_environment(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")


def test_wsgi_module_exposes_the_app():
    from {{ cookiecutter.project_slug }}.serving.wsgi import app

    assert app.test_client().get("/healthz").status_code == 200

import pytest

from {{ cookiecutter.project_slug }} import create_app


@pytest.fixture
def app(monkeypatch):
    # Tests run as APP_ENV=test whatever the developer's shell says, with a small slow-view limit.
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    return create_app({"TESTING": True, "SLOW_MAX_SECONDS": 2.0, "MAX_CONTENT_LENGTH": 1024})


@pytest.fixture
def client(app):
    return app.test_client()

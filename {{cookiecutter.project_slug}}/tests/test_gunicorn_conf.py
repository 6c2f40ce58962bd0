"""gunicorn.conf.py: what the master reads from the environment, and its hooks."""

import os
import runpy
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

GUNICORN_CONF = Path(__file__).parent.parent / "gunicorn.conf.py"


@pytest.fixture(autouse=True)
def test_environment(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")


def test_gunicorn_conf_reads_the_environment(monkeypatch):
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "16")
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert conf["bind"] == "127.0.0.1:9001"
    assert conf["workers"] == 3
    assert conf["threads"] == 16
    assert conf["worker_class"] == "gthread"


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "http"), ("GUNICORN_THREADS", "0"), ("GUNICORN_TIMEOUT", "soon")],
)
def test_gunicorn_conf_stops_with_one_line_naming_a_malformed_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=f"^ERROR: {name}="):
        runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_conf_stops_on_bad_app_settings(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SystemExit, match="SECRET_KEY is required in production"):
        runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_master_makes_the_metrics_directory_first_and_removes_it_at_exit(monkeypatch):
    # None set (monkeypatch undoes what the hook exports): the master makes one.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    conf = runpy.run_path(str(GUNICORN_CONF))
    arbiter = SimpleNamespace()
    conf["on_starting"](arbiter)  # before any worker is forked: they inherit the variable
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert directory.is_dir()
    conf["on_exit"](arbiter)
    assert not directory.exists()


def test_gunicorn_master_leaves_metrics_alone_when_they_are_off(monkeypatch):
    monkeypatch.setenv("METRICS_ENABLED", "false")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    conf = runpy.run_path(str(GUNICORN_CONF))
    conf["on_starting"](SimpleNamespace())
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == ""


def test_a_sigterm_while_a_worker_boots_stops_it_once_booted():
    conf = runpy.run_path(str(GUNICORN_CONF))
    worker = SimpleNamespace(alive=True)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        conf["post_fork"](None, worker)
        os.kill(os.getpid(), signal.SIGTERM)  # before the worker's own handlers exist
    finally:
        signal.signal(signal.SIGTERM, previous)
    conf["post_worker_init"](worker)
    assert worker.alive is False

"""A bad answer stops generation with a clear message and leaves nothing on disk."""

import subprocess
import sys

import pytest

from conftest import TEMPLATE


def generate(output_dir, *answers):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            str(TEMPLATE),
            "--no-input",
            "--output-dir",
            str(output_dir),
            *answers,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "directory"), [("Café Orders", "cafe_orders"), ("Flask", "flask_service")]
)
def test_any_project_name_gets_a_default_slug_that_generates(tmp_path, name, directory):
    result = generate(tmp_path, f"project_name={name}", "database=none")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [directory]


def test_good_answers_generate_the_named_directory(tmp_path):
    result = generate(tmp_path, "interface=asgi", "project_name=Acme Orders")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["acme_orders"]
    assert "cd acme_orders" in result.stdout


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("project_slug=2fast", "project_slug '2fast' is not a valid Python identifier"),
        ("project_slug=class", "project_slug 'class' is a Python keyword"),
        ("project_slug=café_orders", "project_slug 'café_orders' may use only ASCII letters"),
        ("project_slug=my_app!", "project_slug 'my_app!' is not a valid Python identifier"),
        ("database=mysql", "mysql"),
        ("project_slug=quart", "project_slug 'quart' would shadow the module 'quart'"),
        ("project_slug=Orders", "project_slug 'Orders' must be lower case"),
        ("project_slug=flask", "project_slug 'flask' would shadow the module 'flask'"),
        ("project_slug=logging", "project_slug 'logging' would shadow the module 'logging'"),
        ("project_slug=test", "project_slug 'test' would shadow the module 'test'"),
        ("author_email=nobody", "author_email 'nobody' is not an e-mail address"),
        ("interface=cgi", "cgi"),
        ("license=WTFPL", "WTFPL"),
        ("python_version=2.7", "2.7"),
        ("asgi_framework=quart", "asgi_framework 'quart' needs interface 'asgi', not 'wsgi'"),
        ("asgi_server=hypercorn", "asgi_server 'hypercorn' needs interface 'asgi', not 'wsgi'"),
        ("asgi_server=granian", "asgi_server 'granian' needs interface 'asgi', not 'wsgi'"),
        ("asgi_server=daphne", "daphne"),
        ("interface=asgi wsgi_server=granian", "wsgi_server 'granian' needs interface 'wsgi'"),
        ("wsgi_server=waitress", "waitress"),
    ],
)
def test_bad_answer_fails_with_a_message_and_writes_nothing(tmp_path, answer, message):
    result = generate(tmp_path, *answer.split())  # one answer, or several apart by spaces
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []

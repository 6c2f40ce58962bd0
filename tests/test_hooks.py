"""The hook functions, called directly."""

import importlib.util

import pytest

from conftest import TEMPLATE


def load_hook(name):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")


@pytest.mark.parametrize("slug", ["orders_api", "acme", "shop2", "flask_service"])
def test_good_slugs_pass(slug):
    assert pre_gen.check_slug(slug) is None


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("2fast", "not a valid Python identifier"),
        ("orders-api", "not a valid Python identifier"),
        ("my app", "not a valid Python identifier"),
        ("class", "keyword"),
        ("match", "keyword"),
        ("OrdersApi", "lower case"),
        ("flask", "shadow"),
        ("gunicorn", "shadow"),
        ("uvicorn", "shadow"),
        ("asgiref", "shadow"),
        ("test", "shadow"),
        ("logging", "shadow"),
        ("json", "shadow"),
        ("_orders", "start and end with a letter or digit"),
        ("orders_", "start and end with a letter or digit"),
        ("a" * 51, "longer than 50 characters"),
    ],
)
def test_bad_slugs_are_explained(slug, reason):
    message = pre_gen.check_slug(slug)
    assert reason in message
    assert f"'{slug}'" in message
    assert "e.g. 'orders_api'" in message


@pytest.mark.parametrize("email", ["you@example.com", "a.b+c@d.io"])
def test_good_emails_pass(email):
    assert pre_gen.check_email(email) is None


@pytest.mark.parametrize("email", ["you.example.com", "", "a@", "@b", "a b@c.d"])
def test_bad_emails_are_explained(email):
    assert "is not an e-mail address" in pre_gen.check_email(email)


def test_quart_needs_asgi():
    assert pre_gen.check_framework("asgi", "quart") is None
    assert pre_gen.check_framework("asgi", "flask") is None
    assert pre_gen.check_framework("wsgi", "flask") is None
    assert "needs interface 'asgi'" in pre_gen.check_framework("wsgi", "quart")


def test_each_server_question_fits_its_own_interface():
    assert pre_gen.check_server("asgi", "gunicorn", "hypercorn") is None
    assert pre_gen.check_server("asgi", "gunicorn", "uvicorn") is None
    assert pre_gen.check_server("wsgi", "granian", "uvicorn") is None
    assert pre_gen.check_server("asgi", "gunicorn", "granian") is None
    assert pre_gen.check_server("wsgi", "gunicorn", "uvicorn") is None  # the defaults
    assert "needs interface 'asgi'" in pre_gen.check_server("wsgi", "gunicorn", "hypercorn")
    assert "needs interface 'wsgi'" in pre_gen.check_server("asgi", "granian", "uvicorn")
    assert "needs interface 'asgi'" in pre_gen.check_server("wsgi", "granian", "granian")


def make_tree(root, relative_paths):
    for relative in relative_paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_remove_asgi_files_keeps_wsgi_files(tmp_path):
    make_tree(tmp_path, post_gen.WSGI_FILES + post_gen.ASGI_FILES)
    post_gen.remove_asgi_files(tmp_path)
    assert all((tmp_path / p).exists() for p in post_gen.WSGI_FILES)
    assert not any((tmp_path / p).exists() for p in post_gen.ASGI_FILES)


def test_remove_wsgi_files_keeps_asgi_files(tmp_path):
    make_tree(tmp_path, post_gen.WSGI_FILES + post_gen.ASGI_FILES)
    post_gen.remove_wsgi_files(tmp_path)
    assert all((tmp_path / p).exists() for p in post_gen.ASGI_FILES)
    assert not any((tmp_path / p).exists() for p in post_gen.WSGI_FILES)


ALL_OPTIONAL = (
    post_gen.WSGI_FILES
    + post_gen.ASGI_FILES
    + post_gen.ADAPTER_FILES
    + post_gen.WEBSOCKET_FILES
    + post_gen.FLASK_FILES
)


@pytest.mark.parametrize(
    ("remover", "group"),
    [
        (post_gen.remove_adapter_files, post_gen.ADAPTER_FILES),
        (post_gen.remove_websocket_files, post_gen.WEBSOCKET_FILES),
        (post_gen.remove_flask_files, post_gen.FLASK_FILES),
    ],
)
def test_each_remover_removes_only_its_group(tmp_path, remover, group):
    make_tree(tmp_path, ALL_OPTIONAL)
    remover(tmp_path)
    assert not any((tmp_path / p).exists() for p in group)
    assert all((tmp_path / p).exists() for p in ALL_OPTIONAL if p not in group)


def test_remove_tolerates_missing_files(tmp_path):
    post_gen.remove(tmp_path, ["not/there.py"])


def test_next_steps_name_the_project_and_the_commands():
    steps = post_gen.next_steps("orders_api", "none", "none")
    assert "cd orders_api" in steps
    assert "make install test" in steps
    assert "make migrate" not in steps
    assert "make token" not in steps


def test_next_steps_offer_a_token_with_auth():
    steps = post_gen.next_steps("orders_api", "sqlite", "oidc")
    assert 'make token scope="items:read items:write"' in steps
    assert steps.index("make dev") < steps.index("make token")


def test_next_steps_migrate_before_serving_with_a_database():
    assert "make migrate" in post_gen.next_steps("orders_api", "sqlite", "none")
    steps = post_gen.next_steps("orders_api", "postgresql", "none")
    assert steps.index("DATABASE_URL") < steps.index("make migrate") < steps.index("make dev")


def test_remove_database_files_takes_the_whole_data_layer(tmp_path):
    slug = post_gen.PROJECT_SLUG
    keep = [f"src/{slug}/views/demo.py", f"src/{slug}/settings.py"]
    inside = [f"{directory}/anything.py" for directory in post_gen.DATABASE_DIRS]
    make_tree(tmp_path, keep + inside + post_gen.DATABASE_FILES)
    post_gen.remove_database_files(tmp_path)
    assert all((tmp_path / p).exists() for p in keep)
    leftovers = [p for p in inside + post_gen.DATABASE_FILES + post_gen.DATABASE_DIRS]
    assert not any((tmp_path / p).exists() for p in leftovers)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Orders", "acme_orders"),
        ("Café Orders", "cafe_orders"),
        ("Über-Service 2.0", "uber_service_2_0"),
        ("My-App!", "my_app"),
        ("2fast", "service_2fast"),
        ("Flask", "flask_service"),
        ("Logging", "logging_service"),
        ("Class", "class_service"),
        ("東京", "dong_jing"),
        ("!!!", "service"),
    ],
)
def test_every_project_name_derives_a_slug_the_hook_accepts(name, slug):
    from local_extensions import python_package

    assert python_package(name) == slug
    assert pre_gen.check_slug(slug) is None

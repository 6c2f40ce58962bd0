"""Validate the answers before Cookiecutter writes anything to disk.

Each check returns an error message (or None); main() prints the first one and exits 1, so a bad
answer leaves no half-made project behind.
"""

import keyword
import re
import sys

PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
AUTHOR_EMAIL = "{{ cookiecutter.author_email }}"
INTERFACE = "{{ cookiecutter.interface }}"
ASGI_FRAMEWORK = "{{ cookiecutter.asgi_framework }}"
WSGI_SERVER = "{{ cookiecutter.wsgi_server }}"
ASGI_SERVER = "{{ cookiecutter.asgi_server }}"

# Names the generated package must not take: importing it would shadow the real module. The
# runtime and test dependencies of every mode, and the standard library.
RESERVED_NAMES = {
    "a2wsgi",
    "aiofiles",
    "aiosqlite",
    "alembic",
    "annotated_types",
    "anyio",
    "blinker",
    "certifi",
    "dotenv",
    "greenlet",
    "h11",
    "h2",
    "hpack",
    "httpcore",
    "httptools",
    "hypercorn",
    "hyperframe",
    "idna",
    "iniconfig",
    "mako",
    "packaging",
    "pip",
    "pluggy",
    "priority",
    "prometheus_client",
    "psycopg",
    "psycopg_binary",
    "pydantic",
    "pydantic_core",
    "pygments",
    "quart",
    "setuptools",
    "sniffio",
    "sqlalchemy",
    "typing_extensions",
    "typing_inspection",
    "uvloop",
    "watchfiles",
    "websockets",
    "wsproto",
    "yaml",
    "app",
    "asgiref",
    "click",
    "flask",
    "granian",
    "gunicorn",
    "httpx",
    "itsdangerous",
    "jinja2",
    "markupsafe",
    "pytest",
    "ruff",
    "src",
    "test",
    "tests",
    "uvicorn",
    "werkzeug",
} | set(sys.stdlib_module_names)

SLUG_EXAMPLE = "e.g. 'orders_api'"
# Kubernetes label values stop at 63 characters; the longest name built from the slug adds 8.
MAX_SLUG_LENGTH = 50


def check_slug(slug: str) -> str | None:
    """Return why `slug` cannot be the project's directory and package name, or None."""
    if not slug.isidentifier():
        return f"project_slug '{slug}' is not a valid Python identifier ({SLUG_EXAMPLE})."
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return f"project_slug '{slug}' is a Python keyword ({SLUG_EXAMPLE})."
    if slug != slug.lower():
        return f"project_slug '{slug}' must be lower case ({SLUG_EXAMPLE})."
    # Package names and image tags need ASCII; an identifier may hold other letters.
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", slug):
        return (
            f"project_slug '{slug}' may use only ASCII letters a-z, digits and underscores "
            f"({SLUG_EXAMPLE})."
        )
    if slug.startswith("_") or slug.endswith("_"):
        # It names the image and Kubernetes objects too, which must start and end alphanumeric.
        return f"project_slug '{slug}' must start and end with a letter or digit ({SLUG_EXAMPLE})."
    if len(slug) > MAX_SLUG_LENGTH:
        return (
            f"project_slug '{slug}' is longer than {MAX_SLUG_LENGTH} characters, too long for "
            f"Kubernetes names built from it ({SLUG_EXAMPLE})."
        )
    if slug in RESERVED_NAMES:
        return (
            f"project_slug '{slug}' would shadow the module '{slug}' from the standard library "
            f"or a dependency ({SLUG_EXAMPLE})."
        )
    return None


def check_email(email: str) -> str | None:
    """Return why `email` is not an e-mail address, or None."""
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        return f"author_email '{email}' is not an e-mail address (e.g. 'team@example.com')."
    return None


def check_framework(interface: str, framework: str) -> str | None:
    """Return why `framework` cannot serve over `interface`, or None."""
    if framework == "quart" and interface != "asgi":
        return (
            f"asgi_framework 'quart' needs interface 'asgi', not '{interface}': Quart is an ASGI "
            "framework (e.g. interface=asgi asgi_framework=quart)."
        )
    return None


def check_server(interface: str, wsgi_server: str, asgi_server: str) -> str | None:
    """Return why a server answer does not fit `interface`, or None. Each question keeps its
    default for the other interface, so `cruft update` replays old answers unchanged."""
    if asgi_server != "uvicorn" and interface != "asgi":
        return (
            f"asgi_server '{asgi_server}' needs interface 'asgi', not '{interface}' (e.g. "
            f"interface=asgi asgi_server={asgi_server}); WSGI's servers are wsgi_server's answers."
        )
    if wsgi_server != "gunicorn" and interface != "wsgi":
        return (
            f"wsgi_server '{wsgi_server}' needs interface 'wsgi', not '{interface}' (e.g. "
            f"interface=wsgi wsgi_server={wsgi_server}); ASGI's servers are asgi_server's answers."
        )
    return None


def main() -> None:
    checks = (
        check_slug(PROJECT_SLUG),
        check_email(AUTHOR_EMAIL),
        check_framework(INTERFACE, ASGI_FRAMEWORK),
        check_server(INTERFACE, WSGI_SERVER, ASGI_SERVER),
    )
    for error in checks:
        if error:
            sys.exit(f"ERROR: {error}")


if __name__ == "__main__":
    main()

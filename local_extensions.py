"""Jinja extension for cookiecutter.json: the default project_slug, derived from the project name.

Cookiecutter loads this module from the template's root (`_extensions` in cookiecutter.json).
"""

import sys
from pathlib import Path

from jinja2.ext import Extension
from slugify import slugify  # python-slugify, a dependency of cookiecutter itself

# The pre-generation hook is the one authority on what a slug may be; reuse its check.
sys.path.insert(0, str(Path(__file__).resolve().parent / "hooks"))
from pre_gen_project import check_slug


def python_package(name: str) -> str:
    """A valid package name for any project name: 'Café Orders' -> 'cafe_orders'.

    Letters are transliterated to ASCII; a name that would still be refused (it starts with a
    digit, is a keyword or shadows a module, such as 'Flask') gets a '_service' suffix or a
    'service_' prefix, so the default offered at the prompt is always accepted.
    """
    slug = slugify(name, separator="_", max_length=40, word_boundary=True) or "service"
    if slug[0].isdigit():
        slug = f"service_{slug}"
    if check_slug(slug):
        slug = f"{slug}_service"
    return slug


class PythonPackageExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["python_package"] = python_package

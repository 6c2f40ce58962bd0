"""WSGI entry point: `gunicorn --config gunicorn.conf.py {{ cookiecutter.project_slug }}.serving.wsgi:app`."""

from .. import create_app

app = create_app()

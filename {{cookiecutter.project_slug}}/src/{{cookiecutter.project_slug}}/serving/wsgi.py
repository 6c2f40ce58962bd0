{%- if cookiecutter.__server == "granian" -%}
"""WSGI entry point: `python -m {{ cookiecutter.project_slug }}.serving.granian_server` serves `served`."""

import os

from .. import create_app
from ..settings import load_header_limits
from .granian_server import request_environ_only
from .http_limits import LimitRequestHead

app = create_app()
# What Granian serves (granian_server.py): the request's own environ, then the header limits.
served = request_environ_only(LimitRequestHead(app, load_header_limits(os.environ)))
{%- else -%}
"""WSGI entry point: `gunicorn --config gunicorn.conf.py {{ cookiecutter.project_slug }}.serving.wsgi:app`."""

from .. import create_app

app = create_app()
{%- endif %}

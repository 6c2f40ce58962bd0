{%- if cookiecutter.__framework == "quart" -%}
"""ASGI entry point: Quart is an ASGI application already."""

from . import create_app

app = create_app()
{%- else -%}
"""ASGI entry point: the Flask app behind the thread-pool adapter (see asgi_adapter.py)."""

import os

from . import create_app
from .asgi_adapter import ThreadPoolWsgiToAsgi
from .settings import worker_threads

app = ThreadPoolWsgiToAsgi(create_app(), max_threads=worker_threads(os.environ))
{%- endif %}

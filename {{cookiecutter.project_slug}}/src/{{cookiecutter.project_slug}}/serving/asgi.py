{%- if cookiecutter.__framework == "quart" -%}
"""ASGI entry point: Quart is an ASGI application already."""

import gc
{%- if cookiecutter.asgi_server in ("hypercorn", "granian") %}
import os
{%- endif %}

from .. import create_app
{%- if cookiecutter.asgi_server in ("hypercorn", "granian") %}
from ..settings import load_header_limits
from .http_limits import LimitRequestHead
{%- if cookiecutter.asgi_server == "granian" %}
from .websocket_drain import CloseWebSocketsOnDrain, close_websockets_before_the_worker_stops
{%- else %}
from .websocket_drain import CloseWebSocketsOnDrain
{%- endif %}
{%- endif %}

# Each request allocates thousands of short-lived objects; with the default threshold (700) the
# collector ran about 12% of the time at 1,024 connections. Measured on the template's overload
# row: 0.71x -> 0.88x of the trivial view's throughput. Here, so each worker process sets it.
gc.set_threshold(50_000, 20, 10)

app = create_app()
{%- if cookiecutter.asgi_server in ("hypercorn", "granian") %}
# What {{ "Hypercorn" if cookiecutter.asgi_server == "hypercorn" else "Granian" }} serves ({{ "asgi_server.py" if cookiecutter.asgi_server == "hypercorn" else "granian_server.py" }}): the header limits first, then WebSockets that
# close when the worker drains.
served = LimitRequestHead(CloseWebSocketsOnDrain(app), load_header_limits(os.environ))
{%- endif %}
{%- if cookiecutter.asgi_server == "granian" %}
# Granian imports this in each worker before it sets the worker's stop signal up.
close_websockets_before_the_worker_stops()
{%- endif %}
{%- else -%}
"""ASGI entry point: the Flask app behind the thread-pool adapter (see asgi_adapter.py)."""

import os

from .. import create_app
{%- if cookiecutter.asgi_server in ("hypercorn", "granian") %}
from ..settings import load_header_limits, worker_threads
from .asgi_adapter import ThreadPoolWsgiToAsgi
from .http_limits import LimitRequestHead
{%- else %}
from ..settings import worker_threads
from .asgi_adapter import ThreadPoolWsgiToAsgi
{%- endif %}

app = ThreadPoolWsgiToAsgi(create_app(), max_threads=worker_threads(os.environ))
{%- if cookiecutter.asgi_server in ("hypercorn", "granian") %}
# What {{ "Hypercorn" if cookiecutter.asgi_server == "hypercorn" else "Granian" }} serves ({{ "asgi_server.py" if cookiecutter.asgi_server == "hypercorn" else "granian_server.py" }}): the header limits first.
served = LimitRequestHead(app, load_header_limits(os.environ))
{%- endif %}
{%- endif %}

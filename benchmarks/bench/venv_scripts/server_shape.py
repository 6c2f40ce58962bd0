"""How many processes the production server starts and how big each one's pool is.

Usage: python server_shape.py MODE SLUG LAUNCHER  (in the project directory, with the server's
environment; LAUNCHER is the asgi_server module, e.g. SLUG.serving.asgi_server)
Reads the figures from the project itself (gunicorn.conf.py, asgi_server.main, the settings), so
the benchmark's "ideal" follows the defaults wherever they change.
"""

import contextlib
import json
import os
import runpy
import sys
from importlib import import_module

mode, slug, launcher = sys.argv[1:4]
pool_size = import_module(f"{slug}.settings").load_database_settings(os.environ).pool_size
if mode == "wsgi":
    workers = runpy.run_path("gunicorn.conf.py")["workers"]
elif mode.endswith("_granian"):
    granian_server = import_module(launcher)
    settings = import_module(f"{slug}.settings")
    limits = settings.load_header_limits(os.environ)
    options = granian_server.granian_options(settings.load_settings(os.environ), limits, os.environ)
    workers = options["workers"]
elif mode.endswith("_hypercorn"):
    hypercorn_server = import_module(launcher)
    seen = {}
    # Read the worker count main() hands its supervisor, serve nothing; main() then exits.
    hypercorn_server.supervise = lambda _config, count: seen.update(workers=count) or 0
    with contextlib.suppress(SystemExit):
        hypercorn_server.main()
    workers = seen["workers"]
else:
    import uvicorn

    seen = {}
    uvicorn.run = lambda _app, **options: seen.update(options)  # read the options, serve nothing
    import_module(launcher).main()
    workers = seen["workers"]
print(json.dumps({"workers": workers, "pool_size": pool_size}))

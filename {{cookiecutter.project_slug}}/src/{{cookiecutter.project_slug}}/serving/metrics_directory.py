"""The directory where every worker process keeps its metrics files, prepared by the launcher.

prometheus_client's multiprocess mode: each worker writes its figures to files in
PROMETHEUS_MULTIPROC_DIR, and a scrape answered by any worker adds up the files of all of them
(see middleware/metrics.py). The directory must exist and be empty before the first worker
starts, and the workers must find the variable in their environment, so the server's launcher calls
prepare_metrics_directory() before it starts them: {% if cookiecutter.__server == "gunicorn" %}gunicorn.conf.py's on_starting hook, in the
gunicorn master{% elif cookiecutter.__server == "granian" %}granian_server.py, before Granian spawns its
workers{% else %}asgi_server.py, before {{ cookiecutter.asgi_server }} spawns its
workers{% endif %}. Nothing here imports prometheus_client.
"""

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from ..settings import METRICS_DIRECTORY_VARIABLE, SettingsError

ENVIRONMENT_VARIABLE = METRICS_DIRECTORY_VARIABLE


@dataclass(frozen=True)
class MetricsDirectory:
    path: Path
    created: bool  # made here, under the temporary directory, so removed here when the server stops


def prepare_metrics_directory(environ: MutableMapping[str, str] = os.environ) -> MetricsDirectory:
    """Empty the operator's PROMETHEUS_MULTIPROC_DIR, or make a fresh directory under /tmp (the
    image's root file system may be read-only), and export it for the workers.

    A file left by an earlier run would add that run's figures to this one's."""
    configured = environ.get(ENVIRONMENT_VARIABLE, "").strip()
    try:
        if configured:
            directory = MetricsDirectory(Path(configured), created=False)
            directory.path.mkdir(parents=True, exist_ok=True)
            for stale in directory.path.glob("*.db"):
                stale.unlink()
        else:
            path = tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-metrics-")
            directory = MetricsDirectory(Path(path), created=True)
    except OSError as error:
        where = f"{ENVIRONMENT_VARIABLE}={configured!r}" if configured else "the temporary dir"
        raise SettingsError(f"{where} cannot hold the metrics files: {error}") from None
    environ[ENVIRONMENT_VARIABLE] = str(directory.path)
    return directory


def remove_metrics_directory(directory: MetricsDirectory) -> None:
    """When the server stops: remove the directory if it was made here; an operator's stays."""
    if directory.created:
        shutil.rmtree(directory.path, ignore_errors=True)

"""Readiness checks: each app's named checks, run with a time limit for /readyz."""

{% if cookiecutter.__framework == "quart" -%}
import asyncio
import logging
from collections.abc import Awaitable, Callable
{%- else -%}
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTimedOut
{%- endif %}

from {{ cookiecutter.__framework }} import {{ cookiecutter.__app_class }}

logger = logging.getLogger(__name__)
# A probe must answer quickly even when a dependency hangs: past this, the check has failed.
TIMEOUT_SECONDS = 1.0
{%- if cookiecutter.__framework == "quart" %}
Check = Callable[[], Awaitable[object]]
{%- else %}
Check = Callable[[], object]
# Checks run here so that a hung one cannot hold the request past the timeout.
executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readiness")
{%- endif %}


def add_readiness_check(app: {{ cookiecutter.__app_class }}, name: str, check: Check) -> None:
    """Register `check`: it raises (or hangs) when `name` cannot serve, e.g. a database ping."""
    app.extensions.setdefault("readiness_checks", {})[name] = check


def readiness_checks(app: {{ cookiecutter.__app_class }}) -> dict[str, Check]:
    checks: dict[str, Check] = app.extensions.get("readiness_checks", {})
    return checks


{{ cookiecutter.__async }}def failed_checks(app: {{ cookiecutter.__app_class }}) -> dict[str, str]:
    """Run every check at once; return why each failing one failed."""
{%- if cookiecutter.__framework == "quart" %}
    checks = readiness_checks(app)
    results = await asyncio.gather(
        *(asyncio.wait_for(check(), TIMEOUT_SECONDS) for check in checks.values()),
        return_exceptions=True,
    )
    return {
        name: describe(name, result)
        for name, result in zip(checks, results, strict=True)
        if isinstance(result, BaseException)
    }
{%- else %}
    futures = {name: executor.submit(check) for name, check in readiness_checks(app).items()}
    failures = {}
    for name, future in futures.items():
        try:
            future.result(timeout=TIMEOUT_SECONDS)
        except CheckTimedOut:
            failures[name] = f"no answer within {TIMEOUT_SECONDS:g} s"
        except Exception as error:  # any failure means "do not send traffic here yet"
            failures[name] = describe(name, error)
    return failures
{%- endif %}


def describe(name: str, error: BaseException) -> str:
    """What /readyz says of a failed check: the kind of failure only. The message itself, which
    can name hosts, ports and users (a driver's "connection to server at ... failed"), goes to
    the log, where the team reads it, and not to whoever can reach the probe."""
{%- if cookiecutter.__framework == "quart" %}
    if isinstance(error, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
{%- endif %}
    # The first line only: driver messages go on with hints and internals.
    message = (str(error).strip().splitlines() or [""])[0]
    logger.warning("readiness check %r failed: %s: %s", name, type(error).__name__, message)
    return type(error).__name__

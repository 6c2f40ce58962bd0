"""Protected views: `@requires_scopes("items:read")` under the route decorator.

The answers follow RFC 6750, in the service's JSON error shape (errors.py renders them):
- no token: 401, `WWW-Authenticate: Bearer realm="..."`;
- a token refused for any reason: 401 with `error="invalid_token"`; only the log says why;
- a token without a scope the view needs: 403 with `error="insufficient_scope"` and the scopes;
- no key to check tokens with (the provider has not answered yet): 503 with Retry-After.
The token itself is never logged.
"""

import functools
{%- if cookiecutter.__framework == "flask" %}
import inspect
{%- endif %}
import logging
from collections.abc import Callable
from typing import Any

{% if cookiecutter.__framework == "flask" -%}
from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException
{%- else -%}
from quart import Quart, current_app, g, request
from werkzeug.exceptions import HTTPException
{%- endif %}

from ...settings import AuthSettings
from .keys import IssuerKeys, KeysUnavailable
from .local_key import LocalKeys
from .tokens import KeySource, Principal, TokenRefused, TokenVerifier

logger = logging.getLogger(__name__)
REALM = "{{ cookiecutter.project_slug | replace('_', '-') }}"
View = Callable[..., Any]


class BearerError(HTTPException):
    """An RFC 6750 answer: the status, and the WWW-Authenticate header that goes with it."""

    def __init__(self, code: int, description: str, challenge: dict[str, str]):
        super().__init__(description=description)
        self.code = code
        self.challenge = challenge

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        params = ", ".join(f'{name}="{value}"' for name, value in self.challenge.items())
        return [*super().get_headers(*args, **kwargs), ("WWW-Authenticate", f"Bearer {params}")]


def token_required() -> BearerError:
    return BearerError(401, "a bearer token is required", {"realm": REALM})


def token_refused() -> BearerError:
    challenge = {"realm": REALM, "error": "invalid_token"}
    return BearerError(401, "the bearer token was refused", challenge)


def scope_missing(scopes: tuple[str, ...]) -> BearerError:
    wanted = " ".join(scopes)
    challenge = {"realm": REALM, "error": "insufficient_scope", "scope": wanted}
    return BearerError(403, f"the token does not grant the scope {wanted}", challenge)


class KeysNotReady(HTTPException):
    code = 503

    def __init__(self, retry_after: int):
        super().__init__(description="tokens cannot be checked yet; retry shortly")
        self.retry_after = retry_after

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("Retry-After", str(self.retry_after))]


def bearer_token() -> str:
    """The token in `Authorization: Bearer <token>`; 401 without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.casefold() != "bearer":
        raise token_required()  # none, or another scheme (Basic...): not ours to judge
    if not token.strip():
        logger.info("Bearer token refused: empty")
        raise token_refused()
    return token.strip()


def verifier() -> TokenVerifier:
    found: TokenVerifier = current_app.extensions["token_verifier"]
    return found


def admit(principal: Principal, scopes: tuple[str, ...]) -> Principal:
    missing = [scope for scope in scopes if scope not in principal.scopes]
    if missing:
        logger.info("Token for %r lacks the scopes %s", principal.subject, missing)
        raise scope_missing(scopes)
    g.principal = principal
    return principal


def refused(error: TokenRefused | KeysUnavailable) -> HTTPException:
    if isinstance(error, KeysUnavailable):
        logger.warning("Cannot check a bearer token: %s", error)
        return KeysNotReady(error.retry_after)
    logger.info("Bearer token refused: %s", error)
    return token_refused()


{% if cookiecutter.__framework == "flask" -%}
def authenticate(scopes: tuple[str, ...]) -> Principal:
    token = bearer_token()
    try:
        principal = verifier().verify(token)
    except (TokenRefused, KeysUnavailable) as error:
        raise refused(error) from None
    return admit(principal, scopes)


def requires_scopes(*scopes: str) -> Callable[[View], View]:
    """Only callers whose token grants every scope named reach the view; `g.principal` says who.
    No scope named: any valid token will do."""

    def decorate(view: View) -> View:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def guarded_async(**kwargs: Any) -> Any:
                # Flask runs an async view on a thread of its own: a key fetch here blocks no
                # other request.
                authenticate(scopes)
                return await view(**kwargs)

            guarded: View = guarded_async
        else:

            @functools.wraps(view)
            def guarded_sync(**kwargs: Any) -> Any:
                authenticate(scopes)
                return view(**kwargs)

            guarded = guarded_sync
        # /openapi.json reads it: the operation's security requirement.
        guarded.required_scopes = scopes  # type: ignore[attr-defined]
        return guarded

    return decorate
{%- else -%}
async def authenticate(scopes: tuple[str, ...]) -> Principal:
    token = bearer_token()
    try:
        principal = await verifier().verify_async(token)
    except (TokenRefused, KeysUnavailable) as error:
        raise refused(error) from None
    return admit(principal, scopes)


def requires_scopes(*scopes: str) -> Callable[[View], View]:
    """Only callers whose token grants every scope named reach the view; `g.principal` says who.
    No scope named: any valid token will do."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def guarded(**kwargs: Any) -> Any:
            await authenticate(scopes)
            return await view(**kwargs)

        # /openapi.json reads it: the operation's security requirement.
        guarded.required_scopes = scopes  # type: ignore[attr-defined]
        return guarded

    return decorate
{%- endif %}


def current_principal() -> Principal:
    """Who called the protected view running now."""
    principal: Principal = g.principal
    return principal


def key_source(settings: AuthSettings) -> KeySource:
    if settings.uses_local_key:
        return LocalKeys(settings.local_key_file)
    return IssuerKeys(
        settings.issuer, settings.fetch_timeout, settings.refetch_interval, settings.max_age
    )


def init_app(app: {{ cookiecutter.__app_class }}) -> None:
    """One verifier, and one key cache, per process: every thread and request share them."""
    settings: AuthSettings = app.config["AUTH"]
    app.extensions["token_verifier"] = TokenVerifier(
        key_source(settings),
        settings.expected_issuer,
        settings.expected_audience,
        settings.leeway,
    )
    if settings.uses_local_key:
        logger.warning(
            "Trusting the local development key (%s), as OIDC_ISSUER is unset",
            settings.local_key_file,
        )

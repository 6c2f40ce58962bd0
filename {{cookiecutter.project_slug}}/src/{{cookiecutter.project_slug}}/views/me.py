"""/me: who the bearer token speaks for. A protected view at its simplest: any valid token."""

from typing import Any

from {{ cookiecutter.__framework }} import Blueprint

from ..middleware.auth.bearer import current_principal, requires_scopes
{%- if cookiecutter.database != "none" %}
from ..middleware.openapi import operation
from ..schemas.me import Me
{%- endif %}

bp = Blueprint("me", __name__)


@bp.get("/me")
@requires_scopes()
{%- if cookiecutter.database != "none" %}
@operation("Who the token speaks for, and the scopes it grants", responses={200: Me})
{%- endif %}
{{ cookiecutter.__async }}def me() -> dict[str, Any]:
    principal = current_principal()
    return {"subject": principal.subject, "scopes": sorted(principal.scopes)}

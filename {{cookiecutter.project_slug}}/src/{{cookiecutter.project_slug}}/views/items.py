"""/items: a sample resource on the database. Thin views: validate, call one query, answer.
{%- if cookiecutter.interface == "asgi" and cookiecutter.__framework == "flask" %}

Plain `def` views with a sync session, on purpose: under the ASGI adapter each request holds a
pool thread anyway, so awaiting an async driver would buy no concurrency (see database/engine.py).
"""
{%- else %}"""
{%- endif %}

from typing import Any, NoReturn

from {{ cookiecutter.__framework }} import Blueprint, abort, url_for

from ..database.models import Item
from ..database.session import get_session
{%- if cookiecutter.auth == "oidc" %}
from ..middleware.auth.bearer import requires_scopes
{%- endif %}
from ..middleware.errors import ErrorResponse
from ..middleware.openapi import operation
from ..queries import items as queries
from ..schemas.items import (
    ItemCreate,
    ItemListQuery,
    ItemOut,
    ItemPage,
    ItemUpdate,
    encode_cursor,
)

bp = Blueprint("items", __name__, url_prefix="/items")
ITEM_URL = "/<int:item_id>"
# The database can be busy or away for any of these.
UNAVAILABLE = {503: ErrorResponse}
{%- if cookiecutter.auth == "oidc" %}
# The scopes a caller's token must grant (middleware/auth/bearer.py).
READ = "items:read"
WRITE = "items:write"
{%- endif %}


def item_json(item: Item) -> dict[str, Any]:
    return ItemOut.model_validate(item).model_dump(mode="json")


def name_taken(name: str | None) -> NoReturn:
    abort(409, description=f"an item named {name!r} already exists")


def not_found(item_id: int) -> NoReturn:
    abort(404, description=f"no item with id {item_id}")


@bp.post("")
{%- if cookiecutter.auth == "oidc" %}
@requires_scopes(WRITE)
{%- endif %}
@operation(
    "Create an item",
    body=ItemCreate,
    responses={201: ItemOut, 409: ErrorResponse, **UNAVAILABLE},
)
{{ cookiecutter.__async }}def create_item(body: ItemCreate) -> tuple[dict[str, Any], int, dict[str, str]]:
    try:
        item = {{ cookiecutter.__await }}queries.create_item({{ cookiecutter.__await }}get_session(), body)
    except queries.NameTaken:
        name_taken(body.name)
    location = url_for("items.get_item", item_id=item.id)
    return item_json(item), 201, {"Location": location}


@bp.get("")
{%- if cookiecutter.auth == "oidc" %}
@requires_scopes(READ)
{%- endif %}
@operation(
    "List items, oldest first, a page at a time",
    query=ItemListQuery,
    responses={200: ItemPage, **UNAVAILABLE},
)
{{ cookiecutter.__async }}def list_items(query: ItemListQuery) -> dict[str, object]:
    items, more = {{ cookiecutter.__await }}queries.list_items({{ cookiecutter.__await }}get_session(), query.after_id, query.limit)
    next_cursor = encode_cursor(items[-1].id) if more else None
    return {"items": [item_json(item) for item in items], "next_cursor": next_cursor}


@bp.get(ITEM_URL)
{%- if cookiecutter.auth == "oidc" %}
@requires_scopes(READ)
{%- endif %}
@operation("Get an item", responses={200: ItemOut, 404: ErrorResponse, **UNAVAILABLE})
{{ cookiecutter.__async }}def get_item(item_id: int) -> dict[str, Any]:
    item = {{ cookiecutter.__await }}queries.get_item({{ cookiecutter.__await }}get_session(), item_id)
    if item is None:
        not_found(item_id)
    return item_json(item)


@bp.patch(ITEM_URL)
{%- if cookiecutter.auth == "oidc" %}
@requires_scopes(WRITE)
{%- endif %}
@operation(
    "Change an item's name or description",
    body=ItemUpdate,
    responses={200: ItemOut, 404: ErrorResponse, 409: ErrorResponse, **UNAVAILABLE},
)
{{ cookiecutter.__async }}def update_item(item_id: int, body: ItemUpdate) -> dict[str, Any]:
    try:
        item = {{ cookiecutter.__await }}queries.update_item({{ cookiecutter.__await }}get_session(), item_id, body)
    except queries.NameTaken:
        name_taken(body.name)
    if item is None:
        not_found(item_id)
    return item_json(item)


@bp.delete(ITEM_URL)
{%- if cookiecutter.auth == "oidc" %}
@requires_scopes(WRITE)
{%- endif %}
@operation("Delete an item", responses={204: None, 404: ErrorResponse, **UNAVAILABLE})
{{ cookiecutter.__async }}def delete_item(item_id: int) -> tuple[str, int]:
    if not {{ cookiecutter.__await }}queries.delete_item({{ cookiecutter.__await }}get_session(), item_id):
        not_found(item_id)
    return "", 204

"""OpenAPI from the same pydantic models that validate the requests.

`@operation(...)` on a view validates its body or query string into models and records them;
`/openapi.json` walks the app's routes and describes each recorded operation, so the document
cannot drift from what the code accepts.
"""

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

{% if cookiecutter.__framework == "flask" -%}
from flask import Blueprint, Flask, current_app
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema
{%- else -%}
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from quart import Blueprint, Quart, current_app
{%- endif %}
from werkzeug.routing import Rule

from .errors import ErrorResponse
from .validation import json_body, query_args

REF_TEMPLATE = "#/components/schemas/{model}"
{%- if cookiecutter.auth == "oidc" %}
# The security scheme protected operations name, with the scopes each needs (OpenAPI 3.1 allows
# scopes for any scheme type).
BEARER_SCHEME = "bearerAuth"
{%- endif %}
# <int(max=9):item_id> -> {item_id}
PATH_PARAMETER = re.compile(r"<(?:[^<>:]+:)?(\w+)>")
# A view: called with its URL's variables, and the `body=` and `query=` that operation() adds.
View = Callable[..., Any]

bp = Blueprint("openapi", __name__)


@dataclass(frozen=True)
class Operation:
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    # Status -> the model of its body (None: no body).
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)

    def all_responses(self) -> dict[int, type[BaseModel] | None]:
        """The declared responses, plus the errors validation itself can answer."""
        implied: dict[int, type[BaseModel] | None] = {}
        if self.body:
            implied |= {400: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse}
        if self.body or self.query:
            implied[422] = ErrorResponse
        return implied | self.responses


def operation(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None],
) -> Callable[[View], View]:
    """Validate the request into `body=` and `query=` arguments of the view, and document it."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        {{ cookiecutter.__async }}def validating_view(**kwargs: Any) -> Any:
            if body is not None:
                kwargs["body"] = {{ cookiecutter.__await }}json_body(body)
            if query is not None:
                kwargs["query"] = query_args(query)
            return {{ cookiecutter.__await }}view(**kwargs)

        # A function takes attributes; its type in mypy has none to assign.
        validating_view.openapi = Operation(summary, body, query, responses)  # type: ignore[attr-defined]
        return validating_view

    return decorate


def path_parameters(rule: Rule, view: View) -> list[dict[str, Any]]:
    """Each URL variable, typed by the view's own annotation (`item_id: int`)."""
    annotations = inspect.signature(view).parameters
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": TypeAdapter(annotations[name].annotation).json_schema(),
        }
        for name in sorted(rule.arguments)
    ]


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": property_schema}
        for name, property_schema in schema["properties"].items()
    ]


{% if cookiecutter.auth == "oidc" -%}
def security(view: View) -> tuple[str, ...] | None:
    """The scopes a protected view needs: auth/bearer.py's requires_scopes records them."""
    scopes: tuple[str, ...] | None = getattr(view, "required_scopes", None)
    return scopes


def auth_responses(scopes: tuple[str, ...] | None) -> dict[int, type[BaseModel] | None]:
    """What a protected view can answer before it runs: no valid token, a missing scope, or no
    key yet to check tokens with."""
    if scopes is None:
        return {}
    refused: dict[int, type[BaseModel] | None] = {401: ErrorResponse, 503: ErrorResponse}
    return refused | ({403: ErrorResponse} if scopes else {})


{% endif -%}
def openapi_document(app: {{ cookiecutter.__app_class }}) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    # Each operation's entry, its spec and every response it can give (status -> body model).
    described: list[tuple[dict[str, Any], Operation, dict[int, type[BaseModel] | None]]] = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "openapi", None)
        if spec is None:
            continue
        path = PATH_PARAMETER.sub(r"{\1}", rule.rule)
        responses = spec.all_responses()
{%- if cookiecutter.auth == "oidc" %}
        scopes = security(view)
        responses = auth_responses(scopes) | responses
{%- endif %}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry: dict[str, Any] = {"summary": spec.summary, "operationId": rule.endpoint}
            parameters = path_parameters(rule, view)
            if spec.query:
                parameters += query_parameters(spec.query)
            if parameters:
                entry["parameters"] = parameters
{%- if cookiecutter.auth == "oidc" %}
            if scopes is not None:
                entry["security"] = [{BEARER_SCHEME: list(scopes)}]
{%- endif %}
            paths.setdefault(path, {})[method.lower()] = entry
            described.append((entry, spec, responses))

    # One pass over every model, so shared ones (ItemOut in ItemPage) become one component.
    models: set[tuple[type[BaseModel], JsonSchemaMode]]
    models = {(spec.body, "validation") for _, spec, _ in described if spec.body}
    models |= {
        (model, "serialization")
        for _, _, responses in described
        for model in responses.values()
        if model
    }
    refs, definitions = models_json_schema(sorted(models, key=str), ref_template=REF_TEMPLATE)
    for entry, spec, responses in described:
        if spec.body:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[spec.body, "validation"]}},
            }
        entry["responses"] = {
            str(status): response(status, refs.get((model, "serialization")) if model else None)
            for status, model in sorted(responses.items())
        }
    components: dict[str, Any] = {"schemas": definitions.get("$defs", {})}
{%- if cookiecutter.auth == "oidc" %}
    components["securitySchemes"] = {
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from OIDC_ISSUER, for OIDC_AUDIENCE "
            '(`make token scope="..."` in development)',
        }
    }
{%- endif %}
    return {
        "openapi": "3.1.0",
        "info": {"title": "{{ cookiecutter.project_name }}", "version": "0.1.0"},
        "paths": paths,
        "components": components,
    }


def response(status: int, schema: dict[str, Any] | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


@bp.get("/openapi.json")
{{ cookiecutter.__async }}def openapi_json() -> dict[str, Any]:
    # Flask (and Quart before 0.23, the lock's below Python 3.13) types current_app as the app
    # itself, so the proxy's own method is unknown to it.
    app = current_app._get_current_object()  # type: ignore[attr-defined, unused-ignore]
    document: dict[str, Any] | None = app.extensions.get("openapi")
    if document is None:  # built once: the routes do not change while the app runs
        document = app.extensions["openapi"] = openapi_document(app)
    return document

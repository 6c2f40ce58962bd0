"""Request data into pydantic models: 415 for a body that is not JSON, 400 for malformed JSON,
422 naming each field at fault. The views receive validated models, never raw input."""

from typing import TypeVar

{% if cookiecutter.__framework == "flask" -%}
from flask import abort, request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
{%- else -%}
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from quart import abort, request
{%- endif %}
from werkzeug.exceptions import UnprocessableEntity

Model = TypeVar("Model", bound=BaseModel)


class InvalidInput(UnprocessableEntity):
    """422 with the fields at fault, rendered by errors.handle_http_error."""

    def __init__(self, fields: list[dict[str, str]]):
        super().__init__(description="The request is not valid")
        self.fields = fields


def field_errors(error: ValidationError, location: str) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in detail["loc"]) or location,
            "message": message(detail),
        }
        for detail in error.errors(include_url=False, include_input=False)
    ]


def message(detail: ErrorDetails) -> str:
    # Our validators' own words, without the "Value error, " pydantic puts before them.
    if detail["type"] == "value_error" and "error" in detail.get("ctx", {}):
        return str(detail["ctx"]["error"])
    return detail["msg"]


def validated(model: type[Model], data: object, location: str, strict: bool) -> Model:
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as error:
        raise InvalidInput(field_errors(error, location)) from None


{{ cookiecutter.__async }}def json_body(model: type[Model]) -> Model:
    if not request.is_json:
        abort(415, description="send the body as application/json")
    # 400 for malformed JSON and 413 past MAX_CONTENT_LENGTH, through the JSON error handlers.
    data = {{ cookiecutter.__await }}request.get_json()
    # Strict: JSON has types, so "5" is not a number and 5 is not a name.
    return validated(model, data, "body", strict=True)


def query_args(model: type[Model]) -> Model:
    # Query strings are text: "20" may become the number 20.
    return validated(model, request.args.to_dict(), "query", strict=False)

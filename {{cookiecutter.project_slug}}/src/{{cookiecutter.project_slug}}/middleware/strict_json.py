"""Request bodies parsed as JSON is specified (RFC 8259), and bounded: what a hostile client sends
gets a 400, never a 500.

The standard library's C parser stays in charge; this only refuses what it would let through or
choke on: a body that is not UTF-8, NaN and Infinity (not JSON, and not writable back as JSON), a
number too large for a float, an integer longer than Python converts (said in our words), and
nesting deeper than MAX_DEPTH, which would otherwise exhaust Python's recursion limit (a
RecursionError, so a 500) in the parser or in the code after it.
"""

import json
import math
import re
import sys
from typing import Any

from {{ cookiecutter.__framework }} import Request
from {{ cookiecutter.__framework }}.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

# Far deeper than any API document nests, far below Python's recursion limit.
MAX_DEPTH = 100
# A string (skipped whole, brackets inside it included; one never closed runs to the end) or a
# bracket. Possessive quantifiers: one linear pass, whatever the escapes (a backtracking pattern
# took seconds per 100 KB of unclosed string full of escaped quotes).
TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]', re.DOTALL)


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    # Counting is C-fast, and a body with no more brackets than the limit cannot nest past it:
    # nearly every body stops here.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in TOKEN.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in ("]", "}"):
            depth -= 1
    return False


def reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]}... is out of range")
    return value


def loads(data: str | bytes, **kwargs: Any) -> Any:
    """json.loads for request bodies; every refusal is a ValueError, which the framework answers
    with a 400."""
    # JSON between systems is UTF-8 (RFC 8259 section 8.1): no UTF-16, UTF-32 or Latin-1 guessing.
    # A UnicodeDecodeError is a ValueError too.
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    if too_deep(text):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_constant=reject_constant, parse_float=finite_float, **kwargs)
    except ValueError as error:
        # Python's own guard on integers (CVE-2020-10735), whose message advises a function
        # call: said in the API's words instead.
        if "integer string conversion" not in str(error):
            raise
        limit = sys.get_int_max_str_digits()
        raise ValueError(f"a number has more than {limit} digits") from None


class StrictJSONProvider(DefaultJSONProvider):
    """The app's JSON: responses as before, request bodies through `loads` above."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)


class StrictRequest(Request):
    """Says why a body is not JSON, where the framework answers a bare "Bad Request"."""

{%- if cookiecutter.__framework == "quart" %}

    # Quart calls this only for a body that fails to parse; one not sent as JSON reads as None.
    def on_json_loading_failed(self, error: Exception) -> Any:
{%- else %}

    def on_json_loading_failed(self, error: ValueError | None) -> Any:
        if error is None:  # not sent as JSON at all: the framework's own answer (a 415)
            return super().on_json_loading_failed(error)
{%- endif %}
        raise BadRequest(description=f"the request body is not valid JSON: {error}")
{%- if cookiecutter.__framework == "quart" %}

    # Quart decodes the body to text before parsing it, outside the path that answers 400: a body
    # that is not UTF-8 would be a 500.
    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except UnicodeDecodeError as error:
            if silent:
                return None
            return self.on_json_loading_failed(error)
{%- endif %}

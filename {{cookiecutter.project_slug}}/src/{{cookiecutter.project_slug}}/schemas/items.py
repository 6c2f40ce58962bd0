"""What /items accepts and returns."""

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from ..database.models import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH

# Ids are 32-bit integers in every database; larger ones cannot exist.
MAX_ID = 2**31 - 1
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


def without_nul(text: str) -> str:
    # PostgreSQL's text cannot hold U+0000 (a 500 from the driver), and no name needs one: the
    # API refuses it in every database, so that switching databases changes nothing.
    if "\x00" in text:
        raise ValueError("must not contain the NUL character (\\u0000)")
    return text


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH),
    AfterValidator(without_nul),
]
Description = Annotated[
    str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH), AfterValidator(without_nul)
]


class ItemCreate(BaseModel):
    # Unknown fields, a client-chosen id or timestamps among them, are refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None


class ItemUpdate(BaseModel):
    """Only the fields sent change; `description: null` clears it, `name: null` is refused."""

    model_config = ConfigDict(extra="forbid")

    # Left out: unchanged. The default is not validated, but a null sent is refused.
    name: Name = None  # type: ignore[assignment]
    description: Description | None = None

    def changes(self) -> dict[str, object]:
        return self.model_dump(include=self.model_fields_set)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id the next page starts after; ValueError for anything we did not hand out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        last_id = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("cursor is not one this API handed out") from None
    if prefix != "after" or not 0 <= last_id <= MAX_ID:
        raise ValueError("cursor is not one this API handed out")
    return last_id


class ItemListQuery(BaseModel):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(
        None, min_length=1, max_length=64, description="next_cursor from the previous page"
    )

    @field_validator("cursor")
    @classmethod
    def cursor_is_ours(cls, cursor: str | None) -> str | None:
        if cursor is not None:
            decode_cursor(cursor)
        return cursor

    @property
    def after_id(self) -> int:
        return decode_cursor(self.cursor) if self.cursor else 0


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None = Field(description="?cursor= for the next page; null at the end")

"""What /me answers."""

from pydantic import BaseModel


class Me(BaseModel):
    subject: str
    scopes: list[str]

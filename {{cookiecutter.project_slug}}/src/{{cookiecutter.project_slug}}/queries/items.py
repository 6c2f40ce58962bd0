"""Queries for items. Every write is a single statement, so on SQLite a transaction takes the
write lock at its first statement and waits (busy_timeout) instead of failing mid-transaction."""

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
{%- if cookiecutter.__framework == "quart" %}
from sqlalchemy.ext.asyncio import AsyncSession as Session
{%- else %}
from sqlalchemy.orm import Session
{%- endif %}

from ..database.models import Item, utc_now
from ..schemas.items import MAX_ID, ItemCreate, ItemUpdate


class NameTaken(Exception):
    """Another item already has this name."""


{{ cookiecutter.__async }}def create_item(session: Session, data: ItemCreate) -> Item:
    item = Item(**data.model_dump())
    session.add(item)
    try:
        {{ cookiecutter.__await }}session.commit()
    except IntegrityError:
        {{ cookiecutter.__await }}session.rollback()
        raise NameTaken(data.name) from None
    return item


def could_exist(item_id: int) -> bool:
    """Ids past the column's range are simply not there (the database would refuse to compare)."""
    return 0 < item_id <= MAX_ID


{{ cookiecutter.__async }}def get_item(session: Session, item_id: int) -> Item | None:
    if not could_exist(item_id):
        return None
    return {{ cookiecutter.__await }}session.get(Item, item_id)


{{ cookiecutter.__async }}def list_items(session: Session, after_id: int, limit: int) -> tuple[list[Item], bool]:
    """Up to `limit` items with ids above `after_id`, in id order, and whether more follow."""
    query = select(Item).where(Item.id > after_id).order_by(Item.id).limit(limit + 1)
    items = list(({{ cookiecutter.__await }}session.scalars(query)).all())
    return items[:limit], len(items) > limit


{{ cookiecutter.__async }}def update_item(session: Session, item_id: int, data: ItemUpdate) -> Item | None:
    changes = data.changes()
    if not changes:  # `{}`: nothing changes, updated_at included
        return {{ cookiecutter.__await }}get_item(session, item_id)
    if not could_exist(item_id):
        return None
    statement = (
        update(Item)
        .where(Item.id == item_id)
        .values(**changes, updated_at=utc_now())
        .returning(Item)
    )
    try:
        item = ({{ cookiecutter.__await }}session.scalars(statement)).one_or_none()
        {{ cookiecutter.__await }}session.commit()
    except IntegrityError:
        {{ cookiecutter.__await }}session.rollback()
        raise NameTaken(data.name) from None
    return item


{{ cookiecutter.__async }}def delete_item(session: Session, item_id: int) -> bool:
    if not could_exist(item_id):
        return False
    result = {{ cookiecutter.__await }}session.execute(delete(Item).where(Item.id == item_id))
    {{ cookiecutter.__await }}session.commit()
    # A DELETE's result is a CursorResult, which counts rows; execute() is typed for any statement.
    return cast(CursorResult[Any], result).rowcount > 0

"""Set-based writes for fan-out: one INSERT ... SELECT writes a chunk of deliveries from the
subscribers table, without loading a row into Python (bulk_create costs tens of
microseconds of Python per row; the database does this in a few)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Field, Model, QuerySet
from django.db.models.constants import OnConflict

from notifiers.models import Announcement, Delivery, Subscriber

FROM_SUBSCRIBER = {"target": "address", "subscriber": "id"}


def concrete_field(model: type[Model], name: str) -> Field:
    """A field with a column of its own (get_field may also return a reverse relation)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field), name
    return field


def column_name(field: Field) -> str:
    assert field.column is not None, field  # concrete fields have a column
    return field.column


def delivery_values(announcement: Announcement, now: datetime) -> dict[str, Any]:
    """The value of every delivery column that is the same for the whole announcement:
    the model's defaults, and what this announcement sets."""
    given = {
        "announcement": announcement.id,
        "channel": announcement.channel,
        "next_attempt_at": now,
        "created_at": now,
    }
    values: dict[str, Any] = {}
    for field in Delivery._meta.concrete_fields:
        if field.primary_key or field.name in FROM_SUBSCRIBER:
            continue
        value = given.get(field.name, field.get_default())
        if value is not None:  # left to the column's NULL: no untyped NULL literals
            values[column_name(field)] = field.get_db_prep_save(value, connection)
    return values


def insert_deliveries_for(
    announcement: Announcement, subscribers: QuerySet, now: datetime, skip_existing: bool = False
) -> int:
    """One pending delivery per subscriber in `subscribers`. A row that exists already is
    an IntegrityError, or with `skip_existing` is kept (ON CONFLICT DO NOTHING, which
    costs PostgreSQL a third more per row: a pre-check of each unique index and one more
    WAL record).

    The subscribers' own query is the INSERT's source (a derived table the database
    flattens into one index range scan). As `id IN (that query)` instead, PostgreSQL
    joined it back to the whole subscribers table, reading every subscriber per chunk.
    `subscribers` must not repeat a row (following() is an EXISTS, not a join)."""
    quote = connection.ops.quote_name
    constant = delivery_values(announcement, now)
    copied = [column_name(concrete_field(Delivery, name)) for name in FROM_SUBSCRIBER]
    sources = [column_name(concrete_field(Subscriber, name)) for name in FROM_SUBSCRIBER.values()]
    columns = ", ".join(quote(column) for column in [*constant, *copied])
    selected = ", ".join(["%s"] * len(constant) + [f"chunk.{quote(column)}" for column in sources])
    chunk = subscribers.order_by().values_list(*FROM_SUBSCRIBER.values())
    rows_sql, rows_params = chunk.query.sql_with_params()
    on_conflict = OnConflict.IGNORE if skip_existing else None
    statement = connection.ops.insert_statement(on_conflict=on_conflict)
    suffix = connection.ops.on_conflict_suffix_sql([], on_conflict, [], [])
    sql = (
        f"{statement} {quote(Delivery._meta.db_table)} ({columns}) SELECT {selected} "
        f"FROM ({rows_sql}) chunk {suffix}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constant.values(), *rows_params])
        return cursor.rowcount

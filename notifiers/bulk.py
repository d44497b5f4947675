"""Set-based writes for fan-out: one INSERT ... SELECT writes a chunk of deliveries from the
subscribers table, without loading a row into Python (bulk_create costs tens of
microseconds of Python per row; the database does this in a few)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.db.models.constants import OnConflict

from notifiers.models import Announcement, Delivery, Subscriber

FROM_SUBSCRIBER = {"target": "address", "subscriber": "id"}


def delivery_values(announcement: Announcement, now: datetime) -> dict[str, object]:
    """The value of every delivery column that is the same for the whole announcement:
    the model's defaults, and what this announcement sets."""
    given = {"announcement": announcement.id, "channel": announcement.channel,
             "next_attempt_at": now, "created_at": now}
    values = {}
    for field in Delivery._meta.concrete_fields:
        if field.primary_key or field.name in FROM_SUBSCRIBER:
            continue
        value = given.get(field.name, field.get_default())
        if value is not None:  # left to the column's NULL: no untyped NULL literals
            values[field.column] = field.get_db_prep_save(value, connection)
    return values


def insert_deliveries_for(announcement: Announcement, subscribers: QuerySet, now: datetime) -> int:
    """One pending delivery per subscriber in `subscribers`; rows that exist are kept."""
    quote = connection.ops.quote_name
    constant = delivery_values(announcement, now)
    table = quote(Subscriber._meta.db_table)
    from_subscriber = {
        Delivery._meta.get_field(name).column: f"{table}.{quote(Subscriber._meta.get_field(source).column)}"
        for name, source in FROM_SUBSCRIBER.items()
    }
    columns = ", ".join(quote(c) for c in [*constant, *from_subscriber])
    selected = ", ".join(["%s"] * len(constant) + list(from_subscriber.values()))
    ids_sql, ids_params = subscribers.order_by().values("id").query.sql_with_params()
    statement = connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)
    suffix = connection.ops.on_conflict_suffix_sql([], OnConflict.IGNORE, [], [])
    sql = (f"{statement} {quote(Delivery._meta.db_table)} ({columns}) SELECT {selected} "
           f"FROM {table} WHERE {table}.{quote('id')} IN ({ids_sql}) {suffix}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constant.values(), *ids_params])
        return cursor.rowcount

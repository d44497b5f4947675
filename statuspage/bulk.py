"""Set-based writes for the engine's hot path: the ORM's per-row save costs about a
millisecond of Python each, which alone would cap one engine process below 1,000 checks/s.

Both functions use one prepared statement run with executemany, with values prepared by
each field's own get_db_prep_save, so they work on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from statuspage.models import Probe


def column(name: str) -> str:
    return connection.ops.quote_name(Probe._meta.get_field(name).column)


def prep(name: str, value):
    return Probe._meta.get_field(name).get_db_prep_save(value, connection)


def claim(probes: Sequence[Probe], new_times: Sequence[datetime]) -> set[int]:
    """Conditionally move each probe's next_run_at from the value we read to a new one;
    returns the ids we won. When the summed row count says every row was ours (the usual
    case with one engine), no further query is needed; otherwise we read back which rows
    hold our values (a competing worker computes its own, different, times)."""
    table = connection.ops.quote_name(Probe._meta.db_table)
    when, pk = column("next_run_at"), column("id")
    unset = [(prep("next_run_at", t), p.id) for p, t in zip(probes, new_times) if p.next_run_at is None]
    due = [(prep("next_run_at", t), p.id, prep("next_run_at", p.next_run_at))
           for p, t in zip(probes, new_times) if p.next_run_at is not None]
    won = 0
    with connection.cursor() as cursor:
        if unset:
            cursor.executemany(f"UPDATE {table} SET {when} = %s WHERE {pk} = %s AND {when} IS NULL", unset)
            won += cursor.rowcount
        if due:
            cursor.executemany(f"UPDATE {table} SET {when} = %s WHERE {pk} = %s AND {when} = %s", due)
            won += cursor.rowcount
    ids = {p.id for p in probes}
    if won == len(ids):
        return ids
    wanted = {p.id: t for p, t in zip(probes, new_times)}
    now_held = Probe.objects.filter(id__in=ids).values_list("id", "next_run_at")
    return {pid for pid, held in now_held if held == wanted[pid]}


def save_fields(probes: Sequence[Probe], fields: Sequence[str]) -> None:
    """UPDATE the given fields of many probes with one executemany."""
    if not probes:
        return
    table = connection.ops.quote_name(Probe._meta.db_table)
    assignments = ", ".join(f"{column(f)} = %s" for f in fields)
    rows = [[prep(f, getattr(p, f)) for f in fields] + [p.id] for p in probes]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {column('id')} = %s", rows)

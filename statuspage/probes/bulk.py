"""Set-based writes for the engine's hot path: the ORM's per-row save costs about a
millisecond of Python each, which alone would cap one engine process below 1,000 checks/s.

Both functions use one prepared statement run with executemany, with values prepared by
each field's own get_db_prep_save, so they work on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, models

from statuspage.models import CheckOutcome, CheckResult, Probe


def field(name: str, model: type[models.Model] = Probe) -> models.Field:
    """A field with a column of its own (get_field may also return a reverse relation)."""
    found = model._meta.get_field(name)
    assert isinstance(found, models.Field), name
    return found


def column(name: str, model: type[models.Model] = Probe) -> str:
    name_in_db = field(name, model).column
    assert name_in_db is not None, name  # concrete fields have a column
    return connection.ops.quote_name(name_in_db)


def prep(name: str, value, model: type[models.Model] = Probe):
    return field(name, model).get_db_prep_save(value, connection)


def claim(probes: Sequence[Probe], new_times: Sequence[datetime]) -> set[int]:
    """Conditionally move each probe's next_run_at from the value we read to a new one;
    returns the ids we won. When the summed row count says every row was ours (always, when
    the caller locked the rows or holds SQLite's write lock), no further query is needed;
    otherwise we read back which rows hold our values.

    The UPDATE alone does not make a claim exclusive on PostgreSQL: two engines that read
    the same row compute the same next time (the cadence is anchored to the schedule), so
    the read-back would count it as won by both. The caller locks the rows it reads
    (`engine.due_probes`, FOR UPDATE SKIP LOCKED)."""
    table = connection.ops.quote_name(Probe._meta.db_table)
    when, pk = column("next_run_at"), column("id")
    unset = [
        (prep("next_run_at", t), p.id)
        for p, t in zip(probes, new_times, strict=True)
        if p.next_run_at is None
    ]
    due = [
        (prep("next_run_at", t), p.id, prep("next_run_at", p.next_run_at))
        for p, t in zip(probes, new_times, strict=True)
        if p.next_run_at is not None
    ]
    won = 0
    with connection.cursor() as cursor:
        if unset:
            cursor.executemany(
                f"UPDATE {table} SET {when} = %s WHERE {pk} = %s AND {when} IS NULL", unset
            )
            won += cursor.rowcount
        if due:
            cursor.executemany(
                f"UPDATE {table} SET {when} = %s WHERE {pk} = %s AND {when} = %s", due
            )
            won += cursor.rowcount
    ids = {p.id for p in probes}
    if won == len(ids):
        return ids
    wanted = {p.id: t for p, t in zip(probes, new_times, strict=True)}
    now_held = Probe.objects.filter(id__in=ids).values_list("id", "next_run_at")
    return {pid for pid, held in now_held if held == wanted[pid]}


def save_fields(probes: Sequence[Probe], fields: Sequence[str]) -> None:
    """UPDATE the given fields of many probes with one executemany."""
    if not probes:
        return
    table = connection.ops.quote_name(Probe._meta.db_table)
    assignments = ", ".join(f"{column(f)} = %s" for f in fields)
    savers = [field(f).get_db_prep_save for f in fields]
    rows = [
        [save(getattr(p, f), connection) for f, save in zip(fields, savers, strict=True)] + [p.id]
        for p in probes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {column('id')} = %s", rows)


def save_changed(changes: Sequence[tuple[Probe, tuple]], fields: Sequence[str]) -> None:
    """Save each probe's `fields` that differ from the values it had before (`changes`
    pairs a probe with its values of `fields` read before judging). A steady probe
    changes only its counters and check time, so most rows skip re-encoding JSON fields;
    probes changing the same fields share one executemany."""
    groups: dict[tuple[str, ...], list[Probe]] = defaultdict(list)
    for probe, before in changes:
        changed = tuple(
            f for f, old in zip(fields, before, strict=True) if getattr(probe, f) != old
        )
        if changed:
            groups[changed].append(probe)
    for changed, probes in groups.items():
        save_fields(probes, changed)


RESULT_FIELDS = ["probe", "region", "checked_at", "ok", "latency_ms", "status_code", "error"]


def insert_results(rows: Sequence[tuple[int, str, datetime, CheckOutcome]]) -> None:
    """INSERT CheckResults (probe id, region, time, outcome) with one executemany, without
    building a model instance per row."""
    if not rows:
        return
    table = connection.ops.quote_name(CheckResult._meta.db_table)
    columns = ", ".join(column(f, CheckResult) for f in RESULT_FIELDS)
    placeholders = ", ".join(["%s"] * len(RESULT_FIELDS))
    when = CheckResult._meta.get_field("checked_at").get_db_prep_save
    values = [
        (probe_id, region, when(at, connection), o.ok, o.latency_ms, o.status_code, o.error[:500])
        for probe_id, region, at, o in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)

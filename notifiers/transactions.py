"""The outbox's transactions: durable against a crashed worker, cheap to commit.

On PostgreSQL each outbox transaction (a fan-out chunk with its cursor, a claim, a
batch's recorded outcomes) commits with ``synchronous_commit`` off for that transaction
alone: the commit returns before its WAL is flushed to disk (the WAL writer flushes it
within a fraction of a second). A fan-out chunk writes megabytes of WAL, and waiting for
that flush took longer than writing it (40 ms per 2,000 rows measured here).

What it risks, and why that is the outbox's existing guarantee: a killed *worker* loses
nothing (the server has the WAL). Only a crash of the *database server* can undo the
last fraction of a second of such commits, each as a whole and in order: a fan-out
chunk vanishes with its cursor (fan-out resumes at the durable cursor), a claim vanishes
(the row is pending again and is sent again), a recorded outcome vanishes (the row stays
claimed until its lease ends, then is sent again). Messages may repeat; none is lost. Any
later durable commit (a subscriber confirming, an incident update) flushes everything
before it, so nothing else in the system can depend on an undone outbox write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def outbox_transaction() -> Iterator[None]:
    """transaction.atomic(); when it is the outermost transaction on PostgreSQL, its
    commit does not wait for the disk (see the module docstring)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield

"""Outbox transactions on PostgreSQL commit without waiting for the WAL flush; nothing
else does (see notifiers.transactions for why that loses no delivery)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from notifiers.transactions import outbox_transaction

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's synchronous_commit"),
    pytest.mark.django_db(transaction=True),
]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_an_outbox_transaction_commits_without_waiting_for_the_disk():
    with outbox_transaction():
        assert synchronous_commit() == "off"


def test_transactions_after_it_wait_for_the_disk_again():
    with outbox_transaction():
        pass
    with transaction.atomic():
        assert synchronous_commit() == "on"


def test_inside_another_transaction_the_outer_one_decides():
    with transaction.atomic():
        with outbox_transaction():
            assert synchronous_commit() == "on"

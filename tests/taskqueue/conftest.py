"""Fixtures for tests that run the task cluster as real processes against the test database."""

from __future__ import annotations

import pytest
from django_q.brokers import get_broker

from tests.taskqueue.processes import child_env


@pytest.fixture
def broker(transactional_db):
    """The real broker (ORM on SQLite, Redis on the PostgreSQL pass), empty before and after."""
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@pytest.fixture
def env(broker, tmp_path):
    return child_env(tmp_path)

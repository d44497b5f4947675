"""Cluster scenarios run real nodes (deploy.cluster) on PostgreSQL and Redis: in make
test's second pass, skipped with the reason on SQLite or when a service is missing."""

from __future__ import annotations

import pytest

from tests.cluster.drills import why_not_runnable


def pytest_collection_modifyitems(config, items):
    reason = why_not_runnable()
    for item in items:
        if "tests/cluster/" in item.nodeid:
            item.add_marker(pytest.mark.cluster)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))

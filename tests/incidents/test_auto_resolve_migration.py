"""Existing sites: the migration gives the shipped default policy its 30 minutes and leaves
a site's own policies to staff, as they were."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("incidents", "0004_monitoring_interruptions")]
AFTER = [("incidents", "0007_policy_auto_resolve")]


@pytest.mark.django_db(transaction=True)
def test_the_default_policy_resolves_itself_and_a_sites_own_policies_do_not():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("incidents", "EscalationPolicy")
    old.objects.create(name="Default", priority=1000)
    old.objects.create(name="Night shift", priority=1)
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("incidents", "EscalationPolicy")
    minutes = dict(new.objects.values_list("name", "auto_resolve_minutes"))
    assert minutes == {"Default": 30, "Night shift": 0}
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

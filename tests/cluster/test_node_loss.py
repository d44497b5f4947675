"""Losing a whole node (kill -9 of its process group: web, engine, task cluster) in the
middle of work: the other nodes finish it, nothing is lost, nothing is done twice beyond
the one batch the dead node had in flight."""

from __future__ import annotations

import pytest

from tests.cluster.drills import (
    BASE_PORT,
    FAST,
    CountingTarget,
    make_cluster,
    record_figures,
    reset,
)
from tests.cluster.scenarios import (
    IN_FLIGHT,
    fan_out_with_a_fault,
    probing_with_a_node_lost,
)

HEARTBEAT = float(FAST["ENGINE_HEARTBEAT_SECONDS"])
POLL_SLACK = 2.0  # the scenario asks the database every 0.25 s, on a busy machine
COMMAND = "make test-cluster  (pytest tests/cluster on PostgreSQL + Redis)"


@pytest.fixture
def cluster(request):
    cluster = make_cluster(request.node.name)
    reset(cluster)
    with cluster:
        yield cluster


def test_a_node_killed_mid_fan_out_loses_no_delivery_and_sends_at_most_its_batch_twice(cluster):
    figures = fan_out_with_a_fault(cluster, subscribers=10_000, channel="email", latency_ms=1500)
    record_figures("node killed mid fan-out", figures, COMMAND)
    assert figures["deliveries_not_sent"] == 0
    assert figures["subscribers_never_told"] == 0
    assert figures["duplicates"] <= figures["in_flight_at_fault"] <= IN_FLIGHT["email"]
    assert figures["steps_fired_twice"] == 0
    assert figures["told_two_different_messages"] == 0


def test_a_node_killed_mid_probing_has_its_probes_and_lease_taken_over(cluster):
    interval = 10
    with CountingTarget(BASE_PORT + 20) as target:
        figures = probing_with_a_node_lost(cluster, target, probes=80, interval=interval)
    record_figures("node killed mid probing", figures, COMMAND)
    assert figures["probes_never_checked_after_kill"] == 0
    # Its in-flight checks are lost with it, and the next run is one interval on.
    assert figures["longest_probe_silence_seconds"] <= 2 * interval + 2
    assert 0.85 <= figures["checks_per_expected_check"] <= 1.15
    assert figures["lease_holder_before"], "no engine holds a housekeeping lease"
    # A dead leader's lease expires after one beat and is taken at another engine's next.
    assert figures["seconds_to_lease_takeover"] <= 2 * HEARTBEAT + POLL_SLACK

"""SIGKILL of a node's task workers mid-send (as the OOM killer would): the node's task
cluster is back by itself and the notification goes out, with no human.

One node only: with several, the others would send in its place and hide a wedged one;
the question here is whether a node recovers its own task cluster."""

from __future__ import annotations

import os
import signal

from deploy.cluster.launcher import Cluster
from tests.cluster.drills import make_cluster, record_figures, reset, wait_for
from tests.cluster.scenarios import IN_FLIGHT, busy_node, fan_out_with_a_fault
from tests.cluster.test_node_loss import COMMAND


def kill_task_workers(cluster: Cluster) -> str:
    node, _ = wait_for(lambda: busy_node(cluster, ("send_due",)), 60, "a worker sending", 0.05)
    workers = node.task_workers()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    return f"{len(workers)} task workers of {node.name} SIGKILLed"


def test_notifications_resume_by_themselves_after_the_task_workers_are_killed(request):
    cluster = make_cluster(request.node.name, nodes=1)
    reset(cluster)
    with cluster:
        figures = fan_out_with_a_fault(
            cluster,
            subscribers=6_000,
            fault=kill_task_workers,
            channel="email",
            fault_at=0.3,
            latency_ms=2000,
        )
    record_figures("task workers killed mid send", figures, COMMAND)
    assert figures["deliveries_not_sent"] == 0
    assert figures["subscribers_never_told"] == 0
    assert figures["duplicates"] <= figures["in_flight_at_fault"] <= IN_FLIGHT["email"]

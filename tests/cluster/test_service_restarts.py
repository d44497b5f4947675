"""PostgreSQL and Redis restarted under load (a fan-out sending, probes checking), on
servers of the scenario's own: the nodes recover by themselves and nothing is lost."""

from __future__ import annotations

import time

import pytest

from deploy.cluster.launcher import Cluster
from deploy.cluster.services import OwnPostgres, OwnRedis
from tests.cluster.drills import (
    BASE_PORT,
    CountingTarget,
    make_cluster,
    record_figures,
    reset,
    seed,
)
from tests.cluster.scenarios import IN_FLIGHT, fan_out_with_a_fault
from tests.cluster.test_node_loss import COMMAND

OUTAGE_SECONDS = 3.0
INTERVAL = 10


@pytest.fixture
def services():
    with OwnPostgres(BASE_PORT + 30) as postgres, OwnRedis(BASE_PORT + 31) as redis:
        yield postgres, redis


@pytest.fixture
def probed(request, services):
    """A cluster on our own servers, with probes checking a counting target."""
    postgres, redis = services
    cluster = make_cluster(
        request.node.name,
        database_url=postgres.url("statuspage_cluster"),
        redis_url=redis.url(),
    )
    reset(cluster)
    with CountingTarget(BASE_PORT + 20) as target, cluster:
        seed(cluster, "probes", "--count", "20", "--interval", str(INTERVAL), "--url", target.url)
        yield cluster, target, postgres, redis


def probes_resumed(target: CountingTarget, since: float, probes: int = 20) -> int:
    """How many probes were checked after `since`."""
    return sum(any(t > since for t in times) for times in target.snapshot().values())


def restart_and_check(cluster: Cluster, target: CountingTarget, restart, name: str) -> dict:
    back: list[float] = []

    def fault(_cluster: Cluster) -> str:
        restart()
        back.append(time.time())
        return f"{name} stopped for {OUTAGE_SECONDS:g} s and started again"

    figures = fan_out_with_a_fault(cluster, 10_000, fault=fault, latency_ms=1500)
    time.sleep(max(back[0] + 2 * INTERVAL + 5 - time.time(), 0))
    figures["probes_checked_after_restart"] = probes_resumed(target, back[0])
    figures["nodes_running"] = sum(node.alive for node in cluster.nodes)
    return figures


def assert_nothing_lost(figures: dict) -> None:
    assert figures["deliveries_not_sent"] == 0
    assert figures["subscribers_never_told"] == 0
    assert figures["duplicates"] <= IN_FLIGHT["email"]
    assert figures["steps_fired_twice"] == 0
    assert figures["probes_checked_after_restart"] == 20
    assert figures["nodes_running"] == 3


def test_the_nodes_recover_by_themselves_from_a_postgresql_restart(probed):
    cluster, target, postgres, _ = probed

    def restart() -> None:
        postgres.stop("fast")
        time.sleep(OUTAGE_SECONDS)
        postgres.start()

    figures = restart_and_check(cluster, target, restart, "PostgreSQL")
    record_figures("PostgreSQL restarted under load", figures, COMMAND)
    assert_nothing_lost(figures)


def test_the_nodes_recover_by_themselves_from_a_redis_restart_that_lost_the_queue(probed):
    cluster, target, _, redis = probed

    def restart() -> None:
        redis.stop()
        time.sleep(OUTAGE_SECONDS)
        redis.start()  # empty: the queued tasks are gone

    figures = restart_and_check(cluster, target, restart, "Redis")
    record_figures("Redis restarted under load", figures, COMMAND)
    assert_nothing_lost(figures)

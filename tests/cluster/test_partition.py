"""One node cut off the database by the network (its node in a network namespace, the
database link taken down): it stops claiming probes, its housekeeping lease passes on,
and the other nodes go on checking every probe."""

from __future__ import annotations

import time

import pytest

from deploy.cluster.launcher import with_query
from deploy.cluster.services import OwnPostgres, OwnRedis
from tests.cluster.drills import (
    BASE_PORT,
    ClusterDatabase,
    CountingTarget,
    holder_node,
    make_cluster,
    record_figures,
    reset,
    seed,
    wait_for,
)
from tests.cluster.netns import Namespace, why_namespaces_unavailable
from tests.cluster.test_node_loss import COMMAND, HEARTBEAT, POLL_SLACK

# The database link (PostgreSQL and Redis) and the application link (web, probe target).
DB_OUTSIDE, DB_INSIDE = "169.254.14.1", "169.254.14.2"
APP_OUTSIDE, APP_INSIDE = "169.254.15.1", "169.254.15.2"
INTERVAL = 10
PROBES = 40


@pytest.fixture
def namespace():
    reason = why_namespaces_unavailable()
    if reason:
        pytest.skip(reason)
    with Namespace({"db": (DB_OUTSIDE, DB_INSIDE), "app": (APP_OUTSIDE, APP_INSIDE)}) as ns:
        yield ns


def test_a_node_cut_off_the_database_stops_claiming_and_its_lease_passes_on(request, namespace):
    listen = ("127.0.0.1", DB_OUTSIDE)
    with (
        OwnPostgres(BASE_PORT + 30, listen=listen) as postgres,
        OwnRedis(BASE_PORT + 31, listen=listen) as redis,
        CountingTarget(BASE_PORT + 20, host=APP_OUTSIDE) as target,
    ):
        cluster = make_cluster(
            request.node.name,
            database_url=postgres.url("statuspage_cluster"),
            redis_url=redis.url(),
        )
        cut = cluster.nodes[-1]
        cut.wrapper, cut.host = namespace.wrapper, APP_INSIDE
        cut.env_overrides = {
            "DATABASE_URL": with_query(
                postgres.url("statuspage_cluster", host=DB_OUTSIDE),
                application_name=f"cluster-{cut.name}",
            ),
            "REDIS_URL": redis.url(host=DB_OUTSIDE),
        }
        reset(cluster)
        db = ClusterDatabase(cluster.config.database_url)
        seed(
            cluster,
            "probes",
            "--count",
            str(PROBES),
            "--interval",
            str(INTERVAL),
            "--url",
            target.url,
        )
        with cluster.start(nodes=[cut]):
            # The node in the namespace starts first, so it is the one holding the lease.
            wait_for(
                lambda: holder_node(cluster, db.lease_holder()) is cut, 60, f"{cut.name} leading"
            )
            for node in cluster.nodes[:-1]:
                node.start()
            cluster.wait_ready()
            time.sleep(2 * INTERVAL)
            checks_before = target.checks_from(APP_INSIDE)
            holder_before = db.lease_holder()
            namespace.cut("db")
            cut_at = time.time()
            holder_after = wait_for(
                lambda: (h := db.lease_holder()) and h != holder_before and h,
                5 * INTERVAL,
                "the lease passed on",
            )
            takeover = time.time() - cut_at
            new_leader = holder_node(cluster, holder_after)
            time.sleep(3 * INTERVAL)
            # Checks it had claimed before the cut may still finish in the first second.
            checks_after = target.checks_from(APP_INSIDE, since=cut_at + 1)
            unchecked = sum(
                not any(t > cut_at + 2 * INTERVAL for t in times)
                for times in target.snapshot().values()
            )
            view = cluster.balancer_view()
    figures = {
        "probes": PROBES,
        "interval_seconds": INTERVAL,
        "checks_by_the_cut_node_before": checks_before,
        "checks_by_the_cut_node_after_the_cut": checks_after,
        "probes_unchecked_by_the_others": unchecked,
        "lease_holder_before": holder_before,
        "lease_holder_after": holder_after,
        "new_leader": new_leader.name if new_leader else None,
        "seconds_to_lease_takeover": round(takeover, 1),
        "load_balancer_view": view,
    }
    record_figures("node cut off the database", figures, COMMAND)
    assert checks_before > 0, "the node in the namespace never checked anything"
    assert checks_after == 0
    assert unchecked == 0
    assert new_leader is not None and new_leader is not cut
    assert figures["seconds_to_lease_takeover"] <= 2 * HEARTBEAT + POLL_SLACK
    assert view.get(cut.name) != "UP"

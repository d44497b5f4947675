"""The cluster's fault scenarios, each a function that breaks a running cluster and returns
what it measured; tests/cluster/test_*.py assert on the figures, bench/cluster_fanout.py
runs the fan-out one at 100k subscribers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import requests

from deploy.cluster.launcher import Cluster, Node
from tests.cluster.drills import (
    ClusterDatabase,
    CountingTarget,
    Sandbox,
    holder_node,
    restarts,
    seed,
    wait_for,
)

# What one send task of a channel has in flight: its batch size times its concurrent batches.
IN_FLIGHT = {"sms": 50 * 3, "email": 1000 * 3}
CHANNEL_KEYS = {"sms": ("twilio", "sms"), "email": ("sendgrid", "email")}


def open_incident(cluster: Cluster, token: str, component: str) -> None:
    """What staff do: open an incident through the load balancer's management API."""
    response = requests.post(
        f"{cluster.config.url}/api/manage/v1/incidents",
        json={
            "incident": {
                "name": "Follow API down",
                "body": "Readings are not reaching followers. We are on it.",
                "components": {component: "major_outage"},
                "impact_override": "major",
            }
        },
        headers={"Authorization": f"OAuth {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def busy_node(
    cluster: Cluster, tasks: tuple[str, ...] = ("fan_out", "send_due")
) -> tuple[Node, str] | None:
    """A node one of whose task workers is running one of `tasks` right now, and the task
    (django-q2 names a busy worker "qcluster <name> processing <task> '<function>'")."""
    for task in tasks:
        for node in cluster.running():
            for process in node.processes():
                if " processing " in process.title and f".{task}'" in process.title:
                    return node, task
    return None


def kill_sending_node(cluster: Cluster) -> str:
    """SIGKILL the whole node whose task worker is sending (or still fanning out)."""
    victim, task = wait_for(lambda: busy_node(cluster), 60, "a node sending the announcement", 0.05)
    victim.kill()
    return f"{victim.name} SIGKILLed while running {task}"


def fan_out_with_a_fault(
    cluster: Cluster,
    subscribers: int,
    fault: Callable[[Cluster], str] = kill_sending_node,
    channel: str = "email",
    fault_at: float = 0.2,
    latency_ms: int = 0,
) -> dict:
    """Open an incident whose policy tells `subscribers` at T+0; once `fault_at` of them got
    it, break something (`fault`: by default SIGKILL the whole node that is sending); wait
    until every delivery is sent, then count at the sandbox what each subscriber received.

    `latency_ms` makes the provider that slow to answer each request (as a busy one is), so
    the fault finds batches in flight rather than between two."""
    db, sandbox = ClusterDatabase(cluster.config.database_url), Sandbox(cluster)
    provider, kind = CHANNEL_KEYS[channel]
    if latency_ms:
        sandbox.set_fault(provider, latency_ms=latency_ms)
    seeded = seed(cluster, "fanout", "--subscribers", str(subscribers), "--channel", channel)
    started = time.monotonic()
    open_incident(cluster, seeded["token"], seeded["component"])
    key = f"{provider}/{kind}"
    wait_for(
        lambda: sandbox.count(key) >= fault_at * subscribers,
        120,
        f"{fault_at:.0%} of the subscribers told",
        every=0.1,
    )
    broken = fault(cluster)
    after_fault = time.monotonic()
    states = db.deliveries()
    in_flight, sent_at_fault = states.get("sending", 0), states.get("sent", 0)
    received_at_fault = sandbox.count(key)
    wait_for(
        lambda: db.deliveries().get("sent", 0) > sent_at_fault,
        150,
        "a delivery sent after the fault",
        every=0.5,
    )
    resumed = time.monotonic()
    wait_for(
        lambda: db.deliveries().get("sent", 0) >= subscribers,
        300,
        f"all {subscribers} deliveries sent",
        every=1.0,
    )
    done = time.monotonic()
    received = sandbox.by_target(provider, kind)
    states = db.deliveries()
    return {
        "subscribers": subscribers,
        "channel": channel,
        "fault": broken,
        "received_at_fault": received_at_fault,
        "in_flight_at_fault": in_flight,
        "deliveries_sent": states.get("sent", 0),
        "deliveries_not_sent": sum(n for state, n in states.items() if state != "sent"),
        "subscribers_never_told": subscribers - len(received),
        "duplicates": sum(r["count"] - 1 for r in received.values()),
        "told_two_different_messages": sum(r["distinct"] > 1 for r in received.values()),
        "steps_fired_twice": db.steps_fired_twice(),
        "seconds_to_resume": round(resumed - after_fault, 1),
        "seconds_from_fault_to_all_sent": round(done - after_fault, 1),
        "seconds_to_all_sent": round(done - started, 1),
        "parts_restarted_by_runall": restarts(cluster),
    }


def probing_with_a_node_lost(
    cluster: Cluster,
    target: CountingTarget,
    probes: int = 80,
    interval: int = 10,
    seconds: float = 60,
) -> dict:
    """`probes` HTTP probes every `interval` s against `target`; after two intervals
    SIGKILL the whole node holding the housekeeping lease (the first node if none does);
    count at the target how often each probe was checked in the window, and how long the
    longest silence of a probe and the lease's takeover lasted."""
    db = ClusterDatabase(cluster.config.database_url)
    seed(
        cluster, "probes", "--count", str(probes), "--interval", str(interval), "--url", target.url
    )
    warm = wait_for(
        lambda: len(target.snapshot()) == probes and time.time(),
        3 * interval,
        "every probe checked",
    )
    window_start = warm + interval  # every probe is on its cadence by then
    time.sleep(max(window_start + 2 * interval - time.time(), 0))
    holder_before = db.lease_holder()
    victim = holder_node(cluster, holder_before) or cluster.nodes[0]
    victim.kill()
    killed = time.time()
    takeover = None
    if holder_before:
        holder_after = wait_for(
            lambda: (h := db.lease_holder()) and h != holder_before and h,
            5 * interval,
            "the housekeeping lease taken over",
        )
        takeover = round(time.time() - killed, 1)
    else:
        holder_after = None
    window_end = window_start + seconds
    time.sleep(max(window_end - time.time(), 0))
    hits = target.snapshot()
    in_window = [
        sum(window_start <= t < window_end for t in hits.get(n, [])) for n in range(probes)
    ]
    expected = probes * seconds / interval
    silences = [
        max((b - a for a, b in zip(times, times[1:], strict=False) if b > killed), default=0.0)
        for times in (
            sorted(t for t in hits.get(n, []) if t >= window_start) for n in range(probes)
        )
    ]
    return {
        "probes": probes,
        "interval_seconds": interval,
        "window_seconds": seconds,
        "node_killed": victim.name,
        "checks": sum(in_window),
        "expected_checks": expected,
        "checks_per_expected_check": round(sum(in_window) / expected, 3),
        "probes_never_checked_after_kill": sum(
            not any(t > killed for t in hits.get(n, [])) for n in range(probes)
        ),
        "longest_probe_silence_seconds": round(max(silences), 1),
        "median_probe_silence_seconds": round(statistics.median(silences), 1),
        "lease_holder_before": holder_before,
        "lease_holder_after": holder_after,
        "seconds_to_lease_takeover": takeover,
        "parts_restarted_by_runall": restarts(cluster),
    }

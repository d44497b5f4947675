"""Task workers SIGKILLed mid-fan-out: every delivery still reaches `sent`, with no human.

`runall` runs the task cluster (`manage.py tasks`) and the engine; an update goes to 5,001
email subscribers (the issue's figure) through a slow provider; both workers are killed
while it is being sent. The supervisor ends the cluster, runall starts a fresh one, the
broker hands out again what it still holds and the engine's outbox sweep queues the rest.
Leases are shortened (environment) so the sweep acts within the test's bound; with
WORKER_KILL_DEFAULT_LEASES=1 the shipped leases are kept (a measurement, minutes long).
Run with `-s` to see the figures docs/RELIABILITY.md quotes.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

from django.db import transaction

from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients, Subscriber
from notifiers.sandbox.faults import FaultProfile
from tests.factories import add_update, make_component, make_incident
from tests.taskqueue.processes import Child, poll

SUBSCRIBERS = 5001
SHORT_LEASES = {
    "OUTBOX_SENDING_LEASE_SECONDS": "10",
    "OUTBOX_SEND_QUEUE_LEASE_SECONDS": "10",
    "Q_TIMEOUT": "30",
    "Q_RETRY": "35",
}
DEFAULT_LEASES = bool(os.environ.get("WORKER_KILL_DEFAULT_LEASES"))
LEASES = {} if DEFAULT_LEASES else SHORT_LEASES
BOUND_SECONDS = 600 if DEFAULT_LEASES else 240


def seed_subscribers(count: int) -> None:
    now = datetime.now(UTC)
    Subscriber.objects.bulk_create(
        Subscriber(
            channel="email",
            address=f"person{i}@example.org",
            all_components=True,
            confirmed_at=now,
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    )


def test_workers_killed_mid_fan_out_every_delivery_is_still_sent_without_a_human(
    env, tmp_path, sandbox
):
    component = make_component("Follow app alerts")
    seed_subscribers(SUBSCRIBERS)
    sandbox.faults.set("sendgrid", FaultProfile(latency_ms=1500))
    runall = Child.manage(
        "runall", "--only", "tasks,engine", env={**env, **LEASES}, log=tmp_path / "run.log"
    )
    try:
        workers = runall.worker_pids(2)
        update = add_update(make_incident(component), "opened")
        with transaction.atomic():
            announcement = dispatch.announce(
                update, "email", Recipients.SUBSCRIBERS, None, datetime.now(UTC)
            )
        deliveries = Delivery.objects.filter(announcement=announcement)
        sent = deliveries.filter(state=DeliveryState.SENT)
        assert poll(sent.exists, timeout=60), "sending never started"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        before = sent.count()
        assert before < SUBSCRIBERS, "killed mid-fan-out, not after it"
        runall.wait_for(r"tasks exited with status 3", timeout=30)
        exited = time.monotonic() - killed
        runall.wait_for(r"task cluster running", count=2, timeout=BOUND_SECONDS)
        restarted = time.monotonic() - killed
        assert poll(lambda: sent.count() > before, timeout=BOUND_SECONDS)
        resumed = time.monotonic() - killed
        assert poll(lambda: sent.count() == SUBSCRIBERS, timeout=BOUND_SECONDS), (
            f"{sent.count()} of {SUBSCRIBERS} sent"
        )
        done = time.monotonic() - killed
    finally:
        runall.stop()
    assert deliveries.count() == SUBSCRIBERS
    records = [r["target"] for r in sandbox.recorder.list(provider="sendgrid")]
    duplicates = len(records) - len(set(records))
    assert set(records) == set(deliveries.values_list("target", flat=True))
    print(
        f"\nworker kill ({'shipped' if DEFAULT_LEASES else 'short'} leases): {before} of "
        f"{SUBSCRIBERS} sent when killed; after the kill: old cluster gone {exited:.1f} s, "
        f"new one running {restarted:.1f} s, sending resumed {resumed:.1f} s, all sent "
        f"{done:.1f} s; {duplicates} sent twice"
    )

"""Several engines on one database: each registers itself, a dead one is named, monitoring is
interrupted only when none is alive, and the housekeeping lease has one holder at a time,
expires and is taken over. The clock is moved with time-machine; real processes are in
test_engine_cluster.py."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from incidents.console import alerts
from statuspage.models import EngineNode, Lease
from statuspage.picture import monitoring
from statuspage.probes.engine import Engine, claim_due_checks, lease_ttl, verdict_acted
from tests.clock import NOW
from tests.factories import make_component, make_probe, user_in

pytestmark = pytest.mark.django_db

TTL = timedelta(seconds=10)
RAN: list[tuple[str, object]] = []


def leader_job(now) -> None:
    RAN.append(("housekeeping", now))


def verdict_job(now) -> None:
    RAN.append(("on_verdict", now))


@pytest.fixture(autouse=True)
def ten_second_beats(settings):
    settings.ENGINE = {
        **settings.ENGINE,
        "HEARTBEAT_SECONDS": 10,
        "ONCALL_PAGERS": [],
        "HOUSEKEEPING": ["tests.statuspage.test_engine_nodes.leader_job"],
        "ON_VERDICT": ["tests.statuspage.test_engine_nodes.verdict_job"],
    }
    RAN.clear()
    yield
    RAN.clear()
    verdict_acted.clear()


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def engine_started(pid: int, host: str = "node-a") -> Engine:
    """An Engine as its loop has it after starting: registered, not yet running checks."""
    engine = Engine(0.5, 10)
    engine.node = EngineNode.register(host, pid, monitoring.clock.now(), 10)
    return engine


def test_a_lease_has_one_holder_until_it_expires(traveller):
    assert Lease.acquire(Lease.HOUSEKEEPING, "a", NOW, TTL)
    assert not Lease.acquire(Lease.HOUSEKEEPING, "b", NOW + timedelta(seconds=9), TTL)
    assert Lease.holder_of(Lease.HOUSEKEEPING, NOW + timedelta(seconds=9)) == "a"


def test_the_holder_renews_its_lease_and_keeps_it(traveller):
    Lease.acquire(Lease.HOUSEKEEPING, "a", NOW, TTL)
    assert Lease.acquire(Lease.HOUSEKEEPING, "a", NOW + timedelta(seconds=5), TTL)
    assert not Lease.acquire(Lease.HOUSEKEEPING, "b", NOW + timedelta(seconds=12), TTL)
    lease = Lease.objects.get()
    assert lease.acquired_at == NOW and lease.expires_at == NOW + timedelta(seconds=15)


def test_an_expired_lease_is_taken_over_by_another_holder(traveller):
    Lease.acquire(Lease.HOUSEKEEPING, "a", NOW, TTL)
    assert Lease.acquire(Lease.HOUSEKEEPING, "b", NOW + timedelta(seconds=10), TTL)
    assert not Lease.acquire(Lease.HOUSEKEEPING, "a", NOW + timedelta(seconds=11), TTL), (
        "the old holder learns it lost the lease"
    )
    lease = Lease.objects.get()
    assert (lease.holder, lease.acquired_at, lease.changes) == (
        "b",
        NOW + timedelta(seconds=10),
        2,
    )


def test_a_released_lease_is_free_at_once(traveller):
    Lease.acquire(Lease.HOUSEKEEPING, "a", NOW, TTL)
    assert Lease.release(Lease.HOUSEKEEPING, "a", NOW + timedelta(seconds=1))
    assert Lease.holder_of(Lease.HOUSEKEEPING, NOW + timedelta(seconds=1)) is None
    assert Lease.acquire(Lease.HOUSEKEEPING, "b", NOW + timedelta(seconds=1), TTL)


def test_an_engine_is_alive_while_it_beats_within_two_intervals(traveller):
    node = EngineNode.register("node-a", 101, NOW, 10)
    node.beat(NOW + timedelta(seconds=5), checks_completed=40, slip_p99_ms=12.5)
    node.refresh_from_db()
    assert node.checks_completed == 40 and node.slip_p99_ms == 12.5
    assert node.is_alive(NOW + timedelta(seconds=25))
    assert node.is_dead(NOW + timedelta(seconds=26))
    assert node.state(NOW + timedelta(seconds=26)) == "dead"


def test_a_cleanly_stopped_engine_is_neither_alive_nor_dead(traveller):
    engine = engine_started(101)
    engine.lead()
    monitoring.record_stop(engine.node, NOW + timedelta(seconds=3))
    node = EngineNode.objects.get()
    later = NOW + timedelta(minutes=5)
    assert node.state(later) == "stopped" and not node.is_dead(later)
    assert EngineNode.dead(later) == []
    assert Lease.holder_of(Lease.HOUSEKEEPING, NOW + timedelta(seconds=3)) is None, (
        "a clean stop hands the lease on at once"
    )


def test_monitoring_is_interrupted_only_when_no_engine_is_alive(traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    first, second = engine_started(101), engine_started(102)
    traveller.shift(timedelta(seconds=15))
    monitoring.record_beat(second.node, NOW + timedelta(seconds=15), 0, None)
    traveller.shift(timedelta(seconds=15))
    monitoring.forget()
    assert EngineNode.objects.get(pk=first.node.pk).is_dead(monitoring.clock.now())
    assert not monitoring.monitoring_state().interrupted, "one engine still beats"
    traveller.shift(timedelta(seconds=6))
    monitoring.forget()
    state = monitoring.monitoring_state()
    assert state.interrupted and state.since == NOW + timedelta(seconds=15)


def test_a_dead_engine_is_named_in_staff_alerts(traveller):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    engine_started(4242, host="node-b")
    live = engine_started(101)
    traveller.shift(timedelta(seconds=20))
    monitoring.record_beat(live.node, NOW + timedelta(seconds=20), 0, None)
    assert [a.kind for a in alerts.staff_alerts()] == []
    traveller.shift(timedelta(seconds=1))
    monitoring.record_beat(live.node, NOW + timedelta(seconds=21), 0, None)
    [alert] = alerts.staff_alerts()
    assert alert.kind == "engine_dead" and alert.since == NOW
    assert alert.message.startswith(
        "Engine node-b (pid 4242) is dead: no beat since 2026-11-27 01:00:00 UTC"
    )


def test_a_new_engine_on_the_same_host_replaces_its_dead_engines(traveller):
    dead = engine_started(101)
    traveller.shift(timedelta(minutes=2))
    restarted = engine_started(102)
    dead.node.refresh_from_db()
    assert dead.node.state(monitoring.clock.now()) == "replaced"
    assert dead.node.replaced_by_id == restarted.node.pk
    assert EngineNode.dead(monitoring.clock.now()) == []


def test_the_watchdog_names_a_dead_engine_and_exits_4_while_another_checks(traveller, capsys):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    engine_started(4242, host="node-b")
    live = engine_started(101)
    traveller.shift(timedelta(seconds=30))
    monitoring.record_beat(live.node, NOW + timedelta(seconds=30), 0, None)
    with pytest.raises(SystemExit) as exit_:
        call_command("watchdog")
    assert exit_.value.code == 4
    out, err = capsys.readouterr()
    assert "ENGINE DEAD: node-b pid 4242, no beat since 2026-11-27T01:00:00+00:00" in err
    assert "monitoring OK" in out and "node-a pid 101: alive" in out


def test_the_watchdog_still_exits_2_when_every_engine_is_dead(traveller, capsys):
    make_probe(make_component(), "http://127.0.0.1:1/health")
    engine_started(101)
    traveller.shift(timedelta(seconds=30))
    with pytest.raises(SystemExit) as exit_:
        call_command("watchdog")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "MONITORING INTERRUPTED" in err and "ENGINE DEAD: node-a pid 101" in err


def test_only_the_lease_holder_runs_housekeeping(traveller):
    first, second = engine_started(101), engine_started(102)
    assert first.lead() and not second.lead()
    first.housekeep(urgent=False)
    second.housekeep(urgent=False)
    assert RAN == [("housekeeping", NOW)]
    assert monitoring.housekeeping_leader(NOW) == first.node


def test_a_dead_leaders_housekeeping_resumes_on_another_engine_within_two_beats(traveller):
    first, second = engine_started(101), engine_started(102)
    first.lead()
    assert lease_ttl() == timedelta(seconds=10)
    # The leader dies right after renewing; the other engine tries at each of its pulses,
    # every half interval.
    pulses = [NOW + timedelta(seconds=5 * n) for n in range(1, 5)]
    took_over_at = None
    for at in pulses:
        traveller.move_to(at)
        if second.lead():
            took_over_at = at
            break
    assert took_over_at is not None and took_over_at - NOW <= 2 * timedelta(seconds=10)
    second.housekeep(urgent=False)
    assert RAN == [("housekeeping", took_over_at)]
    assert monitoring.housekeeping_leader(took_over_at) == second.node


def test_a_follower_that_acted_on_a_verdict_runs_the_on_verdict_jobs_only(traveller):
    first, second = engine_started(101), engine_started(102)
    first.lead()
    second.housekeep(urgent=True)
    assert RAN == [("on_verdict", NOW)]


def test_the_console_lists_each_engine_and_who_leads(client, traveller):
    client.force_login(user_in("Support staff", "sam", is_staff=True))
    leader = engine_started(101)
    leader.lead()
    engine_started(4242, host="node-b")
    traveller.shift(timedelta(seconds=30))
    monitoring.record_beat(leader.node, NOW + timedelta(seconds=30), 7, 3.5)
    leader.lead()
    text = client.get(reverse("console-dashboard")).content.decode()
    assert "Housekeeping (roll-ups, snapshot, the clock, retries) runs on node-a (pid 101)." in text
    assert f'<tr class="engine-alive" data-engine="{leader.node.pk}">' in text
    assert "alive · leader" in text
    assert '<tr class="engine-dead"' in text and "node-b" in text


@pytest.mark.django_db(transaction=True)
def test_a_probe_another_engine_is_claiming_is_not_claimed_twice():
    """Two claims at once, each in its own connection: the second gets nothing (PostgreSQL:
    the first one's rows are locked and skipped; SQLite: it waits for the first to commit)."""
    make_probe(make_component(), "http://127.0.0.1:1/health")
    now = monitoring.clock.now()
    first_claimed, holding, release = [], threading.Event(), threading.Event()

    def first_engine() -> None:
        try:
            with transaction.atomic():
                first_claimed.extend(claim_due_checks(now))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_engine)
    thread.start()
    assert holding.wait(10)
    if connection.vendor == "sqlite":
        release.set()  # SQLite's claim waits for the first writer's commit
    second_claimed = claim_due_checks(now)
    release.set()
    thread.join(10)
    assert len(first_claimed) == 1 and second_claimed == []


def test_a_saturated_engine_claims_only_the_most_overdue_probes_and_leaves_the_rest(traveller):
    component = make_component()
    for seconds in (30, 10, 20):
        make_probe(
            component,
            f"http://127.0.0.1:1/{seconds}",
            name=f"late {seconds} s",
            next_run_at=NOW - timedelta(seconds=seconds),
        )
    claimed = claim_due_checks(NOW, limit=2)
    assert sorted(c.url for c in claimed) == ["http://127.0.0.1:1/20", "http://127.0.0.1:1/30"]
    assert [c.url for c in claim_due_checks(NOW)] == ["http://127.0.0.1:1/10"]

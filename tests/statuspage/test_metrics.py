"""/metrics: each metric's value from seeded rows, read back with prometheus_client's own
parser; the scrape's fixed query count; multiprocess mode across real processes; who may
scrape."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.tasks import async_task
from prometheus_client.parser import text_string_to_metric_families

from incidents.models import Impact, Incident, IncidentStatus
from notifiers.models import Delivery, DeliveryState, ProviderState, TaskQueueBeat
from statuspage.models import Lease
from statuspage.operations.metrics import reset_multiprocess_dir
from statuspage.picture import monitoring
from statuspage.probes.engine import Engine
from tests.clock import NOW
from tests.factories import announce_email, make_component, make_probe, subscribe
from tests.statuspage.servers import Answer

ROOT = Path(__file__).resolve().parents[2]
# Queries one scrape makes, whatever the number of rows: engines, probes, incidents,
# outbox, breakers, task queue (ORM broker: OrmQ; both: django-q2's task table).
SCRAPE_QUERY_BUDGET = 9  # engines: their rows, and the housekeeping lease


def scrape(client, address: str = "127.0.0.1", **headers) -> dict[tuple, float]:
    """Every sample of /metrics as {(name, (label pairs...)): value}."""
    reply = client.get("/metrics", REMOTE_ADDR=address, **headers)
    assert reply.status_code == 200, reply.content
    assert reply["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_engine_liveness_checks_and_slip_come_from_the_engines_rows(client, at_now):
    node = monitoring.record_start(NOW, 4242)
    monitoring.record_beat(node, NOW, checks_completed=120, slip_p99_ms=340.0)
    assert Lease.acquire(Lease.HOUSEKEEPING, node.holder_name, NOW, timedelta(seconds=10))
    engine = f"{node.host}:4242"
    samples = scrape(client)
    assert value(samples, "statuspage_engine_checks_completed_total", engine=engine) == 120
    assert value(samples, "statuspage_engine_schedule_slip_p99_seconds", engine=engine) == 0.34
    assert value(samples, "statuspage_engine_up", engine=engine) == 1
    assert value(samples, "statuspage_engine_last_beat_timestamp_seconds", engine=engine) == (
        NOW.timestamp()
    )
    assert value(samples, "statuspage_engines_alive") == 1
    assert value(samples, "statuspage_housekeeping_leader_up") == 1

    at_now.move_to(NOW + timedelta(seconds=21))  # two 10 s heartbeats missed
    samples = scrape(client)
    assert value(samples, "statuspage_engine_up", engine=engine) == 0
    assert value(samples, "statuspage_engines_alive") == 0
    assert value(samples, "statuspage_housekeeping_leader_up") == 0


@pytest.mark.django_db
def test_probes_unchecked_for_two_intervals_are_counted_unknown(client, at_now):
    component = make_component()
    url = "http://127.0.0.1:1/health"
    late = NOW - timedelta(seconds=11)
    make_probe(component, url, name="checked", last_checked_at=late)
    make_probe(component, url, name="overdue", last_checked_at=late - timedelta(seconds=10))
    make_probe(component, url, name="never", created_at=NOW - timedelta(seconds=21))
    make_probe(component, url, name="new", created_at=NOW - timedelta(seconds=5))
    make_probe(component, url, name="off", next_run_at=late, enabled=False)
    agents = {"regions": ["eu", "us"], "next_run_at": NOW + timedelta(seconds=5)}
    make_probe(
        component, url, name="agents", last_checked_at=late - timedelta(seconds=10), **agents
    )
    make_probe(component, url, name="agents ok", last_checked_at=NOW, **agents)
    samples = scrape(client)
    assert value(samples, "statuspage_probes_enabled") == 6
    assert value(samples, "statuspage_probes_unknown") == 3  # overdue, never, agents


@pytest.mark.django_db
def test_open_incidents_are_counted_by_impact(client, at_now):
    def incident(impact: str, status: str = IncidentStatus.INVESTIGATING, **fields) -> None:
        Incident.objects.create(
            name=impact,
            impact=impact,
            status=status,
            started_at=NOW,
            detected_at=NOW,
            created_at=NOW,
            updated_at=NOW,
            **fields,
        )

    incident(Impact.CRITICAL)
    incident(Impact.CRITICAL, IncidentStatus.MONITORING)
    incident(Impact.MINOR, IncidentStatus.IDENTIFIED)
    incident(Impact.MAJOR, IncidentStatus.RESOLVED)
    incident(Impact.NONE, kind=Incident.Kind.MONITORING)
    samples = scrape(client)
    open_ = "statuspage_incidents_open"
    assert value(samples, open_, kind="incident", impact="critical") == 2
    assert value(samples, open_, kind="incident", impact="minor") == 1
    assert value(samples, open_, kind="incident", impact="major") == 0
    assert value(samples, open_, kind="incident", impact="none") == 0
    assert value(samples, open_, kind="monitoring", impact="none") == 1


def delivery(channel: str, state: str, created: timedelta, due: timedelta, n: int) -> Delivery:
    return Delivery.objects.create(
        channel=channel,
        target=f"{channel}-{n}@example.com",
        state=state,
        created_at=NOW - created,
        next_attempt_at=NOW - due,
    )


@pytest.mark.django_db
def test_deliveries_pending_and_their_age_per_channel(client, at_now):
    minutes = timedelta(minutes=1)
    delivery("email", DeliveryState.PENDING, 9 * minutes, 4 * minutes, 1)  # due 4 min ago
    delivery("email", DeliveryState.PENDING, 2 * minutes, -5 * minutes, 2)  # retry, later
    delivery("email", DeliveryState.SENDING, 1 * minutes, 1 * minutes, 3)
    delivery("email", DeliveryState.SENT, 60 * minutes, 60 * minutes, 4)
    delivery("sms", DeliveryState.PENDING, 3 * minutes, -1 * minutes, 5)  # paced, not due
    samples = scrape(client)
    assert value(samples, "statuspage_deliveries_pending", channel="email") == 2
    assert value(samples, "statuspage_deliveries_sending", channel="email") == 1
    assert value(samples, "statuspage_deliveries_oldest_pending_age_seconds", channel="email") == (
        540
    )
    assert value(samples, "statuspage_deliveries_oldest_due_age_seconds", channel="email") == 240
    assert value(samples, "statuspage_deliveries_pending", channel="sms") == 1
    assert value(samples, "statuspage_deliveries_oldest_pending_age_seconds", channel="sms") == 180
    assert value(samples, "statuspage_deliveries_oldest_due_age_seconds", channel="sms") == 0
    assert value(samples, "statuspage_deliveries_pending", channel="push") == 0, "every channel"


@pytest.mark.django_db
def test_breaker_state_per_provider(client, at_now):
    ProviderState.objects.create(provider="sendgrid", consecutive_failures=0)
    ProviderState.objects.create(
        provider="twilio", consecutive_failures=5, open_until=NOW + timedelta(seconds=30)
    )
    ProviderState.objects.create(
        provider="firebase", consecutive_failures=6, open_until=NOW - timedelta(seconds=1)
    )
    samples = scrape(client)
    state = "statuspage_provider_breaker_state"
    assert value(samples, state, provider="sendgrid") == 0
    assert value(samples, state, provider="twilio") == 2
    assert value(samples, state, provider="firebase") == 1
    assert value(samples, "statuspage_provider_failed_batches", provider="firebase") == 6


def test_the_task_queue_depth_age_and_last_finished_task(client, task_queue, settings):
    broker = "redis" if settings.Q_CLUSTER.get("redis") else "orm"
    with time_machine.travel(NOW, tick=False) as clock:
        async_task("math.floor", 1.5)
        async_task("math.floor", 2.5)
        clock.move_to(NOW + timedelta(seconds=90))
        samples = scrape(client)
        assert value(samples, "statuspage_task_queue_depth", broker=broker) == 2
        assert value(samples, "statuspage_task_queue_oldest_age_seconds", broker=broker) == 90
        assert value(samples, "statuspage_task_last_finished_timestamp_seconds", broker=broker) is (
            None
        )
        assert task_queue() == 2
        samples = scrape(client)
    assert value(samples, "statuspage_task_queue_depth", broker=broker) == 0
    assert value(samples, "statuspage_task_queue_oldest_age_seconds", broker=broker) == 0
    finished = value(samples, "statuspage_task_last_finished_timestamp_seconds", broker=broker)
    assert finished == (NOW + timedelta(seconds=90)).timestamp()


def test_send_latency_is_observed_where_a_batch_goes_to_the_provider(client, task_queue):
    component = make_component()
    subscribe("email", "ana@example.com")
    before = scrape(client)
    announce_email(component)
    task_queue()
    after = scrape(client)
    name = "statuspage_send_batch_duration_seconds_count"
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 1
    assert value(after, name, channel="email") == (value(before, name, channel="email") or 0) + 1


@pytest.mark.django_db(transaction=True)
def test_the_engine_counts_the_checks_it_starts_and_their_slip(client, web):
    web.routes["/health"] = Answer(200, "OK")
    make_probe(make_component(), f"{web.url}/health")
    before = scrape(client)
    engine = Engine(0.05, 10)

    async def run_one_check():
        async def watch():
            for _ in range(1000):
                if engine.completed >= 1 or engine.finished:
                    break
                await asyncio.sleep(0.02)
            engine.stop.set()

        await asyncio.gather(engine.run(), watch())

    asyncio.run(run_one_check())
    after = scrape(client)
    started = "statuspage_engine_checks_started_total"
    assert value(after, started) == value(before, started) + 1
    # The first check of a new probe has no schedule to slip from; a later one would.
    slips = "statuspage_engine_schedule_slip_seconds_count"
    assert value(after, slips) == value(before, slips)


@pytest.mark.django_db
def test_a_scrape_costs_the_same_few_queries_whatever_the_rows(client, at_now):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    few = queries()
    monitoring.record_start(NOW, 1)
    component = make_component()
    for n in range(20):
        make_probe(component, "http://127.0.0.1:1/", name=f"p{n}", next_run_at=NOW)
        delivery("email" if n % 2 else "sms", DeliveryState.PENDING, timedelta(0), timedelta(0), n)
        ProviderState.objects.create(provider=f"provider-{n}")
        Incident.objects.create(
            name=str(n), started_at=NOW, detected_at=NOW, created_at=NOW, updated_at=NOW
        )
    assert queries() == few <= SCRAPE_QUERY_BUDGET


def run_instrumented_process(multiproc_dir: Path, code: str) -> None:
    """A real process of the node (as an engine or a task worker is) counting something."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    subprocess.run(
        [sys.executable, "-c", f"from statuspage import instruments\n{code}"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )


@pytest.mark.django_db
def test_multiprocess_mode_adds_up_every_process_of_the_node(client, tmp_path, monkeypatch):
    multiproc_dir = tmp_path / "prometheus"
    multiproc_dir.mkdir()
    for _ in range(2):
        run_instrumented_process(multiproc_dir, "instruments.count_claims(3, [0.2, 1.5])")
    run_instrumented_process(multiproc_dir, "with instruments.timed_send('sms'):\n    pass")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc_dir))
    samples = scrape(client)
    assert value(samples, "statuspage_engine_checks_started_total") == 6
    assert value(samples, "statuspage_engine_schedule_slip_seconds_count") == 4
    assert value(samples, "statuspage_engine_schedule_slip_seconds_bucket", le="1.0") == 2
    assert value(samples, "statuspage_send_batch_duration_seconds_count", channel="sms") == 1
    assert value(samples, "statuspage_metrics_source_up", source="engines") == 1


def test_the_multiprocess_directory_is_wiped_only_when_no_process_writes_there(tmp_path):
    (tmp_path / "counter_999999999.db").write_bytes(b"")
    (tmp_path / "histogram_999999999.db").write_bytes(b"")
    assert reset_multiprocess_dir(tmp_path) == []
    assert list(tmp_path.iterdir()) == []

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f"counter_{live.pid}.db").write_bytes(b"")
        (tmp_path / "counter_999999999.db").write_bytes(b"")
        assert reset_multiprocess_dir(tmp_path) == [live.pid]
        assert len(list(tmp_path.iterdir())) == 2
    finally:
        live.kill()
        live.wait()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("10.1.2.3", {}, True),
        ("192.168.7.8", {}, True),
        ("203.0.113.5", {}, False),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}, False),
    ],
)
def test_metrics_are_served_to_private_networks_and_never_through_a_proxy(
    client, address, headers, allowed
):
    reply = client.get("/metrics", REMOTE_ADDR=address, **headers)
    assert reply.status_code == (200 if allowed else 403)


@pytest.mark.django_db
def test_the_allowed_networks_come_from_the_setting(client, settings):
    settings.OPERATIONS = {**settings.OPERATIONS, "METRICS_ALLOWED_NETWORKS": ["203.0.113.0/24"]}
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_a_paged_queue_stall_shows_until_the_queue_moves_again(client, at_now, settings):
    broker = "redis" if settings.Q_CLUSTER.get("redis") else "orm"
    name = settings.Q_CLUSTER["name"]
    assert value(scrape(client), "statuspage_task_queue_stalled", broker=broker) == 0
    TaskQueueBeat.raise_alarm(name, NOW)
    assert value(scrape(client), "statuspage_task_queue_stalled", broker=broker) == 1
    TaskQueueBeat.clear_alarm(name)
    assert value(scrape(client), "statuspage_task_queue_stalled", broker=broker) == 0

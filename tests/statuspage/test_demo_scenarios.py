"""The demo's three scenarios end to end, on real parts: the demo service in a thread on
loopback, the engine's own pass, the django-q2 broker, the provider sandbox. Time moves with
time-machine (backlog, silence) or runs on the demo's sped-up clock (replay)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine
from django.core.management import call_command

from incidents.models import Incident
from incidents.response import reach
from notifiers.models import Delivery, DeliveryState
from statuspage import clock
from statuspage.checks.heartbeat import PingKind
from statuspage.demo.replay import Drivers, replay
from statuspage.demo.service import FRESH_DATA_AGE_SECONDS, DemoServer, Uploader
from statuspage.demo.setup import (
    DATA_AGE_OUTAGE_SECONDS,
    FRESHNESS_INTERVAL_SECONDS,
    HEARTBEAT_GRACE_SECONDS,
    HEARTBEAT_INTERVAL_SECONDS,
    HEARTBEAT_NAME,
    UPLOAD_EVERY_SECONDS,
    load_demo,
)
from statuspage.management.commands.demo import ping_status_page
from statuspage.models import CheckResult, Probe
from statuspage.probes.engine import housekeeping, run_due_probes
from statuspage.probes.ping import record_ping
from tests.clock import NOW

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings):
    server = DemoServer(port=0).start()
    settings.DEMO_SERVICE_PORT = server.server_address[1]
    load_demo()
    yield server
    server.stop()


def sent_pushes(app: str):
    return Delivery.objects.filter(
        channel="push", announcement__audience__slug=app, state=DeliveryState.SENT
    )


def next_due_pass(traveller) -> None:
    """What a perfect engine does: the next check exactly when it is due."""
    due = min(Probe.objects.exclude(next_run_at=None).values_list("next_run_at", flat=True))
    if due > clock.now():
        traveller.move_to(due)
    run_due_probes()


def test_backlog_keeps_health_green_and_followers_hear_of_late_data_within_two_intervals(
    demo, sandbox, task_queue
):
    freshness = Probe.objects.get(kind=Probe.Kind.FRESHNESS)
    health = Probe.objects.get(kind=Probe.Kind.HTTP)
    with time_machine.travel(NOW, tick=True) as traveller:
        run_due_probes()
        call_command("demo", "backlog")
        behind = DATA_AGE_OUTAGE_SECONDS - FRESH_DATA_AGE_SECONDS
        late_at = clock.now() + timedelta(seconds=behind)
        give_up = late_at + timedelta(seconds=4 * FRESHNESS_INTERVAL_SECONDS)
        while not sent_pushes("follow-app").exists() and clock.now() < give_up:
            next_due_pass(traveller)
            task_queue()

        assert requests.get(f"{demo.url}/health", timeout=5).status_code == 200
        metrics = requests.get(f"{demo.url}/metrics", timeout=5).json()
        assert metrics["data_age_seconds"] > DATA_AGE_OUTAGE_SECONDS
        assert metrics["queue_depth"] > 0
    assert not CheckResult.objects.filter(probe=health, ok=False).exists()
    incident = Incident.objects.get()
    assert incident.origin_probe == freshness
    push = sent_pushes("follow-app").get()
    assert late_at < push.sent_at <= late_at + timedelta(seconds=2 * FRESHNESS_INTERVAL_SECONDS)


def test_silence_stops_uploads_and_the_heartbeat_opens_no_data_after_its_grace(
    demo, live_server, settings, sandbox, task_queue
):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}
    heartbeat = Probe.objects.get(name=HEARTBEAT_NAME)
    uploader = Uploader(demo.state, ping_status_page, UPLOAD_EVERY_SECONDS)
    every = timedelta(seconds=UPLOAD_EVERY_SECONDS)
    with time_machine.travel(NOW, tick=True) as traveller:
        for _ in range(8):
            assert uploader.upload_once(), "the uploader's ping reaches the status page"
            run_due_probes()
            traveller.shift(every)
        assert not Incident.objects.exists()

        call_command("demo", "silence")
        heartbeat.refresh_from_db()
        silent_for = HEARTBEAT_INTERVAL_SECONDS + HEARTBEAT_GRACE_SECONDS
        deadline = heartbeat.last_ping_at + timedelta(seconds=silent_for)
        while not Incident.objects.exists() and clock.now() < deadline + every:
            assert not uploader.upload_once()
            traveller.shift(timedelta(seconds=2))
            run_due_probes()
        task_queue()

    heartbeat.refresh_from_db()
    assert heartbeat.last_ping_at + timedelta(seconds=silent_for) == deadline, "no ping since"
    incident = Incident.objects.get()
    assert [c.name for c in incident.components.all()] == ["Share upload"]
    assert deadline < incident.started_at <= deadline + timedelta(seconds=5)
    assert sent_pushes("share-app").exists()
    assert sent_pushes("follow-app").exists()


def test_replay_measures_who_heard_what_on_every_channel(demo, sandbox, task_queue):
    heartbeat = Probe.objects.get(name=HEARTBEAT_NAME)

    def engine_pass() -> None:
        run_due_probes()
        housekeeping(clock.now())
        task_queue()

    def ping(body: bytes) -> None:
        record_ping(heartbeat.id, PingKind.SUCCESS, body.decode(), clock.now())

    record = replay(demo, Drivers(engine_pass, ping), speed=60, minutes=20)

    heard = {(row["channel"], row["recipients"]) for row in record["heard"] if row["sent"]}
    assert {("page", "visitors"), ("banner", "app_users"), ("push", "app_users")} <= heard
    assert {("sms", "subscribers"), ("email", "subscribers"), ("webhook", "subscribers")} <= heard
    assert {("sms", "oncall"), ("email", "oncall")} <= heard
    assert {"mastodon", "bluesky", "x", "facebook"} <= {channel for channel, _who in heard}
    assert record["broke_at"].startswith(record["ended_at"][:11])
    assert record["broke_at"][11:16] == "01:00"
    assert record["sandbox"]["fcm/push"] >= 1
    assert record["sandbox"]["twilio/sms"] >= 2  # a subscriber and on-call


def test_the_replay_command_runs_on_a_database_of_its_own_and_keeps_its_record(settings, capfd):
    call_command("demo", "replay", "--speed", "60", "--minutes", "4")
    out = capfd.readouterr().out
    assert "push" in out and "app_users" in out
    assert "first public word about 8 h later" in out
    record = reach.load()
    assert record["heard"], "the record is where the console's page reads it"
    assert (settings.VAR_DIR / "demo-replay.sqlite3").exists()
    assert not Incident.objects.exists(), "the test's own database is left alone"

"""A subscriber's backup contact: used when the first channel fails permanently, or when
its provider has been down (breaker open) past BACKUP_AFTER_BREAKER_OPEN_MINUTES; sent
once per (update, contact), and shown in the admin with the reason."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import pytest
import requests
import time_machine
from django.conf import settings as project_settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from notifiers.delivery import backups, dispatch
from notifiers.models import (
    Announcement,
    BackupReason,
    Delivery,
    DeliveryState,
    ProviderState,
    Recipients,
)
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe
from tests.taskqueue.processes import Child, child_env

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+14155550101"
EMAIL = "parent@example.org"


@pytest.fixture
def backup_after_five_minutes(settings, monkeypatch):
    """One failed batch opens the breaker; its backup is due five minutes later."""
    monkeypatch.setattr(ProviderState, "BREAKER_THRESHOLD", 1)
    settings.NOTIFIERS = {**settings.NOTIFIERS, "BACKUP_AFTER_BREAKER_OPEN_MINUTES": 5}


@pytest.fixture
def texter_with_email_backup(component) -> Subscriber:
    """An SMS subscriber whose confirmed backup is an email following nothing itself."""
    email = subscribe("email", EMAIL)
    Subscriber.objects.filter(id=email.id).update(all_components=False)
    return subscribe("sms", PHONE, fallback=email)


def fault(sandbox, **profile) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", json=profile, timeout=5).raise_for_status()


def inbox(sandbox) -> list[dict]:
    return sandbox.recorder.list(provider="sendgrid", target=EMAIL)


def texts(sandbox) -> list[dict]:
    return [r for r in sandbox.recorder.list(provider="twilio", target=PHONE) if r["kind"] == "sms"]


def announce_sms_during_outage(component, sandbox, task_queue) -> Announcement:
    fault(sandbox, provider="twilio", outage=True, error_status=503)
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        announcement = dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    return announcement


def run_engine_until(end: datetime, task_queue, step=timedelta(seconds=60)) -> None:
    """The engine's housekeeping (retries, then the backup sweep) once a minute until `end`."""
    moment = NOW
    while moment < end:
        moment = min(moment + step, end)
        with time_machine.travel(moment, tick=True):
            dispatch.retry_due(moment)
            task_queue()
            backups.send_backups_due(moment)
            task_queue()


def test_the_sweep_is_engine_housekeeping_and_waits_ten_minutes_by_default():
    assert "notifiers.delivery.backups.send_backups_due" in project_settings.ENGINE["HOUSEKEEPING"]
    assert project_settings.NOTIFIERS["BACKUP_AFTER_BREAKER_OPEN_MINUTES"] == 10


def test_provider_down_past_the_threshold_sends_the_update_on_the_backup_once(
    component, sandbox, task_queue, backup_after_five_minutes, texter_with_email_backup
):
    announcement = announce_sms_during_outage(component, sandbox, task_queue)
    assert ProviderState.objects.get(provider="twilio").opened_at is not None

    run_engine_until(NOW + timedelta(minutes=6), task_queue)
    [mail] = inbox(sandbox)
    assert "Follow app alerts" in mail["payload"]["subject"]
    backup = Delivery.objects.get(subscriber__address=EMAIL)
    assert backup.state == DeliveryState.SENT
    assert backup.backup_reason == BackupReason.PROVIDER_DOWN
    assert backup.announcement.recipients == Recipients.FALLBACK
    assert backup.announcement.update_id == announcement.update_id

    later = NOW + timedelta(minutes=8)
    with time_machine.travel(later, tick=True):
        assert backups.send_backups_due(later) == 0
        assert backups.send_backups_due(later) == 0
        task_queue()
    assert len(inbox(sandbox)) == 1
    assert Delivery.objects.filter(subscriber__address=EMAIL).count() == 1


def test_the_stuck_first_delivery_is_still_sent_when_the_provider_recovers(
    component, sandbox, task_queue, backup_after_five_minutes, texter_with_email_backup
):
    announce_sms_during_outage(component, sandbox, task_queue)
    run_engine_until(NOW + timedelta(minutes=6), task_queue)
    first = Delivery.objects.get(subscriber=texter_with_email_backup)
    assert first.state == DeliveryState.PENDING and texts(sandbox) == []

    sandbox.faults.clear("twilio")
    run_engine_until(NOW + timedelta(minutes=12), task_queue)
    first.refresh_from_db()
    assert first.state == DeliveryState.SENT
    assert len(texts(sandbox)) == 1 and len(inbox(sandbox)) == 1
    assert ProviderState.objects.get(provider="twilio").opened_at is None


def test_breaker_open_for_less_than_the_threshold_sends_no_backup(
    component, sandbox, task_queue, backup_after_five_minutes, texter_with_email_backup
):
    announce_sms_during_outage(component, sandbox, task_queue)
    run_engine_until(NOW + timedelta(minutes=4), task_queue)
    assert inbox(sandbox) == []
    assert not Delivery.objects.filter(subscriber__address=EMAIL).exists()


def test_no_backup_for_a_subscriber_whose_backup_is_not_confirmed(
    component, sandbox, task_queue, backup_after_five_minutes, texter_with_email_backup
):
    Subscriber.objects.filter(address=EMAIL).update(confirmed_at=None)
    announce_sms_during_outage(component, sandbox, task_queue)
    run_engine_until(NOW + timedelta(minutes=6), task_queue)
    assert inbox(sandbox) == []


def test_while_every_provider_is_healthy_the_sweep_is_one_query(django_assert_num_queries):
    ProviderState.objects.create(provider="twilio")
    with django_assert_num_queries(1):
        assert backups.send_backups_due(NOW) == 0


def test_a_breaker_last_open_long_ago_is_not_down():
    """No traffic since an old outage: the next batch is tried before anyone is
    reached on a backup."""
    ProviderState.objects.create(
        provider="twilio", opened_at=NOW - timedelta(hours=3), open_until=NOW - timedelta(hours=2)
    )
    assert ProviderState.down_since(NOW - timedelta(minutes=10), NOW) == []
    ProviderState.objects.filter(provider="twilio").update(open_until=NOW + timedelta(seconds=30))
    assert ProviderState.down_since(NOW - timedelta(minutes=10), NOW) == ["twilio"]


def test_the_breaker_keeps_when_it_first_opened_until_a_batch_goes_through(monkeypatch):
    monkeypatch.setattr(ProviderState, "BREAKER_THRESHOLD", 1)
    ProviderState.record_batch("twilio", all_failed_transiently=True, now=NOW)
    ProviderState.record_batch(
        "twilio", all_failed_transiently=True, now=NOW + timedelta(minutes=2)
    )
    state = ProviderState.objects.get(provider="twilio")
    assert state.opened_at == NOW
    assert state.open_until == NOW + timedelta(minutes=2) + ProviderState.BREAKER_COOLDOWN
    ProviderState.record_batch("twilio", all_failed_transiently=False, now=NOW)
    assert ProviderState.objects.get(provider="twilio").opened_at is None


def test_two_writers_of_one_backup_write_one_row(component, texter_with_email_backup):
    """Two engines that both read the stuck row before either wrote: the outbox's unique
    key lets one write the backup delivery; the other writes nothing and queues nothing."""
    update = add_update(make_incident(component), "opened")
    email = Subscriber.objects.get(address=EMAIL)
    first = dispatch.write_backup_delivery(update.id, email, BackupReason.PROVIDER_DOWN, NOW)
    second = dispatch.write_backup_delivery(update.id, email, BackupReason.PROVIDER_DOWN, NOW)
    assert first is not None and second is None
    assert Delivery.objects.filter(subscriber=email).count() == 1


def test_the_database_refuses_a_second_announcement_of_an_update_to_everyone(component):
    """NULL audiences are distinct in a unique index: two backup sweeps that both found no
    fallback announcement would each create one, and each write the same subscriber's
    delivery under its own, unless this second key refuses the second announcement."""
    update = add_update(make_incident(component), "opened")
    fields = {"update": update, "channel": "email", "recipients": Recipients.FALLBACK}
    Announcement.objects.create(**fields, created_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Announcement.objects.create(**fields, created_at=NOW)


SWEEP_WHEN_TOLD = """
import socket
from notifiers.delivery.backups import send_backups_due
from statuspage import clock
go = socket.socket(socket.AF_UNIX)
go.connect({go!r})
go.settimeout(60)
print("ready", flush=True)
go.recv(1)
print("wrote", send_backups_due(clock.now()))
"""


def test_two_engine_processes_sweeping_at_once_write_one_backup(
    component, task_queue, tmp_path, texter_with_email_backup
):
    """Two processes (their own clocks: the real time) run the sweep together against one
    pending text whose provider has been down for a day."""
    update = add_update(make_incident(component), "opened")
    announcement = Announcement.objects.create(
        update=update, channel="sms", recipients=Recipients.SUBSCRIBERS, created_at=NOW
    )
    Delivery.objects.create(
        announcement=announcement,
        channel="sms",
        target=PHONE,
        subscriber=texter_with_email_backup,
        next_attempt_at=NOW + timedelta(days=365),
        created_at=NOW,
    )
    ProviderState.objects.create(
        provider="twilio",
        consecutive_failures=5,
        opened_at=NOW - timedelta(days=1),
        open_until=NOW + timedelta(days=365),
    )
    go = socket.socket(socket.AF_UNIX)
    go.bind(str(tmp_path / "go"))
    go.listen(2)
    go.settimeout(60)
    env = child_env(tmp_path)
    script = SWEEP_WHEN_TOLD.format(go=str(tmp_path / "go"))
    engines = [
        Child.manage("shell", "-c", script, env=env, log=tmp_path / f"engine{n}.log")
        for n in range(2)
    ]
    try:
        for engine in engines:
            engine.wait_for(r"ready", timeout=60)
        told = [go.accept()[0] for _ in engines]
        for connection in told:
            connection.sendall(b"g")
        written = [int(e.wait_for(r"wrote (\d+)", timeout=60)[0].group(1)) for e in engines]
    finally:
        for engine in engines:
            engine.stop()
        go.close()
    assert sorted(written) == [0, 1]
    [backup] = Delivery.objects.filter(subscriber__address=EMAIL)
    assert backup.backup_reason == BackupReason.PROVIDER_DOWN


def test_permanent_failure_still_falls_back_and_says_why(component, sandbox, task_queue):
    email = subscribe("email", EMAIL)
    Subscriber.objects.filter(id=email.id).update(all_components=False)
    subscribe("sms", "+15005550004", fallback=email)  # the sandbox's blocked number
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    [mail] = inbox(sandbox)
    backup = Delivery.objects.get(subscriber=email)
    assert (backup.state, backup.backup_reason) == (DeliveryState.SENT, BackupReason.FIRST_FAILED)


def test_staff_see_backup_deliveries_and_why_in_the_admin(
    client, component, texter_with_email_backup, django_assert_max_num_queries
):
    update = add_update(make_incident(component), "opened")
    email = Subscriber.objects.get(address=EMAIL)
    dispatch.write_backup_delivery(update.id, email, BackupReason.PROVIDER_DOWN, NOW)
    client.force_login(User.objects.create_superuser("root", password="pw-for-tests-only"))
    with django_assert_max_num_queries(12):
        page = client.get("/admin/notifiers/delivery/", {"backup_reason": "provider_down"})
    text = page.content.decode()
    assert "Sent on backup: the first channel&#x27;s provider was down" in text
    assert EMAIL in text

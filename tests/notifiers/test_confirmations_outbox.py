"""Confirmations (the email opt-in link, the SMS code, the webhook verification ping) go
through the outbox: the subscribe request only records a pending Delivery and queues its
send; the task claims it before calling the provider; transient errors are retried with
backoff by the engine's sweep, permanent ones are final and visible on the row."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
import time_machine

from notifiers.delivery import confirmations, dispatch
from notifiers.models import SENDING_LEASE, Delivery, DeliveryState
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.tasks import purge_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clock():
    """Time starts at NOW and runs; tests move it forward. (The ORM broker hands out a task
    only once the clock has moved past its enqueueing, so time never stands still here.)"""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def sweep(clock, at):
    """The engine's housekeeping, as it runs at ``at``."""
    clock.move_to(at)
    dispatch.retry_due(at)
    return confirmations.retry_due(at)


def fail_next(sandbox, provider, status=503):
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"provider": provider, "fail_next": 1, "error_status": status},
        timeout=5,
    )


def test_subscribing_records_a_pending_confirmation_and_calls_no_provider(
    client, sandbox, task_queue, clock
):
    response = client.post("/subscribe/", {"channel": "email", "email": "parent@example.org"})
    assert response.status_code == 200
    [row] = Delivery.objects.all()
    assert (row.announcement, row.channel, row.target, row.state, row.attempts) == (
        None,
        "email",
        "parent@example.org",
        DeliveryState.PENDING,
        0,
    )
    assert row.subscriber == Subscriber.objects.get() and row.context["components"] == []
    assert sandbox.recorder.list() == []

    task_queue()
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.SENT, 1)
    assert row.provider_message_id and row.sent_at
    [mail] = sandbox.recorder.list(provider="sendgrid", target="parent@example.org")
    assert mail["payload"]["custom_args"] == {"delivery_id": str(row.id)}


def test_a_confirmation_text_that_fails_transiently_is_retried_with_backoff(
    client, sandbox, task_queue, clock
):
    fail_next(sandbox, "twilio")
    page = client.post("/subscribe/", {"channel": "sms", "phone": "415-555-0123"})
    task_queue()
    row = Delivery.objects.get()
    assert (row.state, row.attempts, row.permanent_error) == (DeliveryState.PENDING, 1, False)
    assert "503" in row.last_error
    assert NOW + timedelta(seconds=7) <= row.next_attempt_at <= NOW + timedelta(seconds=16)
    assert sandbox.recorder.list(provider="twilio") == []

    assert sweep(clock, NOW + timedelta(seconds=5)) == 0  # not due yet
    assert sweep(clock, NOW + timedelta(seconds=16)) == 1
    assert sweep(clock, NOW + timedelta(seconds=17)) == 0  # queued once, not once per sweep
    task_queue()
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.SENT, 2)

    [text] = sandbox.recorder.list(provider="twilio", target="+14155550123")
    code = re.search(r"\b(\d{6})\b", text["payload"]["Body"]).group(1)
    client.post(page["Location"], {"code": code})
    assert Subscriber.objects.get().is_active


def test_a_permanent_error_is_final_and_visible_on_the_delivery(client, sandbox, task_queue, clock):
    client.post("/subscribe/", {"channel": "sms", "phone": "+1 500 555 0001"})
    task_queue()
    row = Delivery.objects.get()
    assert (row.state, row.permanent_error, row.attempts) == (DeliveryState.FAILED, True, 1)
    assert "21211" in row.last_error
    assert sweep(clock, NOW + timedelta(days=1)) == 0
    assert task_queue() == 0


def test_a_webhook_ping_is_retried_after_a_5xx_and_confirms_once_answered(
    client, sandbox, task_queue, clock
):
    fail_next(sandbox, "webhook", 502)
    client.post("/subscribe/", {"channel": "webhook", "url": f"{sandbox.url}/_sandbox/hooks/ops"})
    task_queue()
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is None
    assert Delivery.objects.get().state == DeliveryState.PENDING
    sweep(clock, NOW + timedelta(minutes=1))
    task_queue()
    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_a_webhook_that_does_not_echo_the_challenge_fails_for_good(
    client, sandbox, task_queue, clock
):
    client.post(
        "/subscribe/",
        {
            "channel": "webhook",
            "url": f"{sandbox.url}/_sandbox/hooks/mute-ops",
            "webhook_format": "statuspage",
        },
    )
    task_queue()
    [ping] = sandbox.recorder.list(provider="webhook", target="mute-ops")
    assert ping["payload"]["body"]["challenge"]
    row = Delivery.objects.get()
    assert (row.state, row.permanent_error) == (DeliveryState.FAILED, True)
    assert row.last_error == "HTTP 200 without the challenge echoed"
    assert Subscriber.objects.get().confirmed_at is None
    assert sweep(clock, NOW + timedelta(hours=1)) == 0


def test_a_confirmation_whose_task_was_lost_is_sent_by_the_sweep_after_the_lease(
    client, sandbox, task_queue, clock
):
    client.post("/subscribe/", {"channel": "email", "email": "parent@example.org"})
    purge_queued_tasks()  # the broker lost it (Redis is at-most-once)
    assert sweep(clock, NOW + timedelta(seconds=30)) == 0  # the queued task still has its lease
    assert sweep(clock, NOW + timedelta(minutes=3)) == 1
    task_queue()
    assert Delivery.objects.get().state == DeliveryState.SENT
    assert len(sandbox.recorder.list(provider="sendgrid")) == 1


def test_a_confirmation_left_sending_by_a_killed_worker_is_sent_again(
    client, sandbox, task_queue, clock
):
    client.post("/subscribe/", {"channel": "email", "email": "parent@example.org"})
    purge_queued_tasks()
    [claimed] = Delivery.objects.claim([Delivery.objects.get().id], NOW)  # then the worker dies
    assert claimed.state == DeliveryState.SENDING
    assert sweep(clock, NOW + SENDING_LEASE + timedelta(seconds=1)) == 1
    task_queue()
    row = Delivery.objects.get()
    assert (row.state, row.attempts) == (DeliveryState.SENT, 2)


def test_the_subscribe_request_itself_never_reaches_a_provider(client, sandbox):
    """Even with every provider down, subscribing answers at once: nothing is sent in it."""
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"provider": "*", "outage": True}, timeout=5
    )
    for data in (
        {"channel": "email", "email": "a@example.org"},
        {"channel": "sms", "phone": "415-555-0199"},
        {"channel": "webhook", "url": f"{sandbox.url}/_sandbox/hooks/x"},
    ):
        assert client.post("/subscribe/", data).status_code in (200, 302)
    assert sandbox.faults.snapshot()["stats"] == {}
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3


def test_a_confirmation_email_is_from_the_configured_sender_name(
    client, sandbox, task_queue, clock, settings
):
    settings.SENDGRID = {**settings.SENDGRID, "FROM_NAME": "Acme Status Team"}
    client.post("/subscribe/", {"channel": "email", "email": "parent@example.org"})
    task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target="parent@example.org")
    assert mail["payload"]["from"] == {
        "email": settings.SENDGRID["FROM_EMAIL"],
        "name": "Acme Status Team",
    }

"""The delivery outbox through the real firebase-admin SDK and the sandbox."""

from datetime import timedelta

import pytest
import time_machine

from incidents.response import workflow
from notifiers.delivery import dispatch
from notifiers.models import Announcement, Delivery, DeliveryState
from notifiers.sandbox.faults import FaultProfile
from statuspage.models import ProbeState, Verdict
from tests.clock import NOW
from tests.factories import make_component, make_probe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def announcement(task_queue):
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.save()
    with time_machine.travel(NOW, tick=False):
        workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    return Announcement.objects.get(channel="push", recipients="app_users")


def test_fan_out_writes_one_delivery_per_target_and_is_idempotent(announcement):
    assert dispatch.fan_out(announcement.id) == 1
    assert dispatch.fan_out(announcement.id) == 0
    [delivery] = Delivery.objects.all()
    assert delivery.target == "follow-app-status"
    assert delivery.state == DeliveryState.PENDING


def test_send_records_the_provider_message_id(announcement, sandbox):
    dispatch.fan_out(announcement.id)
    assert dispatch.send_due(announcement.id) == 1
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SENT
    assert delivery.attempts == 1
    assert len(sandbox.recorder.list(provider="fcm")) == 1
    assert delivery.provider_message_id.startswith("projects/statuspage-sandbox/messages/")


def test_a_rate_limited_send_is_kept_and_retried_after_retry_after(announcement, sandbox):
    with time_machine.travel(NOW, tick=False):
        sandbox.faults.set("fcm", FaultProfile(error_status=429, fail_next=1))
        dispatch.fan_out(announcement.id)
        assert dispatch.send_due(announcement.id) == 0
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    assert "QuotaExceeded" in delivery.last_error
    assert delivery.next_attempt_at > NOW
    assert sandbox.recorder.list(provider="fcm") == []

    with time_machine.travel(delivery.next_attempt_at, tick=False):
        assert dispatch.send_due(announcement.id) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
    assert delivery.attempts == 2
    assert len(sandbox.recorder.list(provider="fcm", target="/topics/follow-app-status")) == 1


@pytest.mark.parametrize(
    "break_it",
    [
        lambda sandbox: sandbox.faults.set("fcm", FaultProfile(error_status=400, fail_next=1)),
        lambda sandbox: Delivery.objects.update(target="bad topic!"),
    ],
    ids=["provider-says-invalid-argument", "malformed-topic"],
)
def test_a_permanent_error_is_final_and_never_retried(announcement, sandbox, break_it):
    with time_machine.travel(NOW, tick=False):
        dispatch.fan_out(announcement.id)
        break_it(sandbox)
        dispatch.send_due(announcement.id)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 1
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert dispatch.send_due(announcement.id) == 0
        assert dispatch.retry_due(NOW + timedelta(days=1)) == 0
    assert Delivery.objects.get().attempts == 1


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(announcement):
    dispatch.fan_out(announcement.id)
    delivery = Delivery.objects.get()
    assert [d.id for d in Delivery.objects.claim([delivery.id], NOW)] == [delivery.id]
    assert Delivery.objects.claim([delivery.id], NOW) == []


def test_a_delivery_lost_with_a_crashed_worker_is_sent_again(announcement, sandbox, task_queue):
    dispatch.fan_out(announcement.id)
    delivery = announcement.deliveries.get()
    Delivery.objects.claim([delivery.id], NOW)
    task_queue()  # (on Redis this also sends the components' topic, queued with the app's)
    assert Delivery.objects.get(id=delivery.id).state == DeliveryState.SENDING

    later = NOW + timedelta(minutes=6)
    with time_machine.travel(later, tick=True):
        assert dispatch.retry_due(later) == 1
        task_queue()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
    assert delivery.attempts == 2
    assert len(sandbox.recorder.list(provider="fcm", target="/topics/follow-app-status")) == 1


def test_the_retry_sweep_queues_one_send_per_announcement(announcement, sandbox):
    with time_machine.travel(NOW, tick=False):
        sandbox.faults.set("fcm", FaultProfile(error_status=429, fail_next=1))
        dispatch.fan_out(announcement.id)
        dispatch.send_due(announcement.id)
    due = Delivery.objects.get().next_attempt_at
    assert dispatch.retry_due(due) == 1
    assert dispatch.retry_due(due) == 0, "a send is already queued for this announcement"

"""SMS (twilio) and email (sendgrid) through the real SDKs against the sandbox, and the
outbox rules around them: retries, Retry-After, permanent errors, fallback, coalescing,
pacing and the circuit breaker."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine

from notifiers.delivery import dispatch
from notifiers.models import (
    SENDING_LEASE,
    Announcement,
    Delivery,
    DeliveryState,
    ProviderState,
    Recipients,
)
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import add_update, make_component, make_incident, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def fault(sandbox, **profile):
    requests.post(f"{sandbox.url}/_sandbox/faults", json=profile, timeout=5).raise_for_status()


def texts(sandbox, phone=None):
    return [r for r in sandbox.recorder.list(provider="twilio", target=phone) if r["kind"] == "sms"]


def test_sms_reaches_confirmed_unsuppressed_followers_only_with_validity_and_status_callback(
    component, sandbox, task_queue
):
    other = make_component("Share upload", audience_slug=None)
    follower = subscribe("sms", "+14155550101", [component])
    everything = subscribe("sms", "+14155550102")
    subscribe("sms", "+14155550103", confirmed=False)
    subscribe("sms", "+14155550104", suppressed_at=NOW, suppression="stop")
    subscribe("sms", "+14155550105", [other])
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()

    received = {r["target"]: r["payload"] for r in texts(sandbox)}
    assert set(received) == {follower.address, everything.address}
    sent = received[follower.address]
    assert sent["ValidityPeriod"] == "900"
    assert sent["MessagingServiceSid"].startswith("MG")
    assert "Follow app alerts" in sent["Body"] and "Check glucose with a meter." in sent["Body"]
    assert "/incidents/" in sent["Body"]
    delivery = Delivery.objects.get(subscriber=follower)
    assert parse_qs(urlsplit(sent["StatusCallback"]).query) == {"delivery": [str(delivery.id)]}
    assert delivery.state == DeliveryState.SENT
    assert delivery.provider_message_id.startswith("SM")
    assert delivery.segments == 2  # the opening text is longer than one GSM-7 segment


def test_sms_skips_holding_updates_by_default(component, sandbox, task_queue):
    subscribe("sms", "+14155550101")
    update = add_update(make_incident(component), "update")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    assert texts(sandbox) == []
    assert Delivery.objects.count() == 0


def test_sms_is_paced_to_the_sender_throughput_and_reports_an_eta(component, settings, task_queue):
    settings.TWILIO = {**settings.TWILIO, "SMS_PER_SECOND": 1.0}
    for n in range(5):
        subscribe("sms", f"+1415555020{n}")
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        announcement = dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
        progress = announcement.progress()
    assert progress["counts"]["sent"] == 1
    assert progress["counts"]["pending"] == 4
    first = Delivery.objects.order_by("next_attempt_at").first().next_attempt_at
    assert progress["eta"] == first + timedelta(seconds=4)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=True):
        dispatch.retry_due(NOW + timedelta(seconds=5))
        task_queue()
    assert announcement.progress()["counts"]["sent"] == 5


def test_email_goes_in_one_request_with_own_unsubscribe_links_and_delivery_ids(
    component, sandbox, task_queue
):
    people = [subscribe("email", f"person{n}@example.org") for n in range(3)]
    update = add_update(make_incident(component), "opened", body="Alerts are delayed.")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()

    assert sandbox.faults.snapshot()["stats"]["sendgrid"]["requests"] == 1
    inbox = {r["target"]: r["payload"] for r in sandbox.recorder.list(provider="sendgrid")}
    assert set(inbox) == {p.address for p in people}
    links = set()
    for person in people:
        mail = inbox[person.address]
        delivery = Delivery.objects.get(subscriber=person)
        assert mail["custom_args"]["delivery_id"] == str(delivery.id)
        assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = mail["headers"]["List-Unsubscribe"].strip("<>")
        assert link in mail["text"] and link in mail["html"]
        links.add(link)
        assert "Alerts are delayed." in mail["text"] and "-unsubscribe_url-" not in mail["html"]
        assert mail["subject"] == "Service problem: Follow app alerts"
        assert delivery.state == DeliveryState.SENT and delivery.provider_message_id
    assert len(links) == 3


def test_email_sends_at_most_1000_recipients_per_request(component, sandbox, task_queue):
    Subscriber.objects.bulk_create(
        Subscriber(
            channel="email",
            address=f"p{n}@example.org",
            confirmed_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
        for n in range(1001)
    )
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    assert sandbox.faults.snapshot()["stats"]["sendgrid"]["requests"] == 2
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 1001


def test_email_5xx_is_retried_with_backoff_then_sent(component, sandbox, task_queue):
    person = subscribe("email", "person@example.org")
    fault(sandbox, provider="sendgrid", fail_next=1, error_status=503)
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    delivery = Delivery.objects.get(subscriber=person)
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert "503" in delivery.last_error
    assert NOW + timedelta(seconds=7) <= delivery.next_attempt_at <= NOW + timedelta(seconds=16)
    later = delivery.next_attempt_at
    with time_machine.travel(later, tick=True):
        dispatch.retry_due(later)
        task_queue()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 2
    assert len(sandbox.recorder.list(provider="sendgrid")) == 1


def test_sms_429_waits_for_retry_after(component, sandbox, task_queue):
    phone = subscribe("sms", "+14155550101")
    fault(sandbox, provider="twilio", fail_next=1, error_status=429, retry_after=120)
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    delivery = Delivery.objects.get(subscriber=phone)
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at >= NOW + timedelta(seconds=120)
    with time_machine.travel(NOW + timedelta(seconds=60), tick=True):
        dispatch.retry_due(NOW + timedelta(seconds=60))
        task_queue()
    assert texts(sandbox) == []
    with time_machine.travel(delivery.next_attempt_at, tick=True):
        dispatch.retry_due(delivery.next_attempt_at)
        task_queue()
    assert len(texts(sandbox)) == 1


def test_invalid_number_fails_permanently_is_suppressed_and_never_retried(
    component, sandbox, task_queue
):
    bad = subscribe("sms", "+15005550001")
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    delivery = Delivery.objects.get(subscriber=bad)
    assert delivery.state == DeliveryState.FAILED and delivery.permanent_error
    assert "21211" in delivery.last_error
    bad.refresh_from_db()
    assert bad.suppression == "invalid" and not bad.is_active
    later = NOW + timedelta(hours=1)
    with time_machine.travel(later, tick=True):
        assert dispatch.retry_due(later) == 0
    assert Delivery.objects.get(id=delivery.id).attempts == 1


def test_permanently_failing_sms_falls_back_to_the_subscribers_email(
    component, sandbox, task_queue
):
    email = subscribe("email", "parent@example.org", confirmed=True)
    phone = subscribe("sms", "+15005550004", fallback=email)
    update = add_update(make_incident(component), "opened")
    Subscriber.objects.filter(id=email.id).update(all_components=False)  # not an email follower
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    assert Delivery.objects.get(subscriber=phone).state == DeliveryState.FAILED
    [mail] = sandbox.recorder.list(provider="sendgrid")
    assert mail["target"] == "parent@example.org"
    fallback = Delivery.objects.get(subscriber=email)
    assert fallback.state == DeliveryState.SENT
    assert fallback.announcement.recipients == Recipients.FALLBACK


def test_newer_update_supersedes_unsent_older_texts_after_a_backlog(component, sandbox, task_queue):
    phones = [subscribe("sms", f"+1415555030{n}") for n in range(3)]
    incident = make_incident(component)
    fault(sandbox, provider="twilio", outage=True, error_status=503)
    opened = add_update(incident, "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(opened, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    assert Delivery.objects.filter(state=DeliveryState.PENDING).count() == 3

    later = NOW + timedelta(minutes=20)
    resolved = add_update(incident, "resolved", now=later, body="Fixed.")
    sandbox.faults.clear("twilio")
    with time_machine.travel(later, tick=True):
        dispatch.announce(resolved, "sms", Recipients.SUBSCRIBERS, None, later)
        task_queue()
        dispatch.retry_due(later + timedelta(hours=1))
        task_queue()
    for phone in phones:
        [text] = texts(sandbox, phone.address)
        assert "resolved" in text["payload"]["Body"].lower()
    old = Delivery.objects.filter(announcement__update=opened)
    assert set(old.values_list("state", flat=True)) == {DeliveryState.SUPERSEDED}


def test_open_circuit_postpones_sends_without_spending_attempts(
    component, sandbox, task_queue, monkeypatch
):
    monkeypatch.setattr(ProviderState, "BREAKER_THRESHOLD", 1)
    person = subscribe("email", "person@example.org")
    fault(sandbox, provider="sendgrid", outage=True, error_status=503)
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    state = ProviderState.objects.get(provider="sendgrid")
    cooldown_end = NOW + ProviderState.BREAKER_COOLDOWN
    assert cooldown_end <= state.open_until <= cooldown_end + timedelta(seconds=10)
    delivery = Delivery.objects.get(subscriber=person)
    retry_at = delivery.next_attempt_at
    with time_machine.travel(retry_at, tick=True):
        dispatch.retry_due(retry_at)
        task_queue()
    delivery.refresh_from_db()
    assert delivery.attempts == 1, "no provider call while the breaker is open"
    assert delivery.next_attempt_at == state.open_until
    assert sandbox.faults.snapshot()["stats"]["sendgrid"]["requests"] == 1


def test_fan_out_rerun_after_a_crash_writes_each_subscriber_once(component, task_queue):
    for n in range(5):
        subscribe("email", f"p{n}@example.org")
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        announcement = dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        assert dispatch.fan_out(announcement.id) == 5
        # As if the worker died after writing its chunks but before marking the fan-out done.
        Announcement.objects.filter(id=announcement.id).update(fanned_out_at=None, fan_out_cursor=0)
        assert dispatch.fan_out(announcement.id) == 5
    assert Delivery.objects.count() == 5


def test_fan_out_continues_in_slices_from_its_cursor(component, sandbox, task_queue, monkeypatch):
    monkeypatch.setattr(dispatch, "FAN_OUT_CHUNK", 2)
    monkeypatch.setattr(dispatch, "FAN_OUT_SLICE_SECONDS", 0.0)
    people = [subscribe("email", f"p{n}@example.org") for n in range(5)]
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        announcement = dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    announcement.refresh_from_db()
    assert announcement.fanned_out_at is not None
    assert announcement.fan_out_cursor == people[-1].id
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 5
    assert len(sandbox.recorder.list(provider="sendgrid")) == 5


def test_a_worker_killed_mid_batch_loses_nothing_and_resends_only_that_batch(
    component, sandbox, task_queue
):
    """What a SIGKILLed worker leaves: rows claimed (state sending) and never recorded."""
    for n in range(3):
        subscribe("email", f"p{n}@example.org")
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        announcement = dispatch.announce(update, "email", Recipients.SUBSCRIBERS, None, NOW)
        dispatch.fan_out(announcement.id)
        task_queue()  # the queued send task: sends all three
    Delivery.objects.update(state=DeliveryState.PENDING, sent_at=None)
    with time_machine.travel(NOW + timedelta(seconds=1), tick=True):
        in_flight = Delivery.objects.claim_due(NOW + timedelta(seconds=1), 2)
    assert len(in_flight) == 2
    sandbox.recorder.clear()
    lease_over = NOW + SENDING_LEASE + timedelta(seconds=2)
    with time_machine.travel(lease_over, tick=True):
        dispatch.retry_due(lease_over)
        task_queue()
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert len(sandbox.recorder.list(provider="sendgrid")) == 3


def test_push_to_subscribed_devices_by_fid_deactivates_unregistered_ones(
    component, sandbox, task_queue
):
    phone = subscribe("push", "fid-live")
    gone = subscribe("push", "unregistered-fid")
    incident = make_incident(component)
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(add_update(incident, "opened"), "push", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    [push] = sandbox.recorder.list(provider="fcm")
    message = push["payload"]["message"]
    assert message["fid"] == "fid-live"
    assert (
        message["android"]["priority"] == "high"
        and message["apns"]["headers"]["apns-priority"] == "10"
    )
    assert Delivery.objects.get(subscriber=phone).state == DeliveryState.SENT
    failed = Delivery.objects.get(subscriber=gone)
    assert failed.state == DeliveryState.FAILED and failed.permanent_error
    gone.refresh_from_db()
    assert gone.suppression == "unregistered"
    later = NOW + timedelta(minutes=30)
    with time_machine.travel(later, tick=True):
        dispatch.announce(
            add_update(incident, "resolved", now=later), "push", Recipients.SUBSCRIBERS, None, later
        )
        task_queue()
    resolved = sandbox.recorder.list(provider="fcm")[-1]["payload"]["message"]
    assert (
        resolved["android"]["priority"] == "normal"
        and resolved["apns"]["headers"]["apns-priority"] == "5"
    )
    assert Delivery.objects.filter(subscriber=gone).count() == 1, (
        "a deactivated device is not tried again"
    )

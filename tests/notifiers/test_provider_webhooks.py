"""Provider webhooks, called by the sandbox the way the providers call them, signed as they
sign: Twilio inbound STOP/START/HELP and status callbacks, SendGrid's Event Webhook."""

from __future__ import annotations

import json
import time

import pytest
import requests
import time_machine

from notifiers.delivery import dispatch
from notifiers.models import Delivery, Recipients
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

OUR_NUMBER = "+14155550000"


@pytest.fixture
def site(live_server, settings):
    """The site served for real, so the sandbox can call back its public URL."""
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}
    return live_server.url


def text_us(sandbox, site, phone: str, body: str, signature: str = "good") -> dict:
    response = requests.post(
        f"{sandbox.url}/_sandbox/twilio/inbound",
        json={
            "url": f"{site}/hooks/twilio/inbound",
            "from": phone,
            "to": OUR_NUMBER,
            "body": body,
            "signature": signature,
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def send_events(sandbox, site, events: list[dict], signature: str = "good") -> dict:
    response = requests.post(
        f"{sandbox.url}/_sandbox/sendgrid/events",
        json={"url": f"{site}/hooks/sendgrid/events", "events": events, "signature": signature},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_signed_stop_suppresses_the_phone_and_confirms_by_text(sandbox, site):
    phone = subscribe("sms", "+14155550101")
    answer = text_us(sandbox, site, phone.address, " stop ")
    assert answer["status"] == 200
    phone.refresh_from_db()
    assert phone.suppression == "stop" and not phone.is_active
    [reply] = list(sandbox.recorder.list(provider="twilio", target=phone.address))
    assert "no more texts" in reply["preview"]["body"]


def test_stop_with_a_bad_signature_is_refused_and_changes_nothing(sandbox, site):
    phone = subscribe("sms", "+14155550101")
    answer = text_us(sandbox, site, phone.address, "STOP", signature="bad")
    assert answer["status"] == 403
    phone.refresh_from_db()
    assert phone.is_active and phone.suppression == ""


def test_start_after_stop_resumes_and_help_explains(sandbox, site):
    phone = subscribe("sms", "+14155550101")
    text_us(sandbox, site, phone.address, "STOP")
    text_us(sandbox, site, phone.address, "start")
    phone.refresh_from_db()
    assert phone.is_active
    answer = text_us(sandbox, site, phone.address, "HELP")
    assert "Reply STOP to opt out" in answer["reply"]
    assert site in answer["reply"]


def test_start_does_not_revive_a_number_that_bounced(sandbox, site):
    phone = subscribe("sms", "+14155550101", suppressed_at=NOW, suppression="invalid")
    text_us(sandbox, site, phone.address, "START")
    phone.refresh_from_db()
    assert not phone.is_active


def wait_for(predicate, timeout: float = 10.0) -> bool:
    """Poll for a callback the sandbox posts from its own thread (not a clock wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_status_callback_records_the_final_delivery_status(component, sandbox, site, task_queue):
    reached = subscribe("sms", "+14155550101")
    unreachable = subscribe("sms", "+15005550009")
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "sms", Recipients.SUBSCRIBERS, None, NOW)
        task_queue()

    def status_of(subscriber):
        return Delivery.objects.get(subscriber=subscriber).provider_status

    assert wait_for(lambda: status_of(reached) == "delivered")
    assert wait_for(lambda: status_of(unreachable) == "undelivered")


def test_signed_bounce_and_spam_report_suppress_addresses(sandbox, site):
    bounced = subscribe("email", "gone@example.org")
    spam = subscribe("email", "angry@example.org")
    blocked = subscribe("email", "busy@example.org")
    answer = send_events(
        sandbox,
        site,
        [
            {"email": bounced.address, "event": "bounce", "type": "bounce", "timestamp": 1},
            {"email": spam.address, "event": "spamreport", "timestamp": 1},
            {"email": blocked.address, "event": "bounce", "type": "blocked", "timestamp": 1},
        ],
    )
    assert answer["status"] == 204
    states = {s.address: s.suppression for s in Subscriber.objects.all()}
    assert states == {bounced.address: "bounce", spam.address: "spam", blocked.address: ""}


def test_event_with_a_bad_signature_is_refused_and_changes_nothing(sandbox, site):
    bounced = subscribe("email", "gone@example.org")
    answer = send_events(
        sandbox,
        site,
        [{"email": bounced.address, "event": "bounce", "type": "bounce"}],
        signature="bad",
    )
    assert answer["status"] == 403
    bounced.refresh_from_db()
    assert bounced.is_active


def test_unsigned_webhooks_are_forbidden(client):
    assert (
        client.post("/hooks/twilio/inbound", {"From": "+14155550101", "Body": "STOP"}).status_code
        == 403
    )
    assert (
        client.post("/hooks/twilio/status?delivery=1", {"MessageStatus": "delivered"}).status_code
        == 403
    )
    assert (
        client.post(
            "/hooks/sendgrid/events", json.dumps([]), content_type="application/json"
        ).status_code
        == 403
    )

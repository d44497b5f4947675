"""Replays of signed provider webhooks change nothing: a SendGrid batch signed too long ago
is refused, an event id or a Twilio MessageSid is acted on once. Requests are signed with
the sandbox's keys through the providers' own SDKs, as the providers sign them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from notifiers.replays import SeenProviderEvent
from notifiers.sandbox import sendgrid as fake_sendgrid
from notifiers.sandbox import twilio as fake_twilio
from notifiers.subscribers import Subscriber
from tests.clock import NOW
from tests.factories import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(sandbox):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def post_events(client, events: list[dict], signed_at):
    body = json.dumps(events)
    timestamp = str(int(signed_at.timestamp()))
    return client.post(
        "/hooks/sendgrid/events",
        body,
        content_type="application/json",
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=fake_sendgrid.sign_events(body, timestamp),
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp,
    )


def text_us(client, phone: str, word: str, sid: str):
    params = {"MessageSid": sid, "From": phone, "To": "+14155550000", "Body": word}
    url = settings.STATUSPAGE["URL"].rstrip("/") + "/hooks/twilio/inbound"
    return client.post(
        "/hooks/twilio/inbound", params, HTTP_X_TWILIO_SIGNATURE=fake_twilio.sign(url, params)
    )


def test_a_spam_report_signed_thirty_days_ago_is_refused(client):
    reader = subscribe("email", "reader@example.org")
    event = {"email": reader.address, "event": "spamreport", "sg_event_id": "ev-1"}
    response = post_events(client, [event], NOW - timedelta(days=30))
    assert response.status_code == 403
    reader.refresh_from_db()
    assert reader.is_active


def test_a_timestamp_just_inside_the_tolerance_is_accepted(client):
    reader = subscribe("email", "reader@example.org")
    event = {"email": reader.address, "event": "spamreport", "sg_event_id": "ev-1"}
    tolerance = timedelta(seconds=settings.WEBHOOK_REPLAY_TOLERANCE_SECONDS)
    assert post_events(client, [event], NOW - tolerance).status_code == 204
    reader.refresh_from_db()
    assert reader.suppression == "spam"


def test_a_replayed_event_id_is_acted_on_once(client):
    reader = subscribe("email", "reader@example.org")
    event = {"email": reader.address, "event": "unsubscribe", "sg_event_id": "ev-1"}
    assert post_events(client, [event], NOW).status_code == 204
    reader.refresh_from_db()
    assert not reader.is_active
    reader.resume(NOW)  # the reader subscribed again
    reader.save()
    assert post_events(client, [event], NOW).status_code == 204
    reader.refresh_from_db()
    assert reader.is_active, "the replay did not suppress the reader again"


def test_event_ids_are_forgotten_after_the_window(client, frozen):
    post_events(client, [{"event": "delivered", "sg_event_id": "ev-1"}], NOW)
    later = NOW + timedelta(seconds=settings.WEBHOOK_REPLAY_TOLERANCE_SECONDS + 1)
    frozen.move_to(later)
    post_events(client, [{"event": "delivered", "sg_event_id": "ev-2"}], later)
    assert list(SeenProviderEvent.objects.values_list("event_id", flat=True)) == ["ev-2"]


def test_a_replayed_signed_start_does_not_re_enable_a_number_that_said_stop(client):
    phone = subscribe("sms", "+14155550101")
    assert text_us(client, phone.address, "STOP", "SM-stop-1").status_code == 200
    assert text_us(client, phone.address, "START", "SM-start-1").status_code == 200
    phone.refresh_from_db()
    assert phone.is_active
    text_us(client, phone.address, "STOP", "SM-stop-2")
    replay = text_us(client, phone.address, "START", "SM-start-1")
    assert replay.status_code == 200
    assert b"<Message>" not in replay.content, "no reply text is sent for a replay"
    phone.refresh_from_db()
    assert not phone.is_active and phone.suppression == "stop"


def test_a_replayed_start_months_later_is_still_refused(client, frozen):
    phone = subscribe("sms", "+14155550101")
    text_us(client, phone.address, "START", "SM-start-1")
    text_us(client, phone.address, "STOP", "SM-stop-1")
    frozen.shift(timedelta(days=90))
    text_us(client, phone.address, "START", "SM-start-1")
    phone.refresh_from_db()
    assert not phone.is_active


def test_an_inbound_text_without_a_message_sid_changes_nothing(client):
    phone = subscribe("sms", "+14155550101")
    params = {"From": phone.address, "To": "+14155550000", "Body": "STOP"}
    url = settings.STATUSPAGE["URL"].rstrip("/") + "/hooks/twilio/inbound"
    client.post(
        "/hooks/twilio/inbound", params, HTTP_X_TWILIO_SIGNATURE=fake_twilio.sign(url, params)
    )
    assert Subscriber.objects.get(id=phone.id).is_active

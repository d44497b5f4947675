"""The sandbox's "phones" page shows what each phone and inbox received."""

from __future__ import annotations

import pytest
import requests
import time_machine

from notifiers.delivery import dispatch
from notifiers.models import Recipients
from tests.clock import NOW
from tests.factories import add_update, make_incident, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
def test_phones_page_shows_each_phone_and_inbox(component, sandbox, task_queue, page):
    subscribe("sms", "+14155550101")
    subscribe("email", "parent@example.org")
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        for channel in ("sms", "email"):
            dispatch.announce(update, channel, Recipients.SUBSCRIBERS, None, NOW)
        task_queue()
    page.goto(sandbox.url)
    phone = page.locator("section.phone", has_text="+14155550101")
    assert "Service problem: Follow app alerts" in phone.inner_text()
    inbox = page.locator("section.phone", has_text="parent@example.org")
    assert "Service problem: Follow app alerts" in inbox.inner_text()


def test_counts_survive_the_record_limit():
    from notifiers.sandbox.recorder import Recorder

    recorder = Recorder(limit=2)
    for n in range(10):
        recorder.add("twilio", "sms", f"+1415555010{n}", {"Body": "x"})
    assert recorder.counts() == {"twilio/sms": 10}
    assert len(recorder.list()) <= 4
    recorder.clear()
    assert recorder.counts() == {}


def test_fault_profile_applies_to_twilio(sandbox):
    requests.post(
        f"{sandbox.url}/_sandbox/faults", json={"provider": "twilio", "outage": True}, timeout=5
    )
    from notifiers.channels.sms import twilio_client

    client, _ = twilio_client()
    with pytest.raises(Exception, match="503"):
        client.messages.create(to="+14155550101", body="x", messaging_service_sid="MG1")

"""The demo pages someone: its on-call contact's sandbox phone and inbox get the clock's page,
the T+5 voice call and the reminder, each with the console link to acknowledge it by."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents.models import OnCallContact
from incidents.response import clock, workflow
from statuspage.demo.setup import DEMO_ONCALL, load_demo
from statuspage.models import Component, Probe, ProbeState, Verdict
from tests.clock import NOW
from tests.factories import user_in

pytestmark = pytest.mark.django_db(transaction=True)
MIN = timedelta(minutes=1)
PHONE, INBOX = DEMO_ONCALL["phone"], DEMO_ONCALL["email"]


def break_the_demo():
    load_demo()
    # The demo's advice makes the T+30 holding push 244 characters, over its 240 limit (the
    # shorten-to-fit work of issue 17 is elsewhere); a short advice keeps this test on paging.
    Component.objects.update(advice="Call the person you follow.")
    probe = Probe.objects.get(name="Follow API health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = NOW - timedelta(seconds=20)
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)


def received(sandbox, provider: str, target: str, kind: str) -> list[dict]:
    return [r for r in sandbox.recorder.list(provider, target) if r["kind"] == kind]


def test_the_demo_loads_one_active_on_call_contact_once():
    load_demo()
    load_demo()
    [contact] = OnCallContact.objects.all()
    assert contact.active and (contact.phone, contact.email) == (PHONE, INBOX)


def test_the_demo_page_call_and_reminder_reach_the_sandbox_and_can_be_acknowledged(
    sandbox, task_queue, client
):
    with time_machine.travel(NOW, tick=True) as traveller:
        incident = break_the_demo()
        page = incident.fired_steps.get(step__action="page", step__delay_seconds=0)
        assert "no one is on call" not in page.note
        task_queue()
        console = reverse("console-incident", args=[incident.public_id])
        [sms] = received(sandbox, "twilio", PHONE, "sms")
        assert console in sms["preview"]["body"]
        [email] = received(sandbox, "sendgrid", INBOX, "email")
        assert console in str(email["payload"])

        traveller.move_to(NOW + 5 * MIN)
        clock.tick(NOW + 5 * MIN)
        task_queue()
        assert len(received(sandbox, "twilio", PHONE, "call")) == 1

        traveller.move_to(NOW + 30 * MIN)
        clock.tick(NOW + 30 * MIN)
        task_queue()
        texts = [r["preview"]["body"] for r in received(sandbox, "twilio", PHONE, "sms")]
        assert len(texts) == 2 and "Reminder" in texts[-1]

        client.force_login(user_in("Support staff", "sam"))
        client.post(reverse("console-acknowledge", args=[incident.public_id]))
        incident.refresh_from_db()
        assert incident.acknowledged_at >= NOW + 30 * MIN

"""On-call paging: voice call, SMS and email to whoever the roster says is on call."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import time_machine

from notifiers.delivery import dispatch
from notifiers.models import Delivery, DeliveryState, Recipients
from tests.clock import NOW
from tests.factories import add_update, make_incident

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Contact:
    name: str
    phone: str
    email: str


def on_call() -> list[Contact]:
    return [
        Contact("Ada", "+14155550199", "ada@example.org"),
        Contact("Grace", "", "grace@example.org"),
    ]


@pytest.fixture(autouse=True)
def roster(settings):
    settings.NOTIFIERS_ONCALL_PROVIDER = "tests.notifiers.test_oncall_paging.on_call"


def page(component, task_queue, *channels):
    update = add_update(make_incident(component), "opened")
    with time_machine.travel(NOW, tick=True):
        for channel in channels:
            dispatch.announce(update, channel, Recipients.ONCALL, None, NOW)
        task_queue()


def test_on_call_staff_are_called_texted_and_emailed(component, sandbox, task_queue):
    page(component, task_queue, "voice", "sms", "email")
    [call] = [r for r in sandbox.recorder.list(provider="twilio") if r["kind"] == "call"]
    assert call["target"] == "+14155550199"
    assert (
        "<Say>" in call["payload"]["Twiml"]
        and "Service problem: Follow app alerts" in call["payload"]["Twiml"]
    )
    [text] = [r for r in sandbox.recorder.list(provider="twilio") if r["kind"] == "sms"]
    assert text["target"] == "+14155550199"
    mails = {r["target"]: r["payload"] for r in sandbox.recorder.list(provider="sendgrid")}
    assert set(mails) == {"ada@example.org", "grace@example.org"}
    assert "Unsubscribe" not in mails["ada@example.org"]["text"]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_a_missing_roster_pages_nobody_and_does_not_crash(component, sandbox, task_queue, settings):
    settings.NOTIFIERS_ONCALL_PROVIDER = "incidents.response.oncall.current_contacts_missing"
    page(component, task_queue, "voice", "email")
    assert Delivery.objects.count() == 0

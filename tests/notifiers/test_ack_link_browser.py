"""The on-call person taps the acknowledge link of the page email in a real browser
(headless Chromium): opening it only asks; the button acknowledges; the link then says it
was used. In Spanish for a Spanish browser."""

from __future__ import annotations

import re

import pytest
import time_machine
from playwright.sync_api import expect

from incidents.models import Incident
from notifiers.delivery import dispatch
from notifiers.models import Recipients
from tests.clock import NOW
from tests.factories import add_update, make_incident
from tests.notifiers.test_ack_from_the_page import LINK

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roster(settings, live_server):
    settings.NOTIFIERS_ONCALL_PROVIDER = "tests.notifiers.test_ack_from_the_page.on_call"
    settings.STATUSPAGE = {**settings.STATUSPAGE, "URL": live_server.url}


def emailed_link(component, sandbox, task_queue) -> tuple[Incident, str]:
    incident = make_incident(component)
    update = add_update(incident, "paging", body="Alerts are not reaching phones.")
    with time_machine.travel(NOW, tick=True):
        dispatch.announce(update, "email", Recipients.ONCALL, None, NOW)
        task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target="ada@example.org")
    incident.refresh_from_db()
    return incident, LINK.search(mail["payload"]["text"]).group(0)


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", {"ask": "Acknowledge this incident?", "button": "Acknowledge", "done": "You"}),
        ("es", {"ask": "¿Confirmar la recepción", "button": "Confirmar recepción", "done": "Conf"}),
    ],
)
def test_opening_the_link_asks_and_the_button_acknowledges_once(
    browser, component, sandbox, task_queue, language, words
):
    incident, link = emailed_link(component, sandbox, task_queue)
    context = browser.new_context(locale=language)
    page = context.new_page()
    try:
        page.goto(link)
        expect(page.locator("h1")).to_contain_text(words["ask"])
        expect(page.locator("#ack")).to_contain_text(incident.short_code)
        incident.refresh_from_db()
        assert incident.acknowledged_at is None

        page.get_by_role("button", name=words["button"]).click()
        expect(page.locator("#ack")).to_have_attribute("data-state", "done")
        expect(page.locator("#ack p")).to_contain_text(re.compile(words["done"]))
        incident.refresh_from_db()
        assert incident.acknowledged_via == "email-link"

        page.goto(link)
        expect(page.locator("#ack")).to_have_attribute("data-state", "used")
    finally:
        context.close()

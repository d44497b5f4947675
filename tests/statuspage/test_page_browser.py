"""The status page as a person sees it, in headless Chromium."""

from datetime import timedelta

import pytest

from incidents import workflow
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_outage():
    component = make_component()
    make_component("Share upload", audience_slug="share-app", advice="")
    probe = make_probe(component, "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = clock.now() - timedelta(seconds=20)
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, clock.now())


def test_status_page_shows_the_outage(live_server, page):
    incident = open_outage()
    page.goto(live_server.url)
    assert page.locator("#overall-status").inner_text() == "Major System Outage"
    card = page.locator(f"[data-incident='{incident.public_id}']")
    assert card.locator("h3").inner_text() == "Follow app alerts is not working as expected"
    assert "Check glucose with a meter." in card.inner_text()
    row = page.locator(".component", has_text="Follow app alerts")
    assert row.locator(".component-status").inner_text() == "Major outage"
    assert "Check glucose with a meter." in row.locator(".advice").inner_text()
    share = page.locator(".component", has_text="Share upload")
    assert share.locator(".component-status").inner_text() == "Operational"
    colour = "el => getComputedStyle(el).color"
    down = row.locator(".component-status").evaluate(colour)
    up = share.locator(".component-status").evaluate(colour)
    assert down != up, "an operational component in a broken group must not look broken"


def test_status_page_is_green_when_all_is_well(live_server, page):
    make_component()
    page.goto(live_server.url)
    assert page.locator("#overall-status").inner_text() == "All Systems Operational"
    assert page.locator(".incident").count() == 0

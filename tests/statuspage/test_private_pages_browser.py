"""Audience pages in headless Chromium: a member signs in on the page's own sign-in and reads
the private page, or with a one-time link emailed from it; an outsider is refused without learning the page exists; the signed embed
URL opens it in a frame, and a tampered one does not."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from statuspage import clock
from statuspage.models import AudienceMember
from statuspage.picture.uptime import local_day, rollup
from statuspage.public.private import embed_path
from tests.clock import NOW
from tests.factories import make_incident
from tests.statuspage.private_world import PRIVATE_INCIDENT, PRIVATE_NAME, member, private_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def log_in(page, live_server, path: str, username: str) -> None:
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_a_member_logs_in_and_reads_the_private_page(live_server, page):
    world = private_world()
    member(world, "nurse", password=PASSWORD)

    page.goto(f"{live_server.url}/a/clinic-network/history")
    expect(page).to_have_url(
        f"{live_server.url}/a/clinic-network/login?next=/a/clinic-network/history"
    )
    expect(page.locator("h1")).to_have_text("Sign in to see Clinic network's status")
    page.fill("#id_username", "nurse")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    expect(page).to_have_url(f"{live_server.url}/a/clinic-network/history")
    page.goto(f"{live_server.url}/a/clinic-network/")
    expect(page.locator("main")).to_contain_text(PRIVATE_NAME)
    page.get_by_role("link", name=PRIVATE_INCIDENT).first.click()
    expect(page).to_have_url(
        f"{live_server.url}/a/clinic-network/incidents/{world.private_incident.public_id}"
    )
    expect(page.locator("main")).to_contain_text("Clinic staff cannot sign in.")


def test_a_member_without_a_password_signs_in_with_an_emailed_link(
    live_server, page, sandbox, task_queue
):
    world = private_world()
    member(world, "nurse", email="nurse@example.org")  # never chose a password

    page.goto(f"{live_server.url}/a/clinic-network/")
    page.fill("#id_email", "nurse@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("status")).to_contain_text("a sign-in link is on its way")
    task_queue()
    [mail] = sandbox.recorder.list(provider="sendgrid", target="nurse@example.org")
    link = re.search(r"/a/clinic-network/login/link/\S+", mail["payload"]["text"]).group(0)

    page.goto(f"{live_server.url}{link}")
    page.get_by_role("button", name="Sign in now").click()
    expect(page).to_have_url(f"{live_server.url}/a/clinic-network/")
    expect(page.locator("main")).to_contain_text(PRIVATE_NAME)
    expect(page.locator(".audience-bar")).to_contain_text("Signed in as nurse")

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live_server.url}{link}")
    expect(page.get_by_role("alert")).to_contain_text("already used")
    page.get_by_role("link", name="Email me a new sign-in link").click()
    expect(page.locator("#id_email")).to_be_visible()


def test_a_member_signs_out_from_the_private_page(live_server, page):
    world = private_world()
    member(world, "nurse", password=PASSWORD)

    log_in(page, live_server, "/a/clinic-network/", "nurse")
    expect(page.locator(".audience-bar")).to_contain_text("Signed in as nurse")
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/a/clinic-network/login")
    page.goto(f"{live_server.url}/a/clinic-network/")
    expect(page.locator("h1")).to_have_text("Sign in to see Clinic network's status")


def test_a_member_s_day_tooltip_names_the_audience_s_private_incident(live_server, page):
    """A private incident that changed no status still marks the day on its audience's bars;
    the public page's bar for the same day stays clean."""
    world = private_world()
    nurse = User.objects.create_user("nurse", password=PASSWORD)
    AudienceMember.objects.create(audience=world.audience, user=nurse, joined_at=NOW)
    incident = make_incident(world.public_component, now=clock.now())
    incident.name = "Clinic alerts delayed"
    incident.published_at = incident.started_at
    incident.save()
    incident.private_to.add(world.audience)
    today = local_day(clock.now())
    rollup(today, today, clock.now() + timedelta(seconds=1))

    page.goto(live_server.url)
    public_today = page.locator(".component", has_text="Follow app alerts").locator(".bar").last
    assert "Clinic alerts delayed" not in public_today.get_attribute("aria-label")
    assert public_today.get_attribute("tabindex") is None

    log_in(page, live_server, "/a/clinic-network/", "nurse")
    today_bar = page.locator(".component", has_text="Follow app alerts").locator(".bar").last
    today_bar.focus()
    tip = today_bar.evaluate("bar => getComputedStyle(bar, '::after').content")
    assert "% uptime" in tip and "Clinic alerts delayed" in tip


def test_an_outsider_is_refused_as_if_the_page_did_not_exist(live_server, page):
    private_world()
    User.objects.create_user("outsider", password=PASSWORD)

    log_in(page, live_server, "/a/clinic-network/", "outsider")
    expect(page.locator("body")).not_to_contain_text(PRIVATE_NAME)
    real = page.goto(f"{live_server.url}/a/clinic-network/")
    missing = page.goto(f"{live_server.url}/a/no-such-audience/")
    assert real.status == missing.status == 404
    assert PRIVATE_NAME not in page.content()


def test_the_embed_url_opens_in_a_frame_and_a_tampered_one_does_not(live_server, page):
    world = private_world()
    world.audience.embed_enabled = True
    world.audience.save()
    path = embed_path(world.audience)

    opened = page.goto(f"{live_server.url}{path}")
    assert opened.status == 200
    expect(page.locator("main")).to_contain_text(PRIVATE_INCIDENT)
    page.set_content(f'<iframe src="{live_server.url}{path}" width="800" height="600"></iframe>')
    expect(page.frame_locator("iframe").locator("main")).to_contain_text(PRIVATE_NAME)

    tampered = page.goto(f"{live_server.url}{path[:-3]}x/")
    assert tampered.status == 404
    assert PRIVATE_NAME not in page.content()

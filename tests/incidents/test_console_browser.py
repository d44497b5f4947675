"""A support person uses the console in headless Chromium: log in, acknowledge, post once,
see exactly what each channel will send, confirm, and watch the delivery progress fill."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from incidents.models import Incident
from incidents.response import workflow
from incidents.roles import ensure_roles
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def open_outage() -> Incident:
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = clock.now() - timedelta(seconds=20)
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, clock.now())


def support_person() -> User:
    ensure_roles()
    user = User.objects.create_user("sam", password=PASSWORD)
    user.groups.add(Group.objects.get(name="Support staff"))
    return user


def test_staff_logs_in_acknowledges_posts_an_update_and_sees_preview_and_progress(
    live_server, page, task_queue, sandbox
):
    incident = open_outage()
    task_queue()  # the opening push is sent
    support_person()

    page.goto(f"{live_server.url}/manage/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    card = page.locator(f"[data-incident='{incident.public_id}']")
    expect(card).to_contain_text("Not acknowledged: on-call staff are being paged")
    expect(card).to_contain_text("Publish the current update")

    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#ack-state")).to_contain_text("Acknowledged by sam")

    page.select_option("#id_status", "identified")
    page.fill(
        "#id_body",
        "We found the cause: an overloaded queue. Alarms are delayed by about 20 minutes.",
    )
    sms = page.locator("#preview [data-channel='sms']")
    expect(sms).to_contain_text("We found the cause: an overloaded queue.")
    expect(sms).to_contain_text("Next update by")
    push = page.locator("#preview [data-channel='push']")
    expect(push).to_contain_text("users of Follow App")
    expect(push).to_contain_text("Update: ")

    page.get_by_role("button", name="Preview and confirm").click()
    expect(page.locator("h1")).to_contain_text("Confirm the update")
    page.get_by_role("button", name="Confirm and publish").click()
    expect(page.locator(".messages")).to_contain_text("Posted.")
    expect(page.locator(".timeline")).to_contain_text("We found the cause")

    update = incident.updates.get(kind="update")
    row = page.locator(f"[data-update='{update.public_id}'] [data-channel='push']")
    task_queue()  # fan out and send through the real SDK to the sandbox
    # the app's topic and the component's topic; the page refreshes its progress by itself
    expect(row).to_contain_text("sent 2")
    expect(row.locator("progress")).to_have_attribute("value", "2")
    titles = [
        p["payload"]["message"]["notification"]["title"]
        for p in sandbox.recorder.list(provider="fcm")
    ]
    assert titles[-1].startswith("Update: ")
    audit = page.locator("table.audit")
    page.reload()
    expect(audit).to_contain_text("acknowledged")
    expect(audit).to_contain_text("posted an update")

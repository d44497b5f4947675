"""Every response carries a Content-Security-Policy of `default-src 'self'`, and the public
page, the console and the admin work under it in headless Chromium with no violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from incidents.response import workflow
from incidents.roles import ensure_roles
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe

PASSWORD = "a-long-test-password"
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e =>
  window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture
def branded(settings):
    settings.STATUSPAGE = {**settings.STATUSPAGE, "BRAND_COLOUR": "#aa3300"}


def open_outage():
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = clock.now() - timedelta(seconds=20)
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, clock.now())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/api/v2/summary.json", "/history.rss", "/manage/login/", "/admin/login/"]
)
def test_every_response_has_a_same_origin_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_page_console_and_admin_work_without_a_violation(live_server, browser, branded):
    incident = open_outage()
    ensure_roles()
    sam = User.objects.create_user("sam", password=PASSWORD, is_staff=True)
    sam.groups.add(Group.objects.get(name="Support staff"))
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    seen: list[str] = []

    def visit(url: str) -> None:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        seen.extend(page.evaluate("window.__violations"))

    visit(live_server.url)
    expect(page.locator("#overall-status")).to_have_text("Major System Outage")
    brand = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()"
    )
    assert brand == "#aa3300", "the hashed inline brand style is applied"
    visit(f"{live_server.url}/manage/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/manage/")
    seen.extend(page.evaluate("window.__violations"))
    visit(f"{live_server.url}/manage/incidents/{incident.public_id}")
    page.fill("#id_body", "We found the cause: an overloaded queue, alarms are late.")
    expect(page.locator("#preview [data-channel='sms']")).to_contain_text("overloaded queue")
    seen.extend(page.evaluate("window.__violations"))
    visit(f"{live_server.url}/admin/")
    context.close()
    assert seen == [] and refused == []


@pytest.mark.django_db
def test_a_login_without_next_lands_on_the_console(client):
    ensure_roles()
    sam = User.objects.create_user("sam", password=PASSWORD)
    sam.groups.add(Group.objects.get(name="Support staff"))
    response = client.post("/manage/login/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/manage/"

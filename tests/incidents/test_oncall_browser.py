"""A support person, in headless Chromium, sees who is on call now and next on the
dashboard, opens the on-call page and adds an override that takes effect at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from incidents.models import Schedule
from incidents.roles import ensure_roles
from statuspage import clock
from tests.incidents.oncall_factories import MADRID, layer, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def rotation_started_two_weeks_ago() -> Schedule:
    today = clock.now().astimezone(MADRID).date()
    monday = today - timedelta(days=today.weekday() + 14)
    schedule = Schedule.objects.create(name="Follow service", time_zone="Europe/Madrid")
    start = datetime.combine(monday, time(9, 0), tzinfo=MADRID)
    layer(schedule, [person("Ana", 1), person("Ben", 2)], starts_at=start)
    return Schedule.objects.for_reading().get(id=schedule.id)


def test_staff_see_who_is_on_call_and_add_an_override(live_server, page):
    schedule = rotation_started_two_weeks_ago()
    person("Cai", 3)
    now = clock.now()
    on_call = schedule.on_call_at(now)
    next_at, after = schedule.next_hand_off(now)
    ensure_roles()
    User.objects.create_user("sam", password=PASSWORD).groups.add(
        Group.objects.get(name="Support staff")
    )

    page.goto(f"{live_server.url}/manage/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    row = page.locator(f"section.oncall [data-schedule='{schedule.id}']")
    expect(row.locator(".oncall-now")).to_have_text(on_call.name)
    expect(row.locator(".oncall-next")).to_contain_text(f"{after.name} from")
    expect(row.locator(".oncall-next")).to_contain_text(next_at.strftime("%H:%M"))

    page.get_by_role("link", name="Schedules and overrides").click()
    start = now.astimezone(MADRID) - timedelta(hours=1)
    form = page.locator(f"#schedule-{schedule.id} form.override-form")
    form.locator("select[name=contact]").select_option(label="Cai")
    form.locator("input[name=starts_at]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=ends_at]").fill(
        (start + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    )
    form.get_by_role("button", name="Add override").click()
    expect(page.locator(".messages")).to_contain_text("Override added.")
    expect(page.locator(f"#schedule-{schedule.id} .overrides")).to_contain_text("Cai covers")
    expect(page.locator(f"tr[data-schedule='{schedule.id}'] .oncall-now")).to_have_text("Cai")

"""The console shows who is on call now and next (dashboard and the on-call page), and
staff with the permission add and remove overrides there; others only look."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from incidents.models import AuditEvent, ScheduleOverride
from tests.incidents.oncall_factories import madrid, person, weekly_schedule

pytestmark = pytest.mark.django_db

WEDNESDAY = madrid(2026, 11, 25, 12, 0)


@pytest.fixture
def schedule(db):
    return weekly_schedule(person("Ana", 1), person("Ben", 2))


@pytest.fixture(autouse=True)
def wednesday():
    with time_machine.travel(WEDNESDAY, tick=False):
        yield


def test_the_dashboard_says_who_is_on_call_now_and_who_is_next(client, support_user, schedule):
    client.force_login(support_user)
    text = client.get(reverse("console-dashboard")).content.decode()
    assert "Follow service" in text
    assert "Ben" in text and "Ana from Mon 30 Nov 09:00 CET" in text


def test_without_a_schedule_the_dashboard_names_the_roster(client, support_user):
    person("Ana", 1)
    client.force_login(support_user)
    text = client.get(reverse("console-dashboard")).content.decode()
    assert "No schedule: everyone on the roster is paged. Ana" in text


def test_the_on_call_page_reads_in_a_fixed_number_of_queries(
    client, support_user, schedule, django_assert_max_num_queries
):
    client.force_login(support_user)
    with django_assert_max_num_queries(9) as one:  # session, user, perms (2), 4 reads, contacts
        response = client.get(reverse("console-schedules"))
    assert "Ben" in response.content.decode()
    for n in range(3):
        weekly_schedule(person(f"P{n}", 10 + n), name=f"Team {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("console-schedules"))


def test_support_staff_add_an_override_in_the_schedules_zone_and_remove_it(
    client, support_user, schedule
):
    cai = person("Cai", 3)
    client.force_login(support_user)
    client.post(
        reverse("console-add-override", args=[schedule.id]),
        {"contact": cai.id, "starts_at": "2026-11-28T08:00", "ends_at": "2026-11-28T20:00"},
    )
    override = ScheduleOverride.objects.get()
    assert override.starts_at == madrid(2026, 11, 28, 8, 0)
    assert override.created_by == support_user
    page = client.get(reverse("console-schedules")).content.decode()
    assert "Cai covers Sat 28 Nov 08:00 CET – Sat 28 Nov 20:00 CET" in page
    client.post(reverse("console-remove-override", args=[schedule.id, override.id]))
    assert not ScheduleOverride.objects.exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "oncall_override_added",
        "oncall_override_removed",
    }


def test_a_wrong_override_is_refused_with_the_reason(client, support_user, schedule):
    cai = person("Cai", 3)
    client.force_login(support_user)
    response = client.post(
        reverse("console-add-override", args=[schedule.id]),
        {"contact": cai.id, "starts_at": "2026-11-28T20:00", "ends_at": "2026-11-28T08:00"},
        follow=True,
    )
    assert "An override ends after it starts." in response.content.decode()
    assert not ScheduleOverride.objects.exists()


def test_overrides_need_the_permission_and_the_page_needs_a_login(client, outsider, schedule):
    assert client.get(reverse("console-schedules")).status_code == 302
    client.force_login(outsider)
    assert client.get(reverse("console-schedules")).status_code == 403
    add = client.post(reverse("console-add-override", args=[schedule.id]), {})
    assert add.status_code == 403


def test_admins_edit_schedules_layers_and_levels_in_the_admin(client, admin_role_user, schedule):
    client.force_login(admin_role_user)
    for name in ["schedule", "schedulelayer", "escalationlevel"]:
        assert client.get(reverse(f"admin:incidents_{name}_changelist")).status_code == 200, name
    listing = client.get(reverse("admin:incidents_schedule_changelist")).content.decode()
    assert '<td class="field-on_call_now">Ben</td>' in listing
    page = client.get(reverse("admin:incidents_schedule_change", args=[schedule.id]))
    assert page.status_code == 200

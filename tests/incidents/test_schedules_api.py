"""The schedules management API: admins create and change schedules, support staff read
them and add or remove overrides, anyone with the console role asks who is on call."""

from __future__ import annotations

import json

import pytest
import time_machine

from incidents.console.api_auth import issue_token
from incidents.models import AuditEvent, Schedule, ScheduleOverride
from tests.incidents.oncall_factories import madrid, person, weekly_schedule

pytestmark = pytest.mark.django_db

ROTATION = {
    "name": "Follow service",
    "time_zone": "Europe/Madrid",
    "layers": [
        {
            "rotation": "weekly",
            "hand_off_weekday": 0,
            "hand_off_time": "09:00",
            "starts_at": "2026-10-19T09:00:00+02:00",
            "member_ids": [],
        }
    ],
}


@pytest.fixture
def team(db):
    return person("Ana", 1), person("Ben", 2), person("Cai", 3)


@pytest.fixture
def call(client):
    def call(user, method, path, body=None):
        return getattr(client, method)(
            f"/api/manage/v1/{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"OAuth {issue_token(user, 'bot')}",
        )

    return call


def rotation_of(*people) -> dict:
    body = json.loads(json.dumps(ROTATION))
    body["layers"][0]["member_ids"] = [p.id for p in people]
    return {"schedule": body}


@time_machine.travel(madrid(2026, 11, 25, 12, 0), tick=False)
def test_an_admin_creates_a_schedule_and_sees_who_is_on_call_now_and_next(
    call, admin_role_user, team
):
    ana, ben, _ = team
    created = call(admin_role_user, "post", "schedules", rotation_of(ana, ben))
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["on_call"] == {"id": ben.id, "name": "Ben"}
    assert body["next"] == {
        "at": "2026-11-30T09:00:00+01:00",
        "contact": {"id": ana.id, "name": "Ana"},
    }
    assert body["layers"][0]["member_ids"] == [ana.id, ben.id]
    later = call(admin_role_user, "get", f"schedules/{body['id']}/oncall?at=2026-12-01T10:00:00Z")
    assert later.json()["on_call"]["name"] == "Ana"


def test_every_wrong_field_is_named_and_nothing_is_created(call, admin_role_user, team):
    bad = rotation_of()
    bad["schedule"].update(time_zone="Mars/Olympus", name="")
    bad["schedule"]["layers"][0].update(hand_off_time="25:00", rotation="hourly", starts_at="soon")
    answer = call(admin_role_user, "post", "schedules", bad)
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {
        "name",
        "time_zone",
        "layers[0].hand_off_time",
        "layers[0].rotation",
        "layers[0].starts_at",
        "layers[0].member_ids",
    }
    assert not Schedule.objects.exists()


def test_an_update_replaces_the_layers_and_delete_removes_the_schedule(call, admin_role_user, team):
    ana, ben, cai = team
    schedule = weekly_schedule(ana, ben)
    changed = call(admin_role_user, "patch", f"schedules/{schedule.id}", rotation_of(cai))
    assert changed.status_code == 200
    assert [layer["member_ids"] for layer in changed.json()["layers"]] == [[cai.id]]
    assert call(admin_role_user, "delete", f"schedules/{schedule.id}").status_code == 204
    assert call(admin_role_user, "get", f"schedules/{schedule.id}").status_code == 404


def test_support_staff_read_and_cover_but_do_not_edit_schedules(call, support_user, team):
    ana, ben, cai = team
    schedule = weekly_schedule(ana, ben)
    assert call(support_user, "get", "schedules").status_code == 200
    assert call(support_user, "post", "schedules", rotation_of(cai)).status_code == 403
    assert call(support_user, "delete", f"schedules/{schedule.id}").status_code == 403
    cover = {
        "override": {
            "contact_id": cai.id,
            "starts_at": "2026-11-28T08:00:00+01:00",
            "ends_at": "2026-11-28T20:00:00+01:00",
        }
    }
    added = call(support_user, "post", f"schedules/{schedule.id}/overrides", cover)
    assert added.status_code == 201
    saturday = call(support_user, "get", f"schedules/{schedule.id}/oncall?at=2026-11-28T12:00:00Z")
    assert saturday.json()["on_call"]["name"] == "Cai"
    assert AuditEvent.objects.filter(action="oncall_override_added", actor=support_user).exists()
    gone = call(support_user, "delete", f"schedules/{schedule.id}/overrides/{added.json()['id']}")
    assert gone.status_code == 204 and not ScheduleOverride.objects.exists()


def test_override_and_lookup_problems_are_400_or_404(call, support_user, outsider, team):
    ana, *_ = team
    schedule = weekly_schedule(ana)
    backwards = {
        "override": {
            "contact_id": 999,
            "starts_at": "2026-11-28T08:00:00Z",
            "ends_at": "2026-11-28T07:00:00Z",
        }
    }
    answer = call(support_user, "post", f"schedules/{schedule.id}/overrides", backwards)
    assert answer.status_code == 400 and set(answer.json()["fields"]) == {"contact_id"}
    backwards["override"]["contact_id"] = ana.id
    answer = call(support_user, "post", f"schedules/{schedule.id}/overrides", backwards)
    assert answer.status_code == 400 and set(answer.json()["fields"]) == {"ends_at"}
    assert (
        call(support_user, "get", f"schedules/{schedule.id}/oncall?at=yesterday").status_code == 400
    )
    assert call(support_user, "get", "schedules/x1/oncall").status_code == 404
    assert call(support_user, "get", f"schedules/{schedule.id}/overrides/77").status_code == 404
    assert call(outsider, "get", "schedules").status_code == 403


def test_listing_schedules_costs_the_same_however_many_there_are(
    call, support_user, team, django_assert_max_num_queries
):
    weekly_schedule(*team)
    with django_assert_max_num_queries(9) as one:  # the key made, read, stamped; perms; 4 reads
        call(support_user, "get", "schedules")
    for n in range(3):
        weekly_schedule(*team, name=f"Team {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(call(support_user, "get", "schedules").json()["schedules"]) == 4

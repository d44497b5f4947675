"""Escalation policies and their steps through the management API: the policies file's
step rules and the step model's, steps replaced whole; admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.models import EscalationLevel, EscalationPolicy
from incidents.response import clock, workflow
from tests.clock import NOW
from tests.factories import make_component, make_incident, user_in
from tests.incidents.api_calls import caller
from tests.incidents.oncall_factories import person, weekly_schedule
from tests.incidents.test_escalation_levels import open_incident, paged, tick

pytestmark = pytest.mark.django_db

STEPS = [
    {"after": 0, "do": "page", "channels": ["sms"]},
    {"after": "5m", "do": "publish", "to": "app_users", "channels": ["page", "push"]},
    {"after": "30m", "do": "remind", "channels": ["sms"], "every": "30m", "if_quiet_for": "20m"},
]


@pytest.fixture
def admin_api(client, admin_role_user):
    return caller(client, admin_role_user)


def test_create_read_change_and_delete_a_policy(admin_api, django_assert_max_num_queries):
    component = make_component()
    created = admin_api(
        "post",
        "policies",
        {
            "policy": {
                "name": "Follow alerts",
                "component_ids": [component.public_id],
                "impacts": ["major", "critical"],
                "priority": 10,
                "cadence_minutes": 20,
                "steps": STEPS,
            }
        },
    )
    assert created.status_code == 201, created.json()
    policy = created.json()
    assert [s["after"] for s in policy["steps"]] == [0, 300, 1800]
    assert policy["steps"][1]["to"] == "app_users"
    assert policy["steps"][2]["every"] == 1800 and policy["steps"][2]["if_quiet_for"] == 1200
    assert policy["component_ids"] == [component.public_id]
    changed = admin_api(
        "patch",
        f"policies/{policy['id']}",
        {"policy": {"steps": STEPS[:1], "auto_resolve_minutes": 0}},
    )
    assert changed.status_code == 200, changed.json()
    assert len(changed.json()["steps"]) == 1 and changed.json()["auto_resolve_minutes"] == 0
    assert changed.json()["priority"] == 10
    for n in range(3):
        EscalationPolicy.objects.create(name=f"Extra {n}")
    with django_assert_max_num_queries(8):
        assert len(admin_api("get", "policies").json()["policies"]) == 4
    assert admin_api("delete", f"policies/{policy['id']}").status_code == 204
    assert not EscalationPolicy.objects.filter(name="Follow alerts").exists()


def test_bad_steps_and_fields_are_400_with_each_problem(admin_api):
    response = admin_api(
        "post",
        "policies",
        {
            "policy": {
                "name": "",
                "impacts": ["apocalyptic"],
                "cadence_minutes": 0,
                "component_ids": ["nope"],
                "steps": [
                    {"after": "soon", "do": "page", "channels": ["sms"]},
                    {"after": 0, "do": "publish", "channels": ["page"]},
                    {"after": 0, "do": "page", "channels": []},
                    {"after": 0, "do": "dance"},
                ],
            }
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {
        "name",
        "impacts",
        "cadence_minutes",
        "component_ids",
        "steps[0]",
        "steps[1]",
        "steps[2]",
        "steps[3]",
    }
    assert "not a duration" in fields["steps[0]"]
    assert "to: must be one of" in fields["steps[1]"]
    assert "Name at least one channel" in fields["steps[2]"]
    assert not EscalationPolicy.objects.exists()


def test_a_policy_an_open_incident_follows_is_not_deleted(admin_api):
    policy = EscalationPolicy.objects.create(name="In use")
    incident = make_incident(make_component())
    incident.policy = policy
    incident.save()
    response = admin_api("delete", f"policies/{policy.id}")
    assert response.status_code == 400 and EscalationPolicy.objects.filter(id=policy.id).exists()


def test_support_staff_may_not_see_or_change_policies(client, support_user):
    api = caller(client, support_user)
    assert api("get", "policies").status_code == 403
    assert api("post", "policies", {"policy": {"name": "x", "steps": STEPS}}).status_code == 403
    assert not EscalationPolicy.objects.exists()


# --- Escalation levels of a page step -----------------------------------------------------


@pytest.fixture
def team(db):
    """Ana and Ben take turns on the Madrid rotation (Ben's week at NOW); Cai is named."""
    ana, ben, cai = person("Ana", 1), person("Ben", 2), person("Cai", 3)
    weekly_schedule(ana, ben)
    return ana, ben, cai


def schedule_id(api) -> int:
    """The schedule as the schedules API names it."""
    [schedule] = api("get", "schedules").json()["schedules"]
    return schedule["id"]


def levels_step(schedule: int, second=("Cai",), wait="10m") -> dict:
    return {
        "after": 0,
        "do": "page",
        "channels": ["sms"],
        "repeat": 1,
        "levels": [
            {"schedule": schedule, "wait": wait},
            {"contacts": list(second), "wait": "5m"},
        ],
    }


def create_levels_policy(api, schedule: int, **fields):
    step = levels_step(schedule)
    body = {"policy": {"name": "Levels", "priority": 1, "steps": [step], **fields}}
    return api("post", "policies", body)


def test_levels_are_written_read_and_replaced_with_their_steps(
    admin_api, team, django_assert_max_num_queries
):
    schedule = schedule_id(admin_api)
    created = create_levels_policy(admin_api, schedule)
    assert created.status_code == 201, created.json()
    [step] = created.json()["steps"]
    assert step["repeat"] == 1
    assert step["levels"] == [
        {"schedule": schedule, "contacts": [], "wait": 600},
        {"schedule": None, "contacts": ["Cai"], "wait": 300},
    ]
    policy_id = created.json()["id"]
    assert admin_api("get", f"policies/{policy_id}").json()["steps"] == [step]

    replaced = admin_api(
        "put",
        f"policies/{policy_id}",
        {"policy": {"steps": [{**levels_step(schedule, ("Ana", "Ben")), "repeat": 0}]}},
    )
    assert replaced.status_code == 200, replaced.json()
    [step] = replaced.json()["steps"]
    assert step["repeat"] == 0 and step["levels"][1]["contacts"] == ["Ana", "Ben"]
    assert EscalationLevel.objects.count() == 2  # the old levels went with their step
    for n in range(3):  # the list's queries do not grow with steps, levels or contacts
        create_levels_policy(admin_api, schedule, name=f"Levels {n}")
    with django_assert_max_num_queries(9):
        assert len(admin_api("get", "policies").json()["policies"]) == 4


def test_a_bad_level_is_a_400_naming_its_field_and_nothing_changes(admin_api, team):
    schedule = schedule_id(admin_api)
    policy_id = create_levels_policy(admin_api, schedule).json()["id"]
    response = admin_api(
        "patch",
        f"policies/{policy_id}",
        {
            "policy": {
                "steps": [
                    levels_step(schedule, wait="30s"),
                    levels_step(schedule + 100),
                    levels_step(schedule, second=("Cai", "Zed")),
                    {**levels_step(schedule), "do": "remind"},
                    {**levels_step(schedule), "repeat": 21},
                    levels_step(schedule, wait="8d"),
                ]
            }
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["steps[0]"] == "steps[0].levels[0].wait: at least a minute, e.g. 10m."
    assert fields["steps[1]"] == (
        f"steps[1].levels[0].schedule: unknown schedule {schedule + 100}."
    )
    assert fields["steps[2]"] == "steps[2].levels[1].contacts: unknown contact(s) Zed."
    assert fields["steps[3]"].startswith("steps[3].levels: a non-empty list, on page steps")
    assert fields["steps[4]"].startswith("steps[4].repeat: ")
    assert fields["steps[5]"] == "steps[5].levels[0].wait: at most a week, e.g. 10m."
    [step] = admin_api("get", f"policies/{policy_id}").json()["steps"]
    assert step["levels"][1]["contacts"] == ["Cai"] and EscalationLevel.objects.count() == 2


def test_a_viewer_of_policies_reads_levels_but_cannot_write_them(client, admin_api, team):
    from django.contrib.auth.models import Permission

    schedule = schedule_id(admin_api)
    policy_id = create_levels_policy(admin_api, schedule).json()["id"]
    viewer = user_in("Support staff", "vera", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_escalationpolicy", "view_escalationstep", "view_escalationlevel"]
        )
    )
    api = caller(client, viewer)
    [step] = api("get", f"policies/{policy_id}").json()["steps"]
    assert step["levels"][1]["contacts"] == ["Cai"]
    other = levels_step(schedule, second=("Ana",))
    body = {"policy": {"steps": [other]}}
    assert api("patch", f"policies/{policy_id}", body).status_code == 403
    assert api("put", f"policies/{policy_id}", body).status_code == 403
    made = api("post", "policies", {"policy": {"name": "Mine", "steps": [other]}})
    assert made.status_code == 403
    assert EscalationPolicy.objects.count() == 1
    assert list(EscalationLevel.objects.values_list("contacts__name", flat=True)) == [None, "Cai"]


def test_a_policy_made_over_the_api_pages_level_two_after_the_wait_when_unacknowledged(
    admin_api, team, down_probe
):
    assert create_levels_policy(admin_api, schedule_id(admin_api)).status_code == 201
    incident = open_incident(down_probe)
    assert paged(incident) == [("Ben", 1)]
    tick(NOW + timedelta(minutes=9))
    assert paged(incident) == [("Ben", 1)]
    tick(NOW + timedelta(minutes=10))
    assert paged(incident) == [("Ben", 1), ("Cai", 2)]
    workflow.acknowledge(incident, None, NOW + timedelta(minutes=11))
    clock.tick(NOW + timedelta(minutes=15))
    assert paged(incident) == [("Ben", 1), ("Cai", 2)]

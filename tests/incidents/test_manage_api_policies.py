"""Escalation policies and their steps through the management API: the policies file's
step rules and the step model's, steps replaced whole; admins only."""

from __future__ import annotations

import pytest

from incidents.models import EscalationPolicy
from tests.factories import make_component, make_incident
from tests.incidents.api_calls import caller

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

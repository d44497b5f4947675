"""The management API: token auth, incidents, updates, maintenance, components, 400s."""

import json
from datetime import timedelta

import pytest

from incidents.console.api_auth import issue_token
from incidents.models import ApiToken, Incident
from statuspage.models import Component
from tests.clock import NOW
from tests.factories import make_component

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, support_user):
    key = issue_token(support_user, "deploy bot")

    def call(method, path, body=None, key=key):
        return getattr(client, method)(
            f"/api/manage/v1/{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"OAuth {key}",
        )

    return call


def test_no_key_or_a_wrong_key_is_401(client, api):
    assert client.get("/api/manage/v1/incidents").status_code == 401
    response = api("get", "incidents", key="not-a-key")
    assert response.status_code == 401
    assert "Authorization: OAuth <key>" in response.json()["error"]


def test_only_the_hash_of_a_key_is_stored(support_user):
    key = issue_token(support_user, "ci")
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert len(ApiToken.objects.get(name="ci").key_hash) == 64


def test_create_an_incident_and_post_updates_until_resolved(api):
    component = make_component()
    created = api(
        "post",
        "incidents",
        {
            "incident": {
                "name": "Alarms delayed",
                "status": "investigating",
                "impact_override": "major",
                "body": "Followers receive alarms late.",
                "components": {component.public_id: "partial_outage"},
            }
        },
    )
    assert created.status_code == 201, created.json()
    incident = created.json()
    assert incident["impact"] == "major" and incident["status"] == "investigating"
    assert incident["components"][0]["status"] == "partial_outage"
    updated = api(
        "patch",
        f"incidents/{incident['id']}",
        {
            "incident": {
                "status": "identified",
                "body": "Cause found: an overloaded queue.",
                "next_update_in_minutes": 15,
            }
        },
    )
    assert updated.status_code == 200
    assert updated.json()["incident_updates"][0]["body"] == "Cause found: an overloaded queue."
    resolved = api(
        "patch",
        f"incidents/{incident['id']}",
        {"incident": {"status": "resolved", "body": "Alarms are on time again."}},
    )
    assert resolved.json()["status"] == "resolved"
    assert Component.objects.get(id=component.id).status == "operational"


def test_invalid_input_is_400_with_every_wrong_field(api):
    response = api(
        "post",
        "incidents",
        {
            "incident": {
                "status": "exploding",
                "impact_override": "huge",
                "components": {"nope": "broken"},
            }
        },
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) >= {"name", "status", "impact_override", "components"}
    assert not Incident.objects.exists()


def test_not_json_is_400_not_500(client, api, support_user):
    key = issue_token(support_user, "x")
    response = client.post(
        "/api/manage/v1/incidents",
        data="{oops",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"body": "Send a JSON object."}


def test_an_invalid_transition_is_400_with_the_reason(api):
    created = api(
        "post", "incidents", {"incident": {"name": "X", "body": "Something is slow."}}
    ).json()
    api(
        "patch",
        f"incidents/{created['id']}",
        {"incident": {"status": "resolved", "body": "Fixed now."}},
    )
    again = api(
        "patch", f"incidents/{created['id']}", {"incident": {"status": "identified", "body": "Hm."}}
    )
    assert again.status_code == 400
    assert "cannot become Identified" in again.json()["error"]


def test_schedule_maintenance_and_complete_it(api):
    component = make_component()
    start = NOW + timedelta(days=3)
    created = api(
        "post",
        "incidents",
        {
            "incident": {
                "name": "Database upgrade",
                "status": "scheduled",
                "component_ids": [component.public_id],
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + timedelta(hours=1)).isoformat(),
                "announce_before_minutes": [1440],
            }
        },
    )
    assert created.status_code == 201, created.json()
    window = Incident.objects.maintenance().get()
    assert window.announce_before_minutes == [1440]
    started = api("patch", f"incidents/{window.public_id}", {"incident": {"status": "in_progress"}})
    assert started.json()["status"] == "in_progress"
    assert Component.objects.get(id=component.id).status == "under_maintenance"
    done = api("patch", f"incidents/{window.public_id}", {"incident": {"status": "completed"}})
    assert done.json()["status"] == "completed"


def test_maintenance_needs_its_window(api):
    response = api(
        "post",
        "incidents",
        {"incident": {"name": "x", "status": "scheduled", "scheduled_for": "tomorrow"}},
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"scheduled_for", "scheduled_until", "components"}


def test_support_staff_may_read_components_but_only_admins_change_them(
    client, api, admin_role_user
):
    component = make_component()
    assert api("get", "components").status_code == 200
    assert (
        api(
            "patch", f"components/{component.public_id}", {"component": {"status": "major_outage"}}
        ).status_code
        == 403
    )
    key = issue_token(admin_role_user, "admin bot")
    changed = api(
        "patch",
        f"components/{component.public_id}",
        {"component": {"status": "degraded_performance", "advice": "Use a meter."}},
        key=key,
    )
    assert changed.status_code == 200 and changed.json()["status"] == "degraded_performance"
    created = api("post", "components", {"component": {"name": "Share upload"}}, key=key)
    assert created.status_code == 201
    duplicate = api(
        "post", "components", {"component": {"name": "Share upload", "status": "bad"}}, key=key
    )
    assert duplicate.status_code == 400
    assert set(duplicate.json()["fields"]) == {"name", "status"}


def test_the_openapi_document_lists_every_management_route():
    from pathlib import Path

    import yaml
    from django.conf import settings

    from incidents import urls

    document = yaml.safe_load(
        (Path(settings.BASE_DIR) / "docs" / "openapi-manage.yaml").read_text()
    )
    documented = {
        p.replace("{id}", "<str:public_id>")
        .replace("{action}", "<str:action>")
        .replace("{override_id}", "<str:override_id>")
        for p in document["paths"]
    }
    routes = {
        str(u.pattern).removeprefix("api/manage/v1")
        for u in urls.urlpatterns
        if str(u.pattern).startswith("api/manage/v1")
    }
    assert routes == documented


def test_acknowledge_hold_and_postmortem_through_the_api(api, support_user):
    created = api(
        "post", "incidents", {"incident": {"name": "X", "body": "Something is slow."}}
    ).json()
    path = f"incidents/{created['id']}"
    acked = api("post", f"{path}/acknowledge")
    assert acked.status_code == 200 and acked.json()["acknowledged_at"]
    bad = api("post", f"{path}/hold", {"hold": {"minutes": "ten"}})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"minutes", "reason"}
    too_long = api("post", f"{path}/hold", {"hold": {"minutes": 500, "reason": "legal review"}})
    assert too_long.status_code == 400 and "1 to 120 minutes" in too_long.json()["error"]
    assert (
        api("post", f"{path}/hold", {"hold": {"minutes": 15, "reason": "legal review"}}).status_code
        == 200
    )
    assert Incident.objects.get(public_id=created["id"]).held_until is not None
    early = api(
        "post", f"{path}/postmortem", {"postmortem": {"body": "What happened and what changes."}}
    )
    assert early.status_code == 400 and "cannot become Postmortem" in early.json()["error"]
    api("patch", path, {"incident": {"status": "resolved", "body": "Fixed now."}})
    done = api(
        "post", f"{path}/postmortem", {"postmortem": {"body": "What happened and what changes."}}
    )
    assert done.status_code == 200 and done.json()["status"] == "postmortem"
    assert api("post", f"{path}/explode").status_code == 404

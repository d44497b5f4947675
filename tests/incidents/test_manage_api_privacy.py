"""The management API knows private components and incidents: `private_to` (audience
slugs, [] for public) on incidents, maintenance and components, and the audiences' list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from incidents.models import AuditEvent, Incident
from statuspage import changes
from statuspage.models import Audience, AudienceMember, Component
from tests.clock import NOW
from tests.factories import make_component
from tests.incidents.api_calls import caller

pytestmark = pytest.mark.django_db

SECRET = "Clinic records slow"


@pytest.fixture
def clinic():
    return Audience.objects.create(
        slug="clinic-network", name="Clinic network", push_topic="clinic", private_page=True
    )


@pytest.fixture
def partners():
    """An audience for app pushes only: it has no page to be private to."""
    return Audience.objects.create(slug="partners", name="Partners", push_topic="partners")


@pytest.fixture
def support(client, support_user):
    return caller(client, support_user)


@pytest.fixture
def admin(client, admin_role_user):
    return caller(client, admin_role_user)


def open_private(support, component: Component, **extra) -> dict:
    body = {
        "name": SECRET,
        "body": "Records load slowly for clinic staff.",
        "component_ids": [component.public_id],
        **extra,
    }
    response = support("post", "incidents", {"incident": body})
    assert response.status_code == 201, response.json()
    return response.json()


def public_texts(client) -> list[str]:
    return [
        client.get(path).content.decode()
        for path in ("/", "/api/v2/summary.json", "/api/v2/incidents.json")
    ]


def test_an_incident_opened_private_is_seen_only_on_its_audience_s_page(client, support, clinic):
    opened = open_private(support, make_component(), private_to=["clinic-network"])
    assert opened["private_to"] == ["clinic-network"]
    assert support("get", f"incidents/{opened['id']}").json()["private_to"] == ["clinic-network"]
    listed = support("get", "incidents").json()["incidents"]
    assert [i["private_to"] for i in listed] == [["clinic-network"]]

    client.logout()
    assert all(SECRET not in text for text in public_texts(client))
    member = User.objects.create_user("nurse", password="a-long-test-password")
    AudienceMember.objects.create(audience=clinic, user=member, joined_at=NOW)
    client.force_login(member)
    summary = client.get("/a/clinic-network/api/v2/summary.json").json()
    assert [i["name"] for i in summary["incidents"]] == [SECRET]


def test_an_incident_opened_without_private_to_is_public(client, support, clinic):
    opened = open_private(support, make_component())
    assert opened["private_to"] == []
    client.logout()
    assert SECRET in client.get("/api/v2/summary.json").content.decode()


def test_on_only_private_components_it_is_private_to_their_audiences_by_itself(support, clinic):
    component = make_component("Clinic portal", audience_slug=None)
    component.private_to.add(clinic)
    assert open_private(support, component)["private_to"] == ["clinic-network"]


@pytest.mark.parametrize(
    ("private_to", "problem"),
    [
        (["clinic-network", "nobody"], "Unknown audience slug(s): nobody."),
        (["partners"], "Audience(s) without a private page: partners."),
        ("clinic-network", "A list of audience slugs; [] for public."),
        ([7], "A list of audience slugs; [] for public."),
    ],
)
def test_bad_slugs_are_a_400_naming_the_field_and_nothing_is_opened(
    support, clinic, partners, private_to, problem
):
    body = {"name": SECRET, "body": "Slow.", "private_to": private_to}
    response = support("post", "incidents", {"incident": body})
    assert response.status_code == 400
    assert response.json()["fields"] == {"private_to": problem}
    assert not Incident.objects.filter(name=SECRET).exists()


def test_an_update_can_make_an_incident_private_alone_audited_and_unannounced(
    client, support, support_user, clinic
):
    opened = open_private(support, make_component())
    version = changes.current_version()
    changed = support(
        "patch", f"incidents/{opened['id']}", {"incident": {"private_to": ["clinic-network"]}}
    )
    assert changed.status_code == 200 and changed.json()["private_to"] == ["clinic-network"]
    assert changes.current_version() != version
    assert len(changed.json()["incident_updates"]) == len(opened["incident_updates"])
    event = AuditEvent.objects.get(action="privacy changed")
    assert (event.actor, event.before, event.after) == (
        support_user,
        {"private_to": []},
        {"private_to": ["clinic-network"]},
    )
    client.logout()
    assert all(SECRET not in text for text in public_texts(client))


def test_an_update_with_other_changes_still_needs_its_body(support, clinic):
    opened = open_private(support, make_component())
    response = support(
        "patch",
        f"incidents/{opened['id']}",
        {"incident": {"private_to": ["clinic-network"], "status": "identified"}},
    )
    assert response.status_code == 400 and set(response.json()["fields"]) == {"body"}
    assert Incident.objects.get(public_id=opened["id"]).private_to.count() == 0


def test_maintenance_is_scheduled_private_and_made_public(client, support, clinic):
    start = NOW + timedelta(days=2)
    body = {
        "name": SECRET,
        "status": "scheduled",
        "component_ids": [make_component().public_id],
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        "private_to": ["clinic-network"],
    }
    window = support("post", "incidents", {"incident": body})
    assert window.status_code == 201 and window.json()["private_to"] == ["clinic-network"]
    client.logout()
    assert SECRET not in client.get("/api/v2/scheduled-maintenances.json").content.decode()
    public = support("patch", f"incidents/{window.json()['id']}", {"incident": {"private_to": []}})
    assert public.status_code == 200 and public.json()["private_to"] == []
    assert SECRET in client.get("/api/v2/scheduled-maintenances.json").content.decode()


def test_admins_mark_components_private_and_public_again(client, admin, support, clinic):
    created = admin(
        "post",
        "components",
        {"component": {"name": "Clinic portal", "private_to": ["clinic-network"]}},
    )
    assert created.status_code == 201 and created.json()["private_to"] == ["clinic-network"]
    component_id = created.json()["id"]
    assert "Clinic portal" not in client.get("/api/v2/components.json").content.decode()
    assert [c["private_to"] for c in support("get", "components").json()["components"]] == [
        ["clinic-network"]
    ]

    refused = support("patch", f"components/{component_id}", {"component": {"private_to": []}})
    assert refused.status_code == 403
    bad = admin("patch", f"components/{component_id}", {"component": {"private_to": ["x"]}})
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"private_to"}
    version = changes.current_version()
    public = admin("patch", f"components/{component_id}", {"component": {"private_to": []}})
    assert public.status_code == 200 and public.json()["private_to"] == []
    assert changes.current_version() != version
    assert "Clinic portal" in client.get("/api/v2/components.json").content.decode()
    renamed = admin("patch", f"components/{component_id}", {"component": {"name": "Portal"}})
    assert renamed.json()["private_to"] == []


def test_the_audiences_list_gives_the_slugs_to_anyone_who_reads_incidents(
    client, support, outsider, clinic, partners, django_assert_max_num_queries
):
    for name in ("nurse", "doctor"):
        user = User.objects.create_user(name)
        AudienceMember.objects.create(audience=clinic, user=user, joined_at=NOW)
    with django_assert_max_num_queries(6):
        listed = support("get", "audiences")
    assert listed.status_code == 200
    assert listed.json()["audiences"] == [
        {
            "slug": "clinic-network",
            "name": "Clinic network",
            "private_page": True,
            "member_count": 2,
        },
        {"slug": "partners", "name": "Partners", "private_page": False, "member_count": 0},
    ]
    assert support("post", "audiences", {}).status_code == 405
    assert caller(client, outsider)("get", "audiences").status_code == 403
    assert client.get("/api/manage/v1/audiences").status_code == 401


def test_the_lists_read_privacy_without_a_query_per_row(
    support, clinic, django_assert_max_num_queries
):
    for number in range(3):
        component = make_component(f"Clinic portal {number}", audience_slug=None)
        component.private_to.add(clinic)
        open_private(support, component)
    with django_assert_max_num_queries(6):
        components = support("get", "components").json()["components"]
    with django_assert_max_num_queries(11):
        incidents = support("get", "incidents").json()["incidents"]
    assert {tuple(c["private_to"]) for c in components} == {("clinic-network",)}
    assert {tuple(i["private_to"]) for i in incidents} == {("clinic-network",)}

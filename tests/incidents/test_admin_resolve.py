import pytest
from django.contrib.auth.models import Permission, User

from incidents.models import IncidentStatus
from incidents.response import workflow
from statuspage import clock
from statuspage.models import ProbeState, Verdict
from tests.factories import make_component, make_probe

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/incidents/incident/"


@pytest.fixture
def incident():
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.save()
    return workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, clock.now())


def staff(*perms: str) -> User:
    user = User.objects.create_user("support", password="pw-for-tests-only", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    return user


def resolve_via_admin(client, incident):
    return client.post(
        CHANGELIST, {"action": "resolve_incidents", "_selected_action": [incident.pk]}
    )


def test_resolving_needs_a_login(client, incident):
    response = resolve_via_admin(client, incident)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.INVESTIGATING


def test_staff_without_change_permission_cannot_resolve(client, incident):
    client.force_login(staff("view_incident"))
    resolve_via_admin(client, incident)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.INVESTIGATING


def test_staff_with_change_permission_resolves_and_is_recorded_as_author(client, incident):
    user = staff("view_incident", "change_incident")
    client.force_login(user)
    resolve_via_admin(client, incident)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.updates.first().author == user

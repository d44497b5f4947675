from datetime import timedelta

import pytest
from django.db import IntegrityError

from incidents.models import (
    EscalationPolicy,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    InvalidTransition,
)
from incidents.response import workflow
from notifiers.models import Announcement
from statuspage import changes
from statuspage.models import ComponentStatus, ProbeState, Verdict
from tests.clock import NOW
from tests.factories import make_component, make_probe

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe():
    p = make_probe(make_component(), "http://127.0.0.1:1/health")
    p.state = ProbeState.DOWN
    p.first_failure_at = NOW - timedelta(seconds=10)
    p.save()
    return p


def test_confirmed_failure_opens_incident_sets_status_and_writes_first_update(probe):
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    probe.component.refresh_from_db()
    assert probe.component.status == ComponentStatus.MAJOR_OUTAGE
    assert incident.status == IncidentStatus.INVESTIGATING
    assert incident.impact == "critical"
    assert incident.started_at == probe.first_failure_at
    assert incident.name == "Follow app alerts is not working as expected"
    [update] = incident.updates.all()
    assert update.kind == IncidentUpdate.Kind.OPENED
    assert "Who is affected: people using Follow App." in update.body
    assert "What to do now: Check glucose with a meter." in update.body
    assert update.affected_components == [
        {
            "code": probe.component.public_id,
            "name": "Follow app alerts",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]


def test_opening_announces_a_push_to_each_affected_app(probe, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    [announcement] = Announcement.objects.filter(channel="push", recipients="app_users")
    assert announcement.audience.slug == "follow-app"
    assert announcement.update.incident == incident
    sends = [callback for callback in callbacks if callback is not changes.bump]
    assert len(sends) == Announcement.objects.count()


def test_a_second_failure_never_opens_a_second_incident(probe):
    first = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    second = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW + timedelta(minutes=1))
    assert first == second
    assert Incident.objects.count() == 1


def test_the_database_refuses_a_second_open_probe_incident(probe):
    workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    with pytest.raises(IntegrityError):
        Incident.objects.create(
            name="dup",
            origin_component=probe.component,
            started_at=NOW,
            detected_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )


def test_recovery_moves_to_monitoring_and_restores_the_component(probe):
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    probe.state = ProbeState.UP
    probe.save()
    workflow.handle_verdict(probe, Verdict.CONFIRMED_UP, NOW + timedelta(minutes=5))
    incident.refresh_from_db()
    probe.component.refresh_from_db()
    assert incident.status == IncidentStatus.MONITORING
    assert incident.monitoring_at == NOW + timedelta(minutes=5)
    assert probe.component.status == ComponentStatus.OPERATIONAL
    assert incident.updates.first().kind == IncidentUpdate.Kind.RECOVERING


def test_relapse_while_monitoring_goes_back_to_investigating(probe):
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    probe.state = ProbeState.UP
    probe.save()
    workflow.handle_verdict(probe, Verdict.CONFIRMED_UP, NOW + timedelta(minutes=1))
    probe.state = ProbeState.DOWN
    probe.save()
    again = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW + timedelta(minutes=2))
    assert again == incident
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.INVESTIGATING
    assert incident.updates.first().kind == IncidentUpdate.Kind.RELAPSED
    assert Incident.objects.count() == 1


def test_resolve_closes_incident_and_frees_the_component_for_a_new_one(probe):
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    workflow.resolve(incident, NOW + timedelta(hours=1))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at == NOW + timedelta(hours=1)
    assert incident.origin_component is None
    later = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW + timedelta(hours=2))
    assert later != incident
    assert Incident.objects.count() == 2


def test_resolving_twice_is_refused_with_a_clear_message(probe):
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    workflow.resolve(incident, NOW)
    with pytest.raises(
        InvalidTransition, match="An incident that is Resolved cannot become Resolved"
    ):
        workflow.resolve(incident, NOW)


def test_a_policy_without_auto_resolve_leaves_it_to_the_site_wide_setting(probe, settings):
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    EscalationPolicy.objects.filter(id=incident.policy_id).update(auto_resolve_minutes=0)
    probe.state = ProbeState.UP
    probe.save()
    workflow.handle_verdict(probe, Verdict.CONFIRMED_UP, NOW)
    assert workflow.auto_resolve_due(NOW + timedelta(days=1)) == 0

    settings.STATUSPAGE = {**settings.STATUSPAGE, "AUTO_RESOLVE_AFTER_SECONDS": 600}
    assert workflow.auto_resolve_due(NOW + timedelta(seconds=599)) == 0
    assert workflow.auto_resolve_due(NOW + timedelta(seconds=600)) == 1
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED

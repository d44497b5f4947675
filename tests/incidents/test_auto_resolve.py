"""Auto-resolve by default: an incident a probe opened resolves after its policy's stable
period (30 minutes in the default policy) unless staff acted on it, and everyone told hears;
meanwhile the page says the service is back and being watched, while the API keeps
Statuspage's semantics."""

from datetime import timedelta

import pytest
import time_machine

from incidents.models import EscalationPolicy, IncidentStatus, IncidentUpdate
from incidents.response import workflow
from incidents.response.policies import ensure_default_policy
from notifiers.models import Announcement
from statuspage.models import ProbeState, Verdict
from tests.clock import NOW
from tests.factories import make_component, make_probe, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def recovered():
    """A probe-opened incident under the default policy, back at NOW + 5 min."""
    ensure_default_policy()
    probe = make_probe(make_component(), "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = NOW - timedelta(seconds=10)
    probe.save()
    incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    probe.state = ProbeState.UP
    probe.save()
    workflow.handle_verdict(probe, Verdict.CONFIRMED_UP, NOW + timedelta(minutes=5))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.MONITORING
    return incident


def test_the_default_policy_resolves_after_thirty_stable_minutes(recovered):
    assert recovered.policy.auto_resolve_minutes == 30
    assert workflow.auto_resolve_due(NOW + timedelta(minutes=34)) == 0
    assert workflow.auto_resolve_due(NOW + timedelta(minutes=35)) == 1
    recovered.refresh_from_db()
    assert recovered.status == IncidentStatus.RESOLVED


def test_the_resolution_is_announced_to_everyone_told(recovered):
    told = set(Announcement.objects.values_list("channel", "recipients", "audience_id"))
    workflow.auto_resolve_due(NOW + timedelta(minutes=35))
    resolution = recovered.updates.get(kind=IncidentUpdate.Kind.RESOLVED)
    assert set(resolution.announcements.values_list("channel", "recipients", "audience_id")) == (
        told
    )


def test_the_period_is_set_per_policy(recovered):
    EscalationPolicy.objects.filter(id=recovered.policy_id).update(auto_resolve_minutes=60)
    assert workflow.auto_resolve_due(NOW + timedelta(minutes=35)) == 0
    assert workflow.auto_resolve_due(NOW + timedelta(minutes=65)) == 1


def test_any_staff_action_leaves_the_ending_to_staff(recovered):
    workflow.acknowledge(recovered, user_in("Support staff", "sam", is_staff=True), NOW)
    assert workflow.auto_resolve_due(NOW + timedelta(hours=5)) == 0


def test_a_relapse_starts_the_stable_period_again(recovered):
    probe = recovered.origin_probe
    probe.state = ProbeState.DOWN
    probe.save()
    workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW + timedelta(minutes=20))
    probe.state = ProbeState.UP
    probe.save()
    workflow.handle_verdict(probe, Verdict.CONFIRMED_UP, NOW + timedelta(minutes=25))
    assert workflow.auto_resolve_due(NOW + timedelta(minutes=40)) == 0
    assert workflow.auto_resolve_due(NOW + timedelta(minutes=55)) == 1


def test_while_watched_the_page_says_the_service_is_back_and_the_api_keeps_the_impact(
    recovered, client
):
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        page = client.get("/").content.decode()
        summary = client.get("/api/v2/status.json").json()
    assert "Service restored: we are watching it closely" in page
    assert "Major System Outage" not in page
    assert summary["status"]["indicator"] == "critical"

"""Incidents become private to audiences when staff say so in the console, or by themselves
when every component they affect is private; either way the public page never shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from incidents.models import Incident
from incidents.response import workflow
from statuspage.models import Audience, ProbeState, Verdict
from tests.clock import NOW
from tests.factories import make_component, make_probe

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return Audience.objects.create(
        slug="clinic-network", name="Clinic network", push_topic="clinic", private_page=True
    )


def test_a_probe_outage_of_a_private_component_opens_a_private_incident(client, clinic):
    component = make_component("Clinic portal", audience_slug=None)
    component.private_to.add(clinic)
    probe = make_probe(component, "http://127.0.0.1:1/health")
    probe.state = ProbeState.DOWN
    probe.first_failure_at = NOW - timedelta(seconds=20)
    probe.save()
    with time_machine.travel(NOW, tick=False):
        incident = workflow.handle_verdict(probe, Verdict.CONFIRMED_DOWN, NOW)
    assert list(incident.private_to.all()) == [clinic]
    Incident.objects.filter(id=incident.id).update(published_at=NOW)
    assert "Clinic portal" not in client.get("/").content.decode()
    assert client.get(f"/incidents/{incident.public_id}").status_code == 404


def test_an_incident_touching_a_public_component_stays_public(clinic):
    public = make_component("Follow app alerts")
    private = make_component("Clinic portal", audience_slug=None)
    private.private_to.add(clinic)
    incident = workflow.open_by_staff(
        "Alarms late",
        "Some alarms arrive late.",
        "major",
        {public: "partial_outage", private: "partial_outage"},
        None,
        NOW,
    )
    assert not incident.is_private


def test_staff_open_an_incident_private_to_an_audience_from_the_console(
    client, support_user, clinic
):
    component = make_component()
    client.force_login(support_user)
    form = client.get(reverse("console-new-incident")).content.decode()
    assert "Private to (new incidents)" in form and "Clinic network" in form
    data = {
        "name": "Clinic sign-in slow",
        "status": "investigating",
        "impact": "minor",
        "body": "Clinic staff wait long to sign in. We are looking into it.",
        "components": [component.id],
        "component_status": "degraded_performance",
        "notify": "on",
        "next_update_minutes": 30,
        "private_to": [clinic.id],
        "confirm": "on",
    }
    client.post(reverse("console-new-incident"), data)
    incident = Incident.objects.get()
    assert list(incident.private_to.all()) == [clinic]
    client.logout()
    assert "Clinic sign-in slow" not in client.get("/").content.decode()

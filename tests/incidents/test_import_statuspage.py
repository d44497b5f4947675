"""`manage.py import_statuspage`: a team moving from Atlassian Statuspage brings its history.

The fixture (tests/incidents/fixtures/statuspage/) is shaped like a real page's v2 answers:
four groups, eleven components (two named "API"), twenty incidents of three to six updates
(one still open, one with a postmortem), a completed and an upcoming maintenance, times with
offsets, unicode and HTML-ish bodies.
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from incidents.models import (
    AffectedComponent,
    AuditEvent,
    EscalationPolicy,
    FiredStep,
    Incident,
    IncidentUpdate,
    OnCallContact,
)
from incidents.response import clock as escalation_clock
from incidents.response import workflow
from incidents.response.policies import ensure_default_policy
from notifiers.models import Announcement, Delivery
from statuspage.models import Component, ComponentGroup
from statuspage.statuses import ComponentStatus
from tests.clock import NOW
from tests.factories import subscribe

pytestmark = pytest.mark.django_db

EXPORT = Path(__file__).parent / "fixtures" / "statuspage"
OPEN_INCIDENT = "fox8576yzt3b"
POSTMORTEM_INCIDENT = "7foe61vq1wu8"
HOSTILE_INCIDENT = "qb7tb5ds6mvw"
UPCOMING_MAINTENANCE = "svyi749316zq"


def run(source, *args: str) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("import_statuspage", str(source), *args, stdout=out)
    return out.getvalue()


def document(name: str) -> dict:
    return json.loads((EXPORT / name).read_text())


def every_row() -> list:
    """All that an import writes, as comparable values."""
    return [
        list(ComponentGroup.objects.order_by("id").values()),
        list(Component.objects.order_by("id").values()),
        list(Incident.objects.order_by("id").values()),
        list(IncidentUpdate.everything.order_by("id").values()),
        list(AffectedComponent.objects.order_by("id").values()),
    ]


def test_a_directory_export_brings_groups_components_incidents_and_maintenance():
    out = run(EXPORT)

    assert "groups: created 4, updated 0, unchanged 0" in out
    assert "components: created 11, updated 0, unchanged 0" in out
    assert "incidents: created 22, updated 0, unchanged 0" in out
    assert "updates: created 84, updated 0, unchanged 0" in out
    assert out.endswith(
        "from the page 'Glucoflow' (https://status.glucoflow.example)\n"
        "  to answer as it did, set in the environment: STATUSPAGE_PAGE_ID=y2j98763l56x "
        "STATUSPAGE_NAME=Glucoflow TIME_ZONE=America/Los_Angeles\n"
    )
    europe = ComponentGroup.objects.get(name="Europe – Región UE")
    assert europe.description == "Servicios alojados en Fráncfort."
    assert europe.public_id == europe.external_id  # Statuspage's ids become ours
    assert [c.name for c in europe.components.order_by("position")] == [
        "API",
        "Zahlungen (€)",
    ]
    # Names are unique here, not on Statuspage: the second "API" is named by its group.
    north_america_api = Component.objects.get(name="API (North America)")
    assert north_america_api.description == "Public API (Virginia)"
    dashboard = Component.objects.get(name="Web dashboard")
    assert dashboard.status == ComponentStatus.DEGRADED_PERFORMANCE
    assert dashboard.group.name == "Cloud platform"
    assert dashboard.created_at.isoformat() == "2024-03-06T11:00:00+00:00"
    relay = Component.objects.get(name="東京リージョン relay 🚀")
    assert relay.only_show_if_degraded and relay.showcase
    assert not Component.objects.get(name="Zahlungen (€)").showcase
    assert Component.objects.get(name="Support chat").group is None


def test_incidents_keep_their_ids_times_updates_and_affected_components():
    run(EXPORT)
    source = next(i for i in document("incidents.json")["incidents"] if i["id"] == OPEN_INCIDENT)

    incident = Incident.objects.get(public_id=OPEN_INCIDENT)
    assert incident.external_id == OPEN_INCIDENT
    assert (incident.name, incident.status, incident.impact) == (
        "Delayed push alerts for some followers",
        "monitoring",
        "minor",
    )
    assert incident.started_at.isoformat() == "2026-11-25T13:57:00+00:00"
    assert incident.published_at == incident.created_at  # it was public on the old page
    updates = list(incident.updates.all())
    assert [u.public_id for u in updates] == [u["id"] for u in source["incident_updates"]]
    assert [u.kind for u in updates] == ["update", "update", "opened"]
    assert updates[-1].body.startswith("Estamos investigando problemas con Follow app alerts")
    follow, ios = (
        Component.objects.get(name="Follow app alerts"),
        Component.objects.get(name="iOS app"),
    )
    assert [(a["code"], a["name"], a["new_status"]) for a in updates[-1].affected_components] == [
        (follow.public_id, "Follow app alerts", "degraded_performance"),
        (ios.public_id, "iOS app", "degraded_performance"),
    ]
    assert set(incident.affected.values_list("component__name", "status")) == {
        ("Follow app alerts", ComponentStatus.DEGRADED_PERFORMANCE),
        ("iOS app", ComponentStatus.DEGRADED_PERFORMANCE),
    }


def test_a_postmortem_and_maintenance_windows_come_along():
    run(EXPORT)

    postmortem = IncidentUpdate.objects.get(
        incident__public_id=POSTMORTEM_INCIDENT, kind="postmortem"
    )
    assert postmortem.body.startswith("## What happened\nA certificate expired")
    assert postmortem.incident.status == "postmortem"
    upcoming = Incident.objects.get(public_id=UPCOMING_MAINTENANCE)
    assert upcoming.kind == Incident.Kind.MAINTENANCE
    assert (upcoming.status, upcoming.impact) == ("scheduled", "none")
    assert upcoming.scheduled_for.isoformat() == "2026-12-03T05:00:00+00:00"
    assert upcoming.scheduled_until.isoformat() == "2026-12-03T07:00:00+00:00"
    assert set(upcoming.affected.values_list("status", flat=True)) == {"under_maintenance"}
    assert not upcoming.auto_transition and upcoming.announce_before_minutes == []
    completed = Incident.objects.get(name="Certificate rotation")
    assert completed.resolved_at.isoformat() == "2026-10-18T06:55:00+00:00"
    assert list(completed.updates.values_list("kind", flat=True)) == [
        "maintenance_completed",
        "update",
        "maintenance_started",
        "maintenance_scheduled",
    ]


def test_the_same_export_twice_changes_nothing():
    run(EXPORT)
    before = every_row()

    out = run(EXPORT)

    assert every_row() == before
    assert "groups: created 0, updated 0, unchanged 4" in out
    assert "components: created 0, updated 0, unchanged 11" in out
    assert "incidents: created 0, updated 0, unchanged 22" in out
    assert "updates: created 0, updated 0, unchanged 84" in out


def test_a_later_export_adds_the_new_updates_and_the_new_incident(tmp_path):
    run(EXPORT)
    later = document("incidents.json")
    incident = next(i for i in later["incidents"] if i["id"] == OPEN_INCIDENT)
    resolved = {
        **incident["incident_updates"][0],
        "id": "n3wupd4te0ne",
        "status": "resolved",
        "body": "Alerts are on time again.",
        "created_at": "2026-11-25T16:00:00.000Z",
        "updated_at": "2026-11-25T16:00:00.000Z",
        "display_at": "2026-11-25T16:00:00.000Z",
    }
    incident["incident_updates"].insert(0, resolved)
    incident.update(
        status="resolved",
        resolved_at="2026-11-25T16:00:00.000Z",
        updated_at="2026-11-25T16:00:05.000Z",
    )
    brand_new = {
        **later["incidents"][1],
        "id": "br4ndn3w0001",
        "name": "Brand new incident",
        "incident_updates": [
            {**u, "id": f"br4ndn3wup0{n}", "incident_id": "br4ndn3w0001"}
            for n, u in enumerate(later["incidents"][1]["incident_updates"])
        ],
    }
    later["incidents"].insert(0, brand_new)
    (tmp_path / "incidents.json").write_text(json.dumps(later))

    out = run(tmp_path / "incidents.json")

    # incidents.json alone: the maintenance windows are in another document
    assert "incidents: created 1, updated 1, unchanged 19" in out
    assert "updates: created 4, updated 0, unchanged 79" in out
    assert "components: created 0, updated 0, unchanged 11" in out
    incident = Incident.objects.get(public_id=OPEN_INCIDENT)
    assert incident.status == "resolved"
    assert incident.resolved_at.isoformat() == "2026-11-25T16:00:00+00:00"
    assert incident.updates.first().body == "Alerts are on time again."
    assert incident.updates.first().kind == "resolved"
    assert Incident.objects.filter(name="Brand new incident").count() == 1
    imported = AuditEvent.objects.filter(incident=incident, action="imported")
    assert [e.after["status"] for e in imported.order_by("id")] == ["monitoring", "resolved"]


def test_an_incident_changed_here_since_the_export_is_kept_as_it_is():
    run(EXPORT)
    incident = Incident.objects.get(public_id=OPEN_INCIDENT)
    with time_machine.travel(NOW, tick=False):
        workflow.resolve(incident, NOW)

    out = run(EXPORT)

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert (
        f"kept as it is here (changed here since the export): incident 'Delayed push alerts for some followers' ({OPEN_INCIDENT})"
        in out
    )


def test_a_dry_run_says_what_would_change_and_changes_nothing():
    out = run(EXPORT, "--dry-run")

    assert out.startswith("dry run, nothing changed:\n")
    assert "incidents: would be created 22, would be updated 0, unchanged 0" in out
    assert "  + component 'API (North America)'" in out
    assert every_row() == [[], [], [], [], []]
    assert not AuditEvent.objects.exists()


def test_imported_history_notifies_nobody_and_wakes_no_clock(sandbox):
    """With subscribers on every kind of channel, on-call staff and the default policy in
    place, an import and the engine's clocks afterwards send nothing at all."""
    ensure_default_policy()
    OnCallContact.objects.create(name="Ana", phone="+14155550100", email="ana@example.com")
    subscribe("email", "reader@example.com")
    subscribe("sms", "+14155550123")
    subscribe("webhook", f"{sandbox.url}/_sandbox/webhook/receiver")

    run(EXPORT)
    upcoming = Incident.objects.get(public_id=UPCOMING_MAINTENANCE)
    for moment in (NOW, NOW + timedelta(hours=6), upcoming.scheduled_for + timedelta(hours=3)):
        with time_machine.travel(moment, tick=False):
            escalation_clock.tick(moment)
            workflow.auto_resolve_due(moment)

    assert not Announcement.objects.exists()
    assert not Delivery.objects.exists()
    assert not FiredStep.objects.exists()
    assert sandbox.recorder.list() == []
    assert not IncidentUpdate.everything.filter(internal=True).exists()
    upcoming.refresh_from_db()
    assert upcoming.status == "scheduled"  # staff start it here; it never moves by itself
    assert Incident.objects.get(public_id=OPEN_INCIDENT).status == "monitoring"
    assert Incident.objects.filter(policy__isnull=False).count() == 0
    assert EscalationPolicy.objects.count() == 1


def test_staff_see_an_imported_open_incident_is_nobody_paged_for(client, support_user):
    run(EXPORT)
    client.force_login(support_user)

    with time_machine.travel(NOW, tick=False):
        text = client.get(reverse("console-dashboard")).content.decode()

    card = text[text.index(f'data-incident="{OPEN_INCIDENT}"') :]
    assert "Delayed push alerts for some followers" in card
    assert "Imported from Statuspage: nobody is paged for it here" in card
    assert "Not acknowledged" not in card

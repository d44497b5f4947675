"""The incident lifecycle driven by probe verdicts and by staff.

A confirmed failure opens one incident for the component (or joins the one already open),
recovery moves it to monitoring, a relapse back to investigating, and staff (or, by setting,
a stable period) resolve it. Each step writes an update from a template and announces it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from incidents.messages import render_message
from incidents.models import (
    IMPACT_FOR_STATUS,
    AffectedComponent,
    Incident,
    IncidentStatus,
    IncidentUpdate,
)
from notifiers.dispatch import announce_to_apps
from statuspage.models import Component, ComponentStatus, Probe, ProbeState, Verdict

log = logging.getLogger(__name__)


def handle_verdict(probe: Probe, verdict: str, now: datetime) -> Incident | None:
    if verdict == Verdict.CONFIRMED_DOWN:
        return open_for_probe(probe, now)
    if verdict == Verdict.CONFIRMED_UP:
        return recover_for_probe(probe, now)
    return None


def open_incident_for(component: Component) -> Incident | None:
    return component.incidents.unresolved().order_by("detected_at").first()


def message_context(incident: Incident, component: Component, **extra) -> dict:
    return {
        "incident": incident,
        "component": component,
        "app_names": [a.name for a in component.audiences.all()] if component else [],
        "page_name": settings.STATUSPAGE["NAME"],
        "page_url": settings.STATUSPAGE["URL"],
        **extra,
    }


def add_update(
    incident: Incident,
    kind: str,
    body: str,
    now: datetime,
    affected: list[dict] | None = None,
    author=None,
) -> IncidentUpdate:
    return IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        status=incident.status,
        body=body,
        affected_components=affected,
        author=author,
        display_at=now,
        created_at=now,
        updated_at=now,
    )


def change_component(component: Component, status: str) -> dict | None:
    old = component.status
    if not component.set_status(status):
        return None
    return {"code": component.public_id, "name": component.name, "old_status": old, "new_status": status}


def open_for_probe(probe: Probe, now: datetime) -> Incident:
    component = probe.component
    existing = open_incident_for(component)
    if existing is not None:
        return relapse_if_recovering(existing, probe, now)
    try:
        with transaction.atomic():
            return create_probe_incident(probe, component, now)
    except IntegrityError:
        log.info("incident for %s was opened concurrently; joining it", component)
        return open_incident_for(component)


def create_probe_incident(probe: Probe, component: Component, now: datetime) -> Incident:
    status = probe.confirmed_outage_status
    incident = Incident(
        impact=IMPACT_FOR_STATUS[status],
        origin_probe=probe,
        origin_component=component,
        started_at=probe.first_failure_at or now,
        detected_at=now,
        created_at=now,
        updated_at=now,
    )
    incident.name = render_message("page", "opened", message_context(incident, component), "name")
    incident.save()
    AffectedComponent.objects.create(incident=incident, component=component, status=status)
    change = change_component(component, status)
    body = render_message("page", "opened", message_context(incident, component, probe=probe))
    update = add_update(incident, IncidentUpdate.Kind.OPENED, body, now, [change] if change else None)
    announce_to_apps(update, component.audiences.all(), now)
    return incident


def relapse_if_recovering(incident: Incident, probe: Probe, now: datetime) -> Incident:
    component = probe.component
    change = change_component(component, probe.confirmed_outage_status)
    if incident.status == IncidentStatus.MONITORING:
        incident.transition_to(IncidentStatus.INVESTIGATING, now)
        incident.save()
        body = render_message("page", "relapsed", message_context(incident, component))
        add_update(incident, IncidentUpdate.Kind.RELAPSED, body, now, [change] if change else None)
    return incident


def probe_evidence(incident: Incident) -> dict | None:
    """What the probe that opened this incident saw: first failure, error samples, latency."""
    probe = incident.origin_probe
    return {"probe": probe.name, "kind": probe.kind, **probe.evidence} if probe else None


def component_still_failing(component: Component) -> bool:
    return component.probes.filter(enabled=True, state=ProbeState.DOWN).exists()


def recover_for_probe(probe: Probe, now: datetime) -> Incident | None:
    component = probe.component
    if component_still_failing(component):
        return None
    change = change_component(component, ComponentStatus.OPERATIONAL)
    incident = open_incident_for(component)
    if incident is None or incident.status == IncidentStatus.MONITORING:
        return incident
    incident.transition_to(IncidentStatus.MONITORING, now)
    incident.save()
    body = render_message("page", "recovering", message_context(incident, component))
    add_update(incident, IncidentUpdate.Kind.RECOVERING, body, now, [change] if change else None)
    return incident


def resolve(incident: Incident, now: datetime, author=None, body: str = "") -> IncidentUpdate:
    """Close the incident, put its components back to operational, tell the apps' users."""
    with transaction.atomic():
        incident.transition_to(IncidentStatus.RESOLVED, now)
        incident.origin_component = None
        incident.save()
        components = list(incident.components.all())
        changes = [c for c in (change_component(x, ComponentStatus.OPERATIONAL) for x in components) if c]
        first = components[0] if components else None
        text = body or render_message("page", "resolved", message_context(incident, first))
        update = add_update(
            incident, IncidentUpdate.Kind.RESOLVED, text, now, changes or None, author=author
        )
        audiences = {a for c in components for a in c.audiences.all()}
        announce_to_apps(update, audiences, now)
    return update


def auto_resolve_due(now: datetime) -> int:
    """Resolve incidents that stayed recovered for AUTO_RESOLVE_AFTER_SECONDS (0 turns it off)."""
    stable_for = timedelta(seconds=settings.STATUSPAGE["AUTO_RESOLVE_AFTER_SECONDS"])
    resolved = 0
    for incident in Incident.objects.filter(status=IncidentStatus.MONITORING):
        if incident.is_due_for_auto_resolve(now, stable_for):
            resolve(incident, now)
            resolved += 1
    return resolved

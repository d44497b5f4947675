"""Writing an incident's timeline: updates, their promise of the next one, component statuses."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from incidents.models import Incident, IncidentStatus, IncidentUpdate
from statuspage.models import Component

DEFAULT_CADENCE = timedelta(minutes=30)


def cadence(incident: Incident) -> timedelta:
    policy = incident.policy
    return policy.cadence if policy is not None else DEFAULT_CADENCE


def next_update_by(incident: Incident, now: datetime) -> datetime | None:
    """The promise every open incident's update makes; none once it is over."""
    if incident.status not in (
        IncidentStatus.INVESTIGATING,
        IncidentStatus.IDENTIFIED,
        IncidentStatus.MONITORING,
    ):
        return None
    return now + cadence(incident)


def context_for(incident: Incident, component: Component | None = None, **extra) -> dict:
    """What every message template may use."""
    components = list(incident.components.all())
    component = component or (components[0] if components else None)
    audiences = {a.name for c in components for a in c.audiences.all()}
    return {
        "incident": incident,
        "component": component,
        "components": components,
        "app_names": sorted(audiences),
        "advice": [c.advice for c in components if c.advice],
        "page_name": settings.STATUSPAGE["NAME"],
        "page_url": settings.STATUSPAGE["URL"],
        "link": incident.message_link(),
        "console_link": f"{settings.STATUSPAGE['URL']}/manage/incidents/{incident.public_id}",
        **extra,
    }


def add_update(
    incident: Incident,
    kind: str,
    body: str,
    now: datetime,
    affected: list[dict] | None = None,
    author=None,
    internal: bool = False,
    next_by: datetime | None = None,
    deliver: bool = True,
) -> IncidentUpdate:
    incident.updated_at = now
    Incident.objects.filter(id=incident.id).update(updated_at=now)
    return IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        status=incident.status,
        body=body,
        affected_components=affected,
        author=author,
        internal=internal,
        deliver_notifications=deliver and not internal,
        next_update_by=None if internal else next_by,
        display_at=now,
        created_at=now,
        updated_at=now,
    )


def change_component(component: Component, status: str) -> dict | None:
    component.refresh_from_db(fields=["status"])  # another copy may have changed it
    old = component.status
    if not component.set_status(status):
        return None
    return {
        "code": component.public_id,
        "name": component.name,
        "old_status": old,
        "new_status": status,
    }


def apply_affected_statuses(incident: Incident) -> list[dict]:
    """Show each affected component's status on the page (when the incident becomes public)."""
    changes = []
    for affected in incident.affected.select_related("component"):
        change = change_component(affected.component, affected.status)
        if change:
            changes.append(change)
    return changes

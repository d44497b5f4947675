"""Statuspage v2 objects (page, status, component, incident, update) built from our models.

The names, enums and time format follow Atlassian Statuspage's public API, so existing
clients, exporters and widgets read us unchanged. Every JSON output goes through here.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from incidents.models import Incident, IncidentUpdate
from statuspage import clock, viewer
from statuspage.models import Component


def stamp(value: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and a Z, as Statuspage writes times."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_id() -> str:
    return settings.STATUSPAGE["PAGE_ID"]


def incident_url(incident: Incident) -> str:
    """Its permalink on the page being read (statuspage.viewer)."""
    return f"{viewer.page_url()}/incidents/{incident.public_id}"


def page_payload(updated_at: datetime | None) -> dict:
    page = settings.STATUSPAGE
    return {
        "id": page["PAGE_ID"],
        "name": page["NAME"],
        "url": viewer.page_url(),
        "time_zone": settings.TIME_ZONE,
        "updated_at": stamp(updated_at or clock.now()),
    }


def status_payload(snapshot) -> dict:
    return {"indicator": snapshot.overall.indicator, "description": snapshot.overall.description}


def component_payload(component: Component) -> dict:
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": stamp(component.created_at),
        "updated_at": stamp(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": component.group.public_id if component.group else None,
        "page_id": page_id(),
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_payload(view) -> dict:
    group = view.group
    return {
        "id": group.public_id,
        "name": group.name,
        "status": view.status,
        "created_at": stamp(group.created_at),
        "updated_at": stamp(max([group.updated_at] + [c.updated_at for c in view.components])),
        "position": group.position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": page_id(),
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.public_id for c in view.components],
        "status_unknown": view.status_unknown,
    }


def components_payload(snapshot) -> list[dict]:
    """Groups first, then every component, as Statuspage lists them. `status` keeps
    Statuspage's enum (the last confirmed one); `status_unknown`, which Statuspage clients
    ignore, says that nobody has checked it for two of its probes' intervals."""
    return [group_payload(g) for g in snapshot.groups] + [
        {**component_payload(c), "status_unknown": c.status_unknown} for c in snapshot.components
    ]


def update_payload(
    update: IncidentUpdate, incident: Incident, shown: set[str] | None = None
) -> dict:
    """`shown`: the component ids the reader may see; others are left out of the update's
    affected components (a private component named in a public incident's update)."""
    affected = update.affected_components
    if shown is not None and affected:
        affected = [a for a in affected if a.get("code") in shown]
    return {
        "id": update.public_id,
        "incident_id": incident.public_id,
        "status": update.status,
        "body": update.body,
        "created_at": stamp(update.created_at),
        "updated_at": stamp(update.updated_at),
        "display_at": stamp(update.display_at),
        "affected_components": affected,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_payload(incident: Incident, components: list[Component] | None = None) -> dict:
    """Expects updates prefetched newest first and components with their group, the
    components those the reader may see (Component.objects.shown())."""
    if components is None:
        components = list(incident.components.all())
    shown = {c.public_id for c in components}
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "impact": incident.impact,
        "created_at": stamp(incident.created_at),
        "updated_at": stamp(incident.updated_at),
        "started_at": stamp(incident.started_at),
        "monitoring_at": stamp(incident.monitoring_at),
        "resolved_at": stamp(incident.resolved_at),
        "shortlink": incident_url(incident),
        "page_id": page_id(),
        "incident_updates": [update_payload(u, incident, shown) for u in incident.updates.all()],
        "components": [component_payload(c) for c in components],
    }

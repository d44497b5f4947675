"""Scheduled maintenance as the public side sees it.

Maintenance windows are incidents of kind maintenance in the incidents app; here they become
Statuspage "scheduled maintenance" objects: the incident fields plus scheduled_for and
scheduled_until, status scheduled | in_progress | verifying | completed.
"""

from __future__ import annotations

from typing import Literal

from incidents.models import ACTIVE_MAINTENANCE_STATUSES, Incident, IncidentStatus
from statuspage.picture.serializers import incident_payload, stamp
from statuspage.picture.summary import with_timeline

Which = Literal["all", "current", "upcoming", "active"]

RECENT_LIMIT = 50


def maintenance_payloads(which: Which) -> list[dict]:
    return [maintenance_payload(m) for m in with_timeline(windows(which))[:RECENT_LIMIT]]


def current_windows() -> list[Incident]:
    """Upcoming and running windows, soonest first, with their updates: what the page lists."""
    return list(with_timeline(windows("current"))[:RECENT_LIMIT])


def windows(which: Which):
    """All (most recent first), current (upcoming and active, as summary.json lists them),
    upcoming (scheduled) or active (in progress, verifying)."""
    found = Incident.objects.maintenance().shown()
    if which == "current":
        found = found.filter(
            status__in=[IncidentStatus.SCHEDULED, *ACTIVE_MAINTENANCE_STATUSES]
        ).order_by("scheduled_for")
    elif which == "upcoming":
        found = found.filter(status=IncidentStatus.SCHEDULED).order_by("scheduled_for")
    elif which == "active":
        found = found.filter(status__in=ACTIVE_MAINTENANCE_STATUSES).order_by("scheduled_for")
    else:
        found = found.order_by("-scheduled_for", "-id")
    return found


def maintenance_payload(window: Incident) -> dict:
    return {
        **incident_payload(window),
        "scheduled_for": stamp(window.scheduled_for),
        "scheduled_until": stamp(window.scheduled_until),
    }

"""Scheduled maintenance as the public side sees it.

Maintenance windows are incidents of kind maintenance in the incidents app; here they become
Statuspage "scheduled maintenance" objects: the incident fields plus scheduled_for and
scheduled_until, status scheduled | in_progress | verifying | completed.
"""

from __future__ import annotations

from typing import Literal

from incidents.models import ACTIVE_MAINTENANCE_STATUSES, Incident, IncidentStatus
from statuspage.serializers import incident_payload, stamp
from statuspage.summary import with_timeline

Which = Literal["all", "current", "upcoming", "active"]

RECENT_LIMIT = 50


def maintenance_payloads(which: Which) -> list[dict]:
    """All (50 most recent), current (upcoming and active, as summary.json lists them),
    upcoming (scheduled) or active (in progress, verifying)."""
    windows = Incident.objects.maintenance()
    if which == "current":
        windows = windows.filter(
            status__in=[IncidentStatus.SCHEDULED, *ACTIVE_MAINTENANCE_STATUSES]
        ).order_by("scheduled_for")
    elif which == "upcoming":
        windows = windows.filter(status=IncidentStatus.SCHEDULED).order_by("scheduled_for")
    elif which == "active":
        windows = windows.filter(status__in=ACTIVE_MAINTENANCE_STATUSES).order_by("scheduled_for")
    else:
        windows = windows.order_by("-scheduled_for", "-id")
    return [maintenance_payload(m) for m in with_timeline(windows)[:RECENT_LIMIT]]


def maintenance_payload(window: Incident) -> dict:
    return {
        **incident_payload(window),
        "scheduled_for": stamp(window.scheduled_for),
        "scheduled_until": stamp(window.scheduled_until),
    }
